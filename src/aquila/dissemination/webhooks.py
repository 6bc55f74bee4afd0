"""Webhook deliveries: HMAC-signed POSTs, retried with backoff, dead-lettered, durable across restarts.

Each alert of a webhook subscription becomes a delivery row (`dissemination.db`) before its event is
acknowledged; the sender POSTs it as JSON `{"id", "subscription_id", "item", "published"}` with

    X-Aquila-Delivery: <alert id>          the same on every retry: receivers drop repeats by it
    X-Aquila-Timestamp: <unix seconds>
    X-Aquila-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>

A 2xx answer ends it (`done`); anything else — refused connection, timeout, a 500 — is retried after 0.5,
1, 2, 4 ... s (capped at 5 min) and after `max_attempts` it is `dead` (kept, with the last error, for the
subscriber to see). The policy is applied again before every attempt with the subscriber's latest rights:
a subscriber whose latest token was revoked or has expired, or an item relabelled beyond it, is `withheld`,
never sent. Webhooks go only to the
origins the operator allows (`AQUILA_WEBHOOK_ALLOW`): none by default, so a subscription cannot make the
server call an internal service or carry items to a host of the subscriber's choosing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aquila.dissemination.subscriptions import Subscription, owner_current, owner_user
from aquila.errors import InputError
from aquila.security.policy import decide_item

if TYPE_CHECKING:
    from aquila.catalog.backends.sqlite.dissemination import DisseminationStore
    from aquila.instance import Instance

__all__ = ["WebhookSender", "sign", "origin_of", "check_allowed", "MAX_ATTEMPTS", "DELIVERY_STATES"]

MAX_ATTEMPTS = 5
DELIVERY_STATES = ("pending", "done", "dead", "withheld", "cancelled")


def origin_of(url: str) -> str:
    p = urlsplit(url)
    port = p.port or (443 if p.scheme == "https" else 80)
    return f"{p.scheme}://{(p.hostname or '').lower()}:{port}"


def check_allowed(url: str, allow: str) -> None:
    """InputError unless the URL's origin is one the operator allows."""
    allowed = {origin_of(a.strip()) for a in allow.split(",") if a.strip()}
    if not allowed:
        raise InputError("webhooks", field="channel", expected="sse: this instance allows no webhook receivers "
                                                               "(the operator sets AQUILA_WEBHOOK_ALLOW)")
    try:
        origin = origin_of(url)
    except ValueError:
        raise InputError(f"{url[:80]!r}", field="url", expected="an http(s) URL") from None
    if origin not in allowed:
        raise InputError(f"{origin!r} is not an allowed receiver", field="url",
                         expected="a URL at an origin the operator allows (AQUILA_WEBHOOK_ALLOW)")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookSender:
    """Sends due deliveries from a daemon thread; `wake()` when a new one is due now."""

    def __init__(self, instance: Instance, allow: str, backoff_s: float = 0.5, timeout_s: float = 5.0,
                 max_attempts: int = MAX_ATTEMPTS) -> None:
        self.instance = instance
        self.allow = allow
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.store: DisseminationStore = instance.dissemination()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="aquila-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        self.store.close()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        import httpx

        with httpx.Client(timeout=self.timeout_s, follow_redirects=False) as client:
            while not self._stop.is_set():
                sent = self.send_due(client)
                if sent:
                    continue
                nxt = self.store.next_due_s()
                wait = 1.0 if nxt is None else min(1.0, max(0.0, nxt - time.time()))
                self._wake.wait(wait)
                self._wake.clear()

    def send_due(self, client: Any) -> int:
        """Attempt every delivery due now; returns how many were attempted."""
        due = self.store.due_deliveries(time.time())
        if not due:
            return 0
        subs = {sid: (Subscription.from_doc(sid, subject, doc, created), owner)
                for sid, subject, doc, owner, created in self.store.subscriptions()}
        for alert, sid, cid, iid, published, attempts in due:
            self._attempt(client, alert, subs.get(sid), cid, iid, published, attempts)
        return len(due)

    def _attempt(self, client: Any, alert: str, sub_owner: tuple[Subscription, dict[str, Any]] | None, cid: str,
                 iid: str, published: str, attempts: int) -> None:
        import httpx

        now = time.time()
        if sub_owner is None:
            self.store.record_attempt(alert, "cancelled", attempts, now, "the subscription was deleted")
            return
        sub, owner = sub_owner
        user = owner_user(owner)
        item = self.instance.store.item(user, cid, iid)
        if (not owner_current(owner, self.instance.tokens.revocations, now) or item is None
                or item.collection_label is None or not decide_item(user, item.label, item.collection_label)):
            self.store.record_attempt(alert, "withheld", attempts, now, "no longer releasable to the subscriber")
            return
        try:
            check_allowed(sub.url or "", self.allow)  # the operator may have withdrawn the origin since
        except InputError as exc:
            self.store.record_attempt(alert, "withheld", attempts, now, str(exc))
            return
        body = json.dumps({"id": alert, "subscription_id": sub.id, "item": item.doc, "published": published},
                          separators=(",", ":")).encode()
        ts = str(int(now))
        headers = {"Content-Type": "application/json", "User-Agent": "aquila-webhooks", "X-Aquila-Delivery": alert,
                   "X-Aquila-Timestamp": ts, "X-Aquila-Signature": sign(sub.secret or "", ts, body)}
        error: str | None
        try:
            r = client.post(sub.url, content=body, headers=headers)
            error = None if 200 <= r.status_code < 300 else f"HTTP {r.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        attempts += 1
        if error is None:
            self.store.record_attempt(alert, "done", attempts, now, None)
        elif attempts >= self.max_attempts:
            self.store.record_attempt(alert, "dead", attempts, now, error)
        else:
            self.store.record_attempt(alert, "pending", attempts,
                                      time.time() + min(300.0, self.backoff_s * 2 ** (attempts - 1)), error)
