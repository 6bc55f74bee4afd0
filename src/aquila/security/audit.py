"""Tamper-evident audit log: every decision appended to a hash chain in SQLite.

Each entry's hash covers its content and the previous entry's hash, so editing, deleting or
reordering any entry breaks every hash after it; `verify()` names the first broken entry. The
table is append-only by trigger (UPDATE and DELETE raise), which guards against mistakes; the
chain guards against everything else.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["AuditLog", "AuditEntry", "VerifyResult", "GENESIS"]

GENESIS = "0" * 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  subject TEXT NOT NULL,
  nation TEXT NOT NULL,
  action TEXT NOT NULL,
  object TEXT NOT NULL,
  originators TEXT NOT NULL,
  allowed INTEGER NOT NULL,
  reason TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_originator (originator TEXT NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY (originator, seq)) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    time: str
    subject: str
    nation: str
    action: str
    object: str
    originators: tuple[str, ...]
    allowed: bool
    reason: str
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d["originators"] = list(self.originators)
        return d


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    first_broken: int | None = None
    reason: str = ""


def _digest(prev: str, fields: Sequence[Any]) -> str:
    body = json.dumps([prev, *fields], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


class AuditLog:
    """The append-only, hash-chained decision log of one instance."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        row = self._db.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        self._last = row[0] if row else GENESIS

    def close(self) -> None:
        self._db.close()

    def append(self, *, subject: str, nation: str, action: str, obj: str, allowed: bool, reason: str,
               originators: Iterable[str] = ()) -> AuditEntry:
        """Append one decision; durable (fsync via synchronous=FULL) before it returns."""
        return self.append_many([dict(subject=subject, nation=nation, action=action, obj=obj, allowed=allowed,
                                      reason=reason, originators=originators)])[0]

    def append_many(self, decisions: Sequence[dict[str, Any]]) -> list[AuditEntry]:
        """Append several decisions in one durable transaction of the log's own connection."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                out = self.write_in(self._db, decisions)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return out

    def write_in(self, db: sqlite3.Connection, decisions: Sequence[dict[str, Any]]) -> list[AuditEntry]:
        """Append inside a write transaction the caller holds on the same database file.

        This is how a catalog write and its audit entries commit together, or not at all.
        """
        t = datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")
        row = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq = row[0] if row else 0
        prev = row[1] if row else GENESIS
        out: list[AuditEntry] = []
        for d in decisions:
            seq += 1
            origs = tuple(sorted(set(d.get("originators", ()))))
            fields = [seq, t, d["subject"], d["nation"], d["action"], d["obj"], list(origs), int(d["allowed"]),
                      d["reason"]]
            h = _digest(prev, fields)
            db.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                       (seq, t, d["subject"], d["nation"], d["action"], d["obj"], json.dumps(list(origs)),
                        int(d["allowed"]), d["reason"], prev, h))
            db.executemany("INSERT INTO audit_originator VALUES (?, ?)", [(o, seq) for o in origs])
            out.append(AuditEntry(seq, t, d["subject"], d["nation"], d["action"], d["obj"], origs,
                                  bool(d["allowed"]), d["reason"], prev, h))
            prev = h
        self._last = prev
        return out

    @staticmethod
    def _entry(row: Sequence[Any]) -> AuditEntry:
        return AuditEntry(row[0], row[1], row[2], row[3], row[4], row[5], tuple(json.loads(row[6])), bool(row[7]),
                          row[8], row[9], row[10])

    def entries(self, *, originator: str | None = None, after: int = 0, limit: int = 100) -> list[AuditEntry]:
        if originator is None:
            rows = self._db.execute("SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))
        else:
            rows = self._db.execute(
                "SELECT a.* FROM audit_originator o JOIN audit a ON a.seq = o.seq "
                "WHERE o.originator = ? AND o.seq > ? ORDER BY o.seq LIMIT ?", (originator, after, limit))
        return [self._entry(r) for r in rows]

    def verify(self) -> VerifyResult:
        """Walk the chain; report the first entry whose hash or link does not hold."""
        prev = GENESIS
        n = 0
        expected_seq = 1
        for row in self._db.execute("SELECT * FROM audit ORDER BY seq"):
            e = self._entry(row)
            n += 1
            if e.seq != expected_seq:
                return VerifyResult(False, n, e.seq, f"entry {expected_seq} is missing")
            if e.prev_hash != prev:
                return VerifyResult(False, n, e.seq, "link to the previous entry is broken")
            fields = [e.seq, e.time, e.subject, e.nation, e.action, e.object, list(e.originators), int(e.allowed),
                      e.reason]
            if _digest(prev, fields) != e.hash:
                return VerifyResult(False, n, e.seq, "content does not match its hash")
            prev = e.hash
            expected_seq += 1
        return VerifyResult(True, n)
