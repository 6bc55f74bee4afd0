"""The SQLite event outbox: the `events` table each write appends to in its own transaction, read with
durable per-consumer cursors. What events are and promise: `aquila.catalog.events`."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from aquila.catalog.backends.sqlite.db import connect
from aquila.catalog.model import EVENT_KINDS, Event
from aquila.errors import InputError
from aquila.security.labels import Label

__all__ = ["OUTBOX_SCHEMA", "append_event", "Consumer", "Outbox"]

OUTBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, kind TEXT NOT NULL,
  collection TEXT NOT NULL, item TEXT, asset TEXT, label TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS event_cursors (consumer TEXT PRIMARY KEY, seq INTEGER NOT NULL);
"""

_COMMITTED = threading.Condition()  # in-process wake-up for waiting consumers (others poll)
_generation = [0]  # commits so far in this process: a wait skips if one happened since the last read


def append_event(db: sqlite3.Connection, kind: str, collection: str, label: Label, item: str | None = None,
                 asset: str | None = None) -> None:
    """Append inside the caller's write transaction (so the event commits with the write, or not at all)."""
    assert kind in EVENT_KINDS, kind
    t = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    db.execute("INSERT INTO events (time, kind, collection, item, asset, label) VALUES (?,?,?,?,?,?)",
               (t, kind, collection, item, asset, json.dumps(label.to_properties(), separators=(",", ":"))))


def notify_committed() -> None:
    """Wake in-process consumers after a commit that appended events."""
    with _COMMITTED:
        _generation[0] += 1
        _COMMITTED.notify_all()


class Outbox:
    """Read side of the outbox of one catalog database."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = connect(self.path)
        self._db.executescript(OUTBOX_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def since(self, cursor: int = 0, limit: int = 1000) -> list[Event]:
        """Events after `cursor`, in commit order."""
        with self._lock:
            rows = self._db.execute("SELECT seq, time, kind, collection, item, asset, label FROM events WHERE seq > ? "
                                    "ORDER BY seq LIMIT ?", (cursor, limit)).fetchall()
        return [Event(r[0], r[1], r[2], r[3], r[4], r[5], Label.from_properties(json.loads(r[6]), prefix=""))
                for r in rows]

    def head(self) -> int:
        """The last committed event's `seq` (0 when none): the catalog's version — any write moves it."""
        with self._lock:
            row = self._db.execute("SELECT max(seq) FROM events").fetchone()
        return int(row[0] or 0)

    def consumer(self, name: str) -> Consumer:
        if not name or len(name) > 100:
            raise InputError(f"{name[:40]!r}", field="consumer", expected="a name of 1-100 characters")
        return Consumer(self, name)


class Consumer:
    """A named reader with a durable cursor: `poll` what is new, `ack` what was handled.

    At-least-once: until acknowledged, an event is returned again (after a crash of the consumer
    too); after `ack(seq)`, never again.
    """

    def __init__(self, outbox: Outbox, name: str) -> None:
        self.outbox = outbox
        self.name = name
        self._generation = _generation[0]

    @property
    def cursor(self) -> int:
        with self.outbox._lock:
            row = self.outbox._db.execute("SELECT seq FROM event_cursors WHERE consumer = ?", (self.name,)).fetchone()
        return int(row[0]) if row else 0

    def poll(self, limit: int = 1000) -> list[Event]:
        with _COMMITTED:
            self._generation = _generation[0]
        return self.outbox.since(self.cursor, limit)

    def wait(self, timeout_s: float) -> None:
        """Until a commit in this process since the last `poll`, or the timeout (commits by other processes
        are seen by the next poll): a worker's idle wait that loses no wake-up."""
        _wait(self._generation, timeout_s)

    def ack(self, seq: int) -> None:
        """Everything up to and including `seq` is handled (the cursor never moves back)."""
        with self.outbox._lock:
            self.outbox._db.execute("INSERT INTO event_cursors VALUES (?, ?) ON CONFLICT (consumer) DO UPDATE SET "
                                    "seq = max(seq, excluded.seq)", (self.name, seq))

    async def stream(self, poll_interval_s: float = 0.5) -> AsyncIterator[Event]:
        """Events as they commit; acknowledge each after handling it (`ack(event.seq)`).

        Wakes at once on commits in this process, and polls for commits by other processes.
        """
        seen = self.cursor
        while True:
            with _COMMITTED:
                generation = _generation[0]
            batch = self.outbox.since(seen, 1000)
            for e in batch:
                seen = e.seq
                yield e
            if not batch:
                await asyncio.to_thread(_wait, generation, poll_interval_s)


def _wait(generation: int, timeout_s: float) -> None:
    """Until a commit after `generation` (or the timeout): no wake-up is lost between a read and the wait."""
    with _COMMITTED:
        if _generation[0] == generation:
            _COMMITTED.wait(timeout_s)
