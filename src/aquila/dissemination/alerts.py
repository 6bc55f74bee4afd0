"""Alerts: the dispatcher turns catalog events into deliveries, the hub pushes them to connected clients.

The dispatcher is an outbox consumer (`alerts`, its own durable cursor): for each `item.created|updated`
it reads the item as its originator, matches it against every subscription of its collection and, for
each subscriber its label releases to *now* (the subscriber's latest rights; a subject revoked since
stops receiving), records one alert (`dissemination.db`, one per subscription and event, so reading an
event again writes nothing twice) and one audit entry, then wakes the subscriber's connected streams.
What a client is sent is read again at sending time, with the rights of the token it is connected with:
an item relabelled or deleted meanwhile is not sent. Nothing acknowledged is lost: an alert row is
written before the event is acknowledged, and a client that was away replays them (`alerts_since`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aquila.dissemination.subscriptions import Subscription, owner_current, owner_user
from aquila.security.policy import User, decide_item

if TYPE_CHECKING:
    from aquila.catalog.backends.sqlite.dissemination import DisseminationStore
    from aquila.instance import Instance

__all__ = ["AlertHub", "Dispatcher", "Alert", "alerts_for", "CONSUMER"]

CONSUMER = "alerts"

Alert = dict[str, Any]
"""{"id", "seq", "subscription_id", "item": STAC item, "published": ISO}"""


class AlertHub:
    """Connected clients per subject, woken from any thread (each client has its own asyncio queue)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[int]]]] = {}

    def connect(self, subject: str) -> tuple[asyncio.AbstractEventLoop, asyncio.Queue[int]]:
        client = (asyncio.get_running_loop(), asyncio.Queue[int]())
        with self._lock:
            self._clients.setdefault(subject, set()).add(client)
        return client

    def disconnect(self, subject: str, client: tuple[asyncio.AbstractEventLoop, asyncio.Queue[int]]) -> None:
        with self._lock:
            self._clients.get(subject, set()).discard(client)

    def wake(self, subject: str, seq: int) -> None:
        with self._lock:
            clients = list(self._clients.get(subject, ()))
        for loop, queue in clients:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, seq)
            except RuntimeError:  # its loop has closed: the client is gone
                pass


