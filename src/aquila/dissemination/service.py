"""The dissemination service of one running instance: subscriptions (create, list, delete), alert replay, and the
dispatcher and hub behind the streams. Every call is audited; a subscription of another subject answers as a
missing one."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from aquila.dissemination.alerts import Alert, AlertHub, Dispatcher, alerts_for
from aquila.dissemination.subscriptions import MAX_SUBSCRIPTIONS, Subscription, owner_claims, parse_subscription
from aquila.dissemination.webhooks import DELIVERY_STATES, WebhookSender, check_allowed
from aquila.errors import InputError
from aquila.security.policy import User

if TYPE_CHECKING:
    from aquila.instance import Instance

__all__ = ["Dissemination"]


class Dissemination:
    def __init__(self, instance: Instance, webhook_allow: str = "", webhook_backoff_s: float = 0.5,
                 webhook_timeout_s: float = 5.0) -> None:
        self.instance = instance
        self.hub = AlertHub()
        self.store = instance.dissemination()
        self.webhook_allow = webhook_allow
        self.webhook_backoff_s = webhook_backoff_s
        self.webhook_timeout_s = webhook_timeout_s
        self._dispatcher: Dispatcher | None = None
        self._sender: WebhookSender | None = None
        self._lock = threading.Lock()

    def dispatcher(self) -> Dispatcher:
        """The alert dispatcher (and webhook sender) of this process, started on first use."""
        with self._lock:
            if self._dispatcher is None:
                sender = WebhookSender(self.instance, self.webhook_allow, self.webhook_backoff_s,
                                       self.webhook_timeout_s)
                dispatcher = Dispatcher(self.instance, self.hub)
                store = dispatcher.store

                def to_webhook(sub: Subscription, item: Any, row: tuple[int, str, str]) -> None:
                    if sub.channel == "webhook":  # recorded before the event is acknowledged
                        store.add_delivery(row[1], sub.id, item.collection, item.id, row[2], time.time())
                        sender.wake()

                dispatcher.on_alert = to_webhook
                sender.start()
                dispatcher.start()
                self._dispatcher, self._sender = dispatcher, sender
            return self._dispatcher

    def close(self) -> None:
        with self._lock:
            if self._dispatcher is not None:
                self._dispatcher.stop()
                self._dispatcher = None
            if self._sender is not None:
                self._sender.stop()
                self._sender = None
        self.store.close()

    def _seen(self, user: User, token: tuple[float, float, str] | None) -> None:
        """The subject's rights are as its token (iat, exp, jti) states them now: its deliveries follow them."""
        if token is not None:
            self.store.update_owner(user.subject, owner_claims(user, token))

    # -- subscriptions --------------------------------------------------------------------------------
    def subscribe(self, user: User, body: Any, token: tuple[float, float, str]) -> Subscription:
        sub = parse_subscription(body, user.subject)
        if sub.channel == "webhook":
            check_allowed(sub.url or "", self.webhook_allow)
        if not self.store.add_subscription(sub.id, user.subject, user.nation, sub.doc(),
                                           owner_claims(user, token), MAX_SUBSCRIPTIONS):
            raise InputError(f"{MAX_SUBSCRIPTIONS} subscriptions already", field="subscriptions",
                             expected=f"at most {MAX_SUBSCRIPTIONS} per subscriber (DELETE one first)")
        self._seen(user, token)
        self.instance.library.record(user, "create subscription", sub.id, True, "own subscription")
        self.dispatcher().invalidate()
        return self.get(user, sub.id, audit=False)

    def subscriptions_of(self, user: User, token: tuple[float, float, str] | None = None) -> list[Subscription]:
        self._seen(user, token)
        subs = [Subscription.from_doc(sid, subject, doc, created)
                for sid, subject, doc, _, created in self.store.subscriptions(user.subject)]
        self.instance.library.record(user, "list subscriptions", "subscriptions", True, f"{len(subs)} own")
        return subs

    def get(self, user: User, sid: str, audit: bool = True) -> Subscription:
        for s, subject, doc, _, created in self.store.subscriptions(user.subject):
            if s == sid:
                if audit:
                    self.instance.library.record(user, "read subscription", sid, True, "own subscription")
                return Subscription.from_doc(s, subject, doc, created)
        raise self.instance.library.deny(user, "read subscription", sid[:100], "not found or not own")

    def deliveries(self, user: User, sid: str, state: str | None = None) -> dict[str, Any]:
        """A webhook subscription's delivery counts per state and its deliveries (e.g. the dead letters)."""
        sub = self.get(user, sid, audit=False)
        if state is not None and state not in DELIVERY_STATES:
            raise InputError(f"{state[:40]!r}", field="state", expected=" or ".join(DELIVERY_STATES))
        rows = [r for r in self.store.deliveries(sub.id, state)  # items the caller may no longer read: not named
                if self.instance.store.item(user, r[1], r[2]) is not None]
        self.instance.library.record(user, "read deliveries", sid, True, "own subscription")
        return {"subscription_id": sub.id, "counts": self.store.delivery_counts(sub.id),
                "deliveries": [{"id": a, "item": f"{c}/{i}", "attempts": n, "state": st, "error": e, "updated": u}
                               for a, c, i, n, st, e, u in rows]}

    def unsubscribe(self, user: User, sid: str) -> None:
        if not self.store.delete_subscription(sid, user.subject):
            raise self.instance.library.deny(user, "delete subscription", sid[:100], "not found or not own")
        self.instance.library.record(user, "delete subscription", sid, True, "own subscription")
        self.dispatcher().invalidate()

    # -- alerts -----------------------------------------------------------------------------------------
    def alerts(self, user: User, after_seq: int = 0, published_after: str = "", limit: int = 100,
               token: tuple[float, float, str] | None = None) -> list[Alert]:
        self._seen(user, token)
        self.dispatcher()
        out = alerts_for(self.instance, self.store, user, after_seq, published_after, limit)
        self.instance.library.record(user, "read alerts", "alerts", True, f"{len(out)} alerts")
        return out

    def pending(self, user: User, after_seq: int, limit: int = 100) -> list[Alert]:
        """A stream's next alerts (its opening was audited, each delivery was audited when it was made)."""
        return alerts_for(self.instance, self.store, user, after_seq, "", limit)
