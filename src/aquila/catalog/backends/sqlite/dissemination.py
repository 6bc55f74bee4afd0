"""Subscriptions and alerts in `dissemination.db`: standing queries per subscriber, and every delivery made.

An alert row is written once per (subscription, catalog event) — its id is derived from both, so a
dispatcher that reads an event again after a crash writes nothing new — and kept: a client that was away
replays what it missed (`since`), across reconnects and server restarts. `seq` orders alerts for a
stream's `Last-Event-ID`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aquila.catalog.backends.sqlite.db import connect, transaction

__all__ = ["DisseminationStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions (id TEXT PRIMARY KEY, subject TEXT NOT NULL, nation TEXT NOT NULL,
  doc TEXT NOT NULL, owner TEXT NOT NULL, created TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS subscriptions_subject ON subscriptions (subject);
CREATE TABLE IF NOT EXISTS alerts (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
  subscription TEXT NOT NULL, subject TEXT NOT NULL, collection TEXT NOT NULL, item TEXT NOT NULL,
  event_seq INTEGER NOT NULL, published TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alerts_subject ON alerts (subject, seq);
CREATE INDEX IF NOT EXISTS alerts_published ON alerts (subject, published);
CREATE TABLE IF NOT EXISTS deliveries (alert TEXT PRIMARY KEY, subscription TEXT NOT NULL, collection TEXT NOT NULL,
  item TEXT NOT NULL, published TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_try REAL NOT NULL,
  state TEXT NOT NULL, last_error TEXT, updated TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_try);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class DisseminationStore:
    """Subscriptions and alerts of one instance (thread-safe; several processes may open it)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = connect(self.path)
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    # -- subscriptions ------------------------------------------------------------------------------------
    def add_subscription(self, sid: str, subject: str, nation: str, doc: dict[str, Any], owner: dict[str, Any],
                         max_per_subject: int) -> bool:
        """Store a subscription; False when the subject already has `max_per_subject`."""
        with self._lock, transaction(self._db) as db:
            n = db.execute("SELECT count(*) FROM subscriptions WHERE subject = ?", (subject,)).fetchone()[0]
            if n >= max_per_subject:
                return False
            db.execute("INSERT INTO subscriptions VALUES (?,?,?,?,?,?)",
                       (sid, subject, nation, json.dumps(doc), json.dumps(owner), _now()))
            return True

    def subscriptions(self, subject: str | None = None) -> list[tuple[str, str, dict[str, Any], dict[str, Any], str]]:
        """(id, subject, doc, owner claims, created) — of one subject, or all of them (the dispatcher)."""
        with self._lock:
            if subject is None:
                rows = self._db.execute("SELECT id, subject, doc, owner, created FROM subscriptions ORDER BY created, "
                                        "id").fetchall()
            else:
                rows = self._db.execute("SELECT id, subject, doc, owner, created FROM subscriptions WHERE subject = ? "
                                        "ORDER BY created, id", (subject,)).fetchall()
        return [(r[0], r[1], json.loads(r[2]), json.loads(r[3]), r[4]) for r in rows]

    def update_owner(self, subject: str, owner: dict[str, Any]) -> None:
        """The subscriber's rights as its latest token states them (applied to every later delivery)."""
        with self._lock:
            self._db.execute("UPDATE subscriptions SET owner = ?, nation = ? WHERE subject = ?",
                             (json.dumps(owner), owner["nation"], subject))

    def delete_subscription(self, sid: str, subject: str) -> bool:
        with self._lock:
            cur = self._db.execute("DELETE FROM subscriptions WHERE id = ? AND subject = ?", (sid, subject))
            return cur.rowcount == 1

    # -- alerts -------------------------------------------------------------------------------------------
    def add_alert(self, subscription: str, subject: str, collection: str, item: str, event_seq: int
                  ) -> tuple[int, str, str] | None:
        """Record a delivery once: (seq, id, published), or None when this event was already delivered."""
        aid = "al-" + hashlib.sha256(f"{subscription}\x00{event_seq}".encode()).hexdigest()[:24]
        now = _now()
        with self._lock:
            cur = self._db.execute("INSERT OR IGNORE INTO alerts (id, subscription, subject, collection, item, "
                                   "event_seq, published) VALUES (?,?,?,?,?,?,?)",
                                   (aid, subscription, subject, collection, item, event_seq, now))
            if cur.rowcount != 1:
                return None
            return int(cur.lastrowid or 0), aid, now

    def add_alerts(self, rows: list[tuple[str, str, str, str, int]]) -> list[tuple[int, int, str, str]]:
        """Record many deliveries in one transaction: rows of (subscription, subject, collection, item, event
        seq); returns (index in `rows`, seq, id, published) of those not recorded before."""
        now = _now()
        out = []
        with self._lock, transaction(self._db) as db:
            for k, (sub, subject, cid, iid, event_seq) in enumerate(rows):
                aid = "al-" + hashlib.sha256(f"{sub}\x00{event_seq}".encode()).hexdigest()[:24]
                cur = db.execute("INSERT OR IGNORE INTO alerts (id, subscription, subject, collection, item, "
                                 "event_seq, published) VALUES (?,?,?,?,?,?,?)",
                                 (aid, sub, subject, cid, iid, event_seq, now))
                if cur.rowcount == 1:
                    out.append((k, int(cur.lastrowid or 0), aid, now))
        return out

    def newest_alert(self, subject: str) -> int:
        """The seq of the subject's latest alert (0 when none)."""
        with self._lock:
            row = self._db.execute("SELECT max(seq) FROM alerts WHERE subject = ?", (subject,)).fetchone()
        return int(row[0] or 0)

    def alerts(self, subject: str, after_seq: int = 0, published_after: str = "", limit: int = 100
               ) -> list[tuple[int, str, str, str, str, str]]:
        """(seq, id, subscription, collection, item, published) of a subject, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT seq, id, subscription, collection, item, published FROM alerts WHERE "
                                    "subject = ? AND seq > ? AND published > ? ORDER BY seq LIMIT ?",
                                    (subject, after_seq, published_after, limit)).fetchall()
        return [tuple(r) for r in rows]

    # -- webhook deliveries -------------------------------------------------------------------------------
    def add_delivery(self, alert: str, subscription: str, collection: str, item: str, published: str,
                     now_s: float) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO deliveries (alert, subscription, collection, item, published, "
                             "next_try, state, updated) VALUES (?,?,?,?,?,?,'pending',?)",
                             (alert, subscription, collection, item, published, now_s, _now()))

    def due_deliveries(self, now_s: float, limit: int = 20) -> list[tuple[str, str, str, str, str, int]]:
        """(alert, subscription, collection, item, published, attempts) of pending deliveries due now."""
        with self._lock:
            rows = self._db.execute("SELECT alert, subscription, collection, item, published, attempts FROM "
                                    "deliveries WHERE state = 'pending' AND next_try <= ? ORDER BY next_try "
                                    "LIMIT ?", (now_s, limit)).fetchall()
        return [tuple(r) for r in rows]

    def next_due_s(self) -> float | None:
        with self._lock:
            row = self._db.execute("SELECT min(next_try) FROM deliveries WHERE state = 'pending'").fetchone()
        return None if row[0] is None else float(row[0])

    def record_attempt(self, alert: str, state: str, attempts: int, next_try_s: float, error: str | None) -> None:
        with self._lock:
            self._db.execute("UPDATE deliveries SET state = ?, attempts = ?, next_try = ?, last_error = ?, updated = ? "
                             "WHERE alert = ?", (state, attempts, next_try_s, error, _now(), alert))

    def delivery_counts(self, subscription: str) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, count(*) FROM deliveries WHERE subscription = ? GROUP BY state",
                                    (subscription,)).fetchall()
        return {str(k): int(v) for k, v in rows}

    def deliveries(self, subscription: str, state: str | None = None, limit: int = 100
                   ) -> list[tuple[str, str, str, int, str, str | None, str]]:
        """(alert, collection, item, attempts, state, last error, updated) of a subscription's deliveries."""
        with self._lock:
            rows = self._db.execute("SELECT alert, collection, item, attempts, state, last_error, updated FROM "
                                    "deliveries WHERE subscription = ? AND (? IS NULL OR state = ?) ORDER BY updated "
                                    "LIMIT ?", (subscription, state, state, limit)).fetchall()
        return [tuple(r) for r in rows]