class Dispatcher:
    """Outbox events -> matching subscriptions -> alert rows (+ audit) -> the hub."""

    def __init__(self, instance: Instance, hub: AlertHub) -> None:
        self.instance = instance
        self.hub = hub
        self.store: DisseminationStore = instance.dissemination()
        self._events = instance.events()
        self._consumer = self._events.consumer(CONSUMER)
        self._subs: dict[str, _Index] = {}
        self._loaded = -1.0
        self._dirty = True
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.on_alert: Callable[[Subscription, Any, tuple[int, str, str]], None] | None = None
        """Called for each alert written with (subscription, the item, (seq, alert id, published)): the webhook
        channel hooks in here."""

    def invalidate(self) -> None:
        """Subscriptions changed: reload them before the next event."""
        self._dirty = True

    def _subscriptions(self) -> dict[str, _Index]:
        if self._dirty or time.monotonic() - self._loaded > 2.0:  # other processes may add some too
            by_col: dict[str, list[tuple[Subscription, dict[str, Any]]]] = {}
            for sid, subject, doc, owner, created in self.store.subscriptions():
                sub = Subscription.from_doc(sid, subject, doc, created)
                for c in sub.collections:
                    by_col.setdefault(c, []).append((sub, owner))
            self._subs = {c: _Index(entries) for c, entries in by_col.items()}
            self._loaded, self._dirty = time.monotonic(), False
        return self._subs

    def step(self, limit: int = 500) -> int:
        """Dispatch the events after the cursor (their alerts in one transaction, their audit entries in one
        append), then acknowledge them; returns the alerts written."""
        from aquila.analytics.findings import producer_for

        events = self._consumer.poll(limit)
        if not events:
            return 0
        subs = self._subscriptions()
        revocations = self.instance.tokens.revocations
        current: dict[str, bool] = {}
        now_s = time.time()
        rows: list[tuple[str, str, str, str, int]] = []
        meta: list[tuple[Subscription, dict[str, Any], User, Any]] = []
        for e in events:
            if e.item is None or e.kind not in ("item.created", "item.updated") or e.collection not in subs:
                continue
            item = self.instance.store.item(producer_for(e.label.originator, e.label.caveats), e.collection, e.item)
            if item is None or item.label != e.label or item.collection_label is None:
                continue  # deleted since, or another instance of the id (it has its own event)
            index = subs[e.collection]
            allowed: dict[str, bool] = {}
            for k in index.candidates(item.doc):
                sub, owner, user = index.entries[k]
                if sub.subject not in current:
                    current[sub.subject] = owner_current(owner, revocations, now_s)
                if not current[sub.subject]:
                    continue  # the stating token revoked or expired: nothing until a newer one is seen
                if sub.subject not in allowed:
                    allowed[sub.subject] = bool(decide_item(user, item.label, item.collection_label))
                if not allowed[sub.subject] or not sub.matches(e.collection, item.doc):
                    continue
                rows.append((sub.id, sub.subject, e.collection, e.item, e.seq))
                meta.append((sub, owner, user, item))
        written = self.store.add_alerts(rows) if rows else []
        decisions = []
        newest: dict[str, int] = {}
        for k, seq, aid, published in written:
            sub, owner, user, item = meta[k]
            decisions.append(self.instance.library.decision(
                user, "deliver alert", f"{item.collection}/{item.id}", True, f"subscription {sub.id}", [item.label]))
            newest[sub.subject] = seq
            if self.on_alert is not None:
                self.on_alert(sub, item, (seq, aid, published))
        if decisions:
            self.instance.audit.append_many(decisions)
        for subject, seq in newest.items():
            self.hub.wake(subject, seq)
        self._consumer.ack(events[-1].seq)
        return len(written)

    def run(self, idle_s: float = 0.2) -> None:
        import logging

        while not self._stop.is_set():
            try:
                if not self.step():
                    self._consumer.wait(idle_s)
            except Exception:  # a bug must not stop every subscriber's alerts: logged, retried after a pause
                logging.getLogger("aquila.alerts").exception("alert dispatch failed; retrying")
                self._stop.wait(1.0)

    def start(self) -> None:
        """Run in a daemon thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="aquila-alerts", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.store.close()
        self._events.close()


def alerts_for(instance: Instance, store: DisseminationStore, user: User, after_seq: int = 0,
               published_after: str = "", limit: int = 100) -> list[Alert]:
    """The user's alerts after a point, each with its item as `user` may read it now (an alert whose item was
    relabelled beyond the user, or deleted, is left out). Oldest first."""
    out: list[Alert] = []
    cursor = after_seq
    while len(out) < limit:
        rows = store.alerts(user.subject, cursor, published_after, 200)
        readable = instance.store.items(user, [(cid, iid) for _, _, _, cid, iid, _ in rows])
        for seq, aid, sub, cid, iid, published in rows:
            cursor = seq
            item = readable.get((cid, iid))
            if item is None:
                continue
            out.append({"id": aid, "seq": seq, "subscription_id": sub, "item": item.doc, "published": published})
            if len(out) == limit:
                break
        if len(rows) < 200:
            break
    return out


class _Index:
    """A collection's subscriptions with their owners, and their bboxes as arrays: an item's candidates are found
    with four vectorised comparisons instead of a geometry test per subscription."""

    def __init__(self, entries: list[tuple[Subscription, dict[str, Any]]]) -> None:
        import numpy as np

        self.entries = [(sub, owner, owner_user(owner)) for sub, owner in entries]
        boxes = np.full((len(entries), 4), np.nan)
        for k, (sub, _) in enumerate(entries):
            if sub.bbox is not None and sub.bbox[0] <= sub.bbox[2]:  # an antimeridian box is tested exactly
                boxes[k] = sub.bbox
        self.boxes = boxes
        self.free = np.isnan(boxes[:, 0])

    def candidates(self, item: dict[str, Any]) -> list[int]:
        import numpy as np

        geom = item.get("geometry")
        if not geom:
            return [int(k) for k in np.flatnonzero(self.free)]
        from shapely.geometry import shape

        w, s, e, n = shape(geom).bounds
        b = self.boxes
        with np.errstate(invalid="ignore"):
            hit = (b[:, 0] <= e) & (b[:, 2] >= w) & (b[:, 1] <= n) & (b[:, 3] >= s)
        return [int(k) for k in np.flatnonzero(hit | self.free)]
