"""The audit log stored in SQLite: in the catalog's database, so a write and its entries commit together.

See `aquila.security.audit` for what the chain, the signed head and the checkpoints guarantee.
"""

from __future__ import annotations

import hmac
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aquila.catalog.backends.sqlite.db import connect, has_table, transaction
from aquila.errors import AuditTampered
from aquila.limits import AUDIT_SCAN_PER_PAGE as SCAN_PER_PAGE
from aquila.security.audit import (
    GENESIS,
    AuditEntry,
    Scope,
    VerifyResult,
    entry_fields,
    entry_mac,
    scope_labels,
    storable_text,
)
from aquila.security.audit_head import CHECKPOINT_EVERY, CHECKPOINT_SECONDS, AuditKeys, Checkpoint
from aquila.security.labels import Label

__all__ = ["AuditLog", "AuditBatch", "verify_instance", "SCAN_PER_PAGE"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY, time TEXT NOT NULL, subject TEXT NOT NULL, nation TEXT NOT NULL, action TEXT NOT NULL,
  object TEXT NOT NULL, originators TEXT NOT NULL, allowed INTEGER NOT NULL, reason TEXT NOT NULL,
  prev_hash TEXT NOT NULL, hash TEXT NOT NULL, labels TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_originator (originator TEXT NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY (originator, seq)) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""

HEAD_SCHEMA = """
CREATE TABLE IF NOT EXISTS head (one INTEGER PRIMARY KEY CHECK (one = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL,
  time REAL NOT NULL, sig TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, time REAL NOT NULL,
  sig TEXT NOT NULL);
"""


class AuditBatch:
    """Entries to write inside a catalog transaction; call `after_commit` once it committed."""

    def __init__(self, log: AuditLog, decisions: Sequence[dict[str, Any]]) -> None:
        self.log = log
        self.decisions = decisions
        self.entries: list[AuditEntry] = []

    def __call__(self, db: sqlite3.Connection) -> None:
        self.entries = self.log.write_in(db, self.decisions)

    def after_commit(self) -> None:
        if self.entries:
            self.log.seal(self.entries[-1].seq, self.entries[-1].hash)


class AuditLog:
    """The append-only, keyed, hash-chained decision log of one instance."""

    def __init__(self, path: str | Path, keys_dir: str | Path | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        kdir = Path(keys_dir) if keys_dir else self.path.parent / "keys"
        self.head_path = kdir / "audit-head.db"
        self._keys = AuditKeys(kdir, create=True)
        self._db = connect(self.path)
        self._db.execute("PRAGMA synchronous=FULL")
        head_existed = self.head_path.exists()
        self._head = connect(self.head_path)
        self._head.execute("PRAGMA synchronous=NORMAL")
        self._head.executescript(HEAD_SCHEMA)
        self._lock = threading.Lock()
        head = self.head()
        if self._keys.existed and (not head_existed or head is None):
            raise AuditTampered(f"the signed audit head in {self.head_path} is missing; run `aquila audit verify`")
        if head is not None and head.seq > 0 and not has_table(self._db, "audit"):
            raise AuditTampered(f"the audit table of {self.path} is missing; run `aquila audit verify`")
        self._db.executescript(_SCHEMA)
        if head is None:
            self._write_head(self._keys.checkpoint(0, GENESIS), checkpoint=True)
        else:
            self._check_reaches_head(self._db)
        self._last_checkpoint = (time.time(), head.seq if head else 0)

    def close(self) -> None:
        self._db.close()
        self._head.close()

    # --- writing -------------------------------------------------------------------------------
    def append(self, *, subject: str, nation: str, action: str, obj: str, allowed: bool, reason: str,
               originators: Iterable[str] = (), labels: Iterable[Label | Scope] = ()) -> AuditEntry:
        """Append one decision; durable (fsync via synchronous=FULL) before it returns.

        `labels` are the labels of the objects the decision concerns (their originators see it, each
        nation's viewers only if cleared for it); `originators` alone names nations without a label.
        """
        return self.append_many([dict(subject=subject, nation=nation, action=action, obj=obj, allowed=allowed,
                                      reason=reason, originators=originators, labels=labels)])[0]

    def append_many(self, decisions: Sequence[dict[str, Any]]) -> list[AuditEntry]:
        """Append several decisions in one durable transaction of the log's own connection."""
        with self._lock, transaction(self._db):
            out = self.write_in(self._db, decisions)
        if out:
            self.seal(out[-1].seq, out[-1].hash)
        return out

    def batch(self, decisions: Sequence[dict[str, Any]]) -> AuditBatch:
        """Entries to write inside another transaction on the same database file (see `AuditBatch`)."""
        return AuditBatch(self, decisions)

    def write_in(self, db: sqlite3.Connection, decisions: Sequence[dict[str, Any]]) -> list[AuditEntry]:
        """Append inside a write transaction the caller holds on the same database file.

        This is how a catalog write and its audit entries commit together, or not at all. Call
        `seal` with the last entry after the commit (an `AuditBatch` does).
        """
        t = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        seq, prev = self._check_reaches_head(db)
        out: list[AuditEntry] = []
        for d in decisions:
            seq += 1
            labels = scope_labels(d.get("labels", ()))
            origs = tuple(sorted({storable_text(o, 8) for o in d.get("originators", ())} | set(labels)))
            e = AuditEntry(seq, t, storable_text(d["subject"], 200), storable_text(d["nation"], 8),
                           storable_text(d["action"], 300), storable_text(d["obj"], 100_000), origs,
                           bool(d["allowed"]), storable_text(d["reason"]), prev, "",
                           json.dumps(labels, sort_keys=True, separators=(",", ":")))
            h = entry_mac(self._keys.mac, prev, entry_fields(e))
            db.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                       (seq, t, e.subject, e.nation, e.action, e.object, json.dumps(list(origs)), int(e.allowed),
                        e.reason, prev, h, e.labels))
            db.executemany("INSERT INTO audit_originator VALUES (?, ?)", [(o, seq) for o in origs])
            out.append(AuditEntry(e.seq, e.time, e.subject, e.nation, e.action, e.object, origs, e.allowed, e.reason,
                                  prev, h, e.labels))
            prev = h
        return out

    def _check_reaches_head(self, db: sqlite3.Connection) -> tuple[int, str]:
        """The table's last (seq, MAC), after checking it still holds the signed head's entry.

        Without this, new entries appended after a deleted tail would carry the chain past the old
        head and launder the deletion. A log that fails it is refused: no further entries.
        """
        row = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, last = (row[0], row[1]) if row else (0, GENESIS)
        head = self._head.execute("SELECT seq, hash FROM head").fetchone()
        if head is not None and head[0] > 0:
            at = last if head[0] == seq else (
                (db.execute("SELECT hash FROM audit WHERE seq = ?", (head[0],)).fetchone() or [None])[0]
                if head[0] < seq else None)
            if at != head[1]:
                raise AuditTampered(f"the audit table no longer holds entry {head[0]} of the signed head; "
                                    "run `aquila audit verify`")
        return seq, last

    def seal(self, seq: int, mac: str) -> None:
        """Sign the chain's new head (and, now and then, a checkpoint) after a commit."""
        t, at = self._last_checkpoint
        checkpoint = seq - at >= CHECKPOINT_EVERY or time.time() - t >= CHECKPOINT_SECONDS
        self._write_head(self._keys.checkpoint(seq, mac), checkpoint)

    def _write_head(self, cp: Checkpoint, checkpoint: bool) -> None:
        with self._lock, transaction(self._head):
            self._head.execute("INSERT INTO head VALUES (1, ?, ?, ?, ?) ON CONFLICT (one) DO UPDATE SET "
                               "seq = excluded.seq, hash = excluded.hash, time = excluded.time, sig = excluded.sig "
                               "WHERE excluded.seq > head.seq", (cp.seq, cp.hash, cp.time, cp.sig))
            if checkpoint:
                self._head.execute("INSERT OR IGNORE INTO checkpoints VALUES (?, ?, ?, ?)",
                                   (cp.seq, cp.hash, cp.time, cp.sig))
                self._last_checkpoint = (time.time(), cp.seq)

    def checkpoint(self) -> Checkpoint:
        """Sign the current head as a checkpoint (kept, and returned for export to a provider)."""
        row = self._db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        cp = self._keys.checkpoint(row[0], row[1]) if row else self._keys.checkpoint(0, GENESIS)
        self._write_head(cp, checkpoint=True)
        return cp

    def head(self) -> Checkpoint | None:
        row = self._head.execute("SELECT seq, hash, time, sig FROM head").fetchone()
        return Checkpoint(*row) if row else None

    # --- reading -------------------------------------------------------------------------------
    @staticmethod
    def _entry(row: Sequence[Any]) -> AuditEntry:
        """An entry from its row; AuditTampered for a row no writer of Aquila's could have stored."""
        try:
            origs = json.loads(row[6])
            if not (isinstance(row[0], int) and all(isinstance(row[k], str) for k in (1, 2, 3, 4, 5, 8, 9, 10, 11))
                    and row[7] in (0, 1) and isinstance(origs, list) and all(isinstance(o, str) for o in origs)):
                raise ValueError
            return AuditEntry(row[0], row[1], row[2], row[3], row[4], row[5], tuple(origs), bool(row[7]), row[8],
                              row[9], row[10], row[11])
        except (ValueError, TypeError, IndexError):
            raise AuditTampered(f"audit entry {row[0]!r} is malformed") from None

    def entries(self, *, originator: str | None = None, after: int = 0, limit: int = 100,
                viewer: tuple[int, frozenset[str]] | None = None) -> list[AuditEntry]:
        """Entries in order; with `originator`, only those about that nation's objects (naming no other),
        and with `viewer` (clearance, caveats) only those whose labels it is cleared for."""
        return self.entries_page(originator=originator, after=after, limit=limit, viewer=viewer)[0]

    def entries_page(self, *, originator: str | None = None, after: int = 0, limit: int = 100,
                     viewer: tuple[int, frozenset[str]] | None = None) -> tuple[list[AuditEntry], int | None]:
        """(entries, the seq to continue after, or None at the end of the log)."""
        if originator is None:
            everything = [self._entry(r) for r in self._db.execute(
                "SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))]
            return everything, everything[-1].seq if len(everything) == limit else None
        clearance, caveats = viewer if viewer is not None else (99, frozenset({"*"}))
        out: list[AuditEntry] = []
        cursor = after
        scanned = 0
        while len(out) < limit:
            if scanned >= SCAN_PER_PAGE:  # bounded work per call: the caller continues from `cursor`
                return out, cursor
            scanned += 500
            rows = self._db.execute(
                "SELECT a.* FROM audit_originator o JOIN audit a ON a.seq = o.seq "
                "WHERE o.originator = ? AND o.seq > ? ORDER BY o.seq LIMIT ?", (originator, cursor, 500)).fetchall()
            if not rows:
                return out, None
            for r in rows:
                e = self._entry(r)
                cursor = e.seq
                # the index is a shortcut: the MAC'd columns decide who sees the entry
                if viewer is None and originator in e.originators or \
                        viewer is not None and e.visible_to(originator, clearance, caveats):
                    out.append(AuditEntry(e.seq, e.time, e.subject, e.nation, e.action, e.object, (originator,),
                                          e.allowed, e.reason, e.prev_hash, e.hash, e.labels))
                    if len(out) == limit:
                        return out, cursor
        return out, cursor

    def verify(self, checkpoints: Sequence[Checkpoint] = ()) -> VerifyResult:
        """Walk the chain; check the signed head, the kept checkpoints and any exported ones."""
        return _verify(self._db, self._head, self._keys, checkpoints)


def _verify(db: sqlite3.Connection, head_db: sqlite3.Connection | None, keys: AuditKeys,
            external: Sequence[Checkpoint]) -> VerifyResult:
    if not keys.existed and keys.sign is None:
        return VerifyResult(False, 0, None, "the instance's audit key is missing (keys/audit-hmac.key)")
    if not has_table(db, "audit"):
        return VerifyResult(False, 0, 1, "the audit table is missing (dropped)")
    prev = GENESIS
    n = 0
    hashes: dict[int, str] = {}
    index = set(db.execute("SELECT originator, seq FROM audit_originator"))
    for row in db.execute("SELECT * FROM audit ORDER BY seq"):
        n += 1
        try:
            e = AuditLog._entry(row)
        except AuditTampered:
            return VerifyResult(False, n, n, f"entry {n} is malformed (a value of the wrong type)")
        if e.seq != n:
            return VerifyResult(False, n, e.seq, f"entry {n} is missing")
        if e.prev_hash != prev:
            return VerifyResult(False, n, e.seq, "link to the previous entry is broken")
        if not hmac.compare_digest(entry_mac(keys.mac, prev, entry_fields(e)), e.hash):
            return VerifyResult(False, n, e.seq, "content does not match its MAC")
        for o in e.originators:
            if (o, e.seq) not in index:
                return VerifyResult(False, n, e.seq, f"the provider index lost entry {e.seq} for {o}")
            index.discard((o, e.seq))
        prev = e.hash
        hashes[e.seq] = e.hash
    statements: list[tuple[str, Checkpoint]] = []
    head = head_db.execute("SELECT seq, hash, time, sig FROM head").fetchone() if head_db is not None else None
    if head is None:
        return VerifyResult(False, n, n + 1, "the signed head is missing (audit-head.db deleted or emptied)")
    statements.append(("the signed head", Checkpoint(*head)))
    assert head_db is not None
    statements += [(f"checkpoint {r[0]}", Checkpoint(*r)) for r in head_db.execute(
        "SELECT seq, hash, time, sig FROM checkpoints ORDER BY seq")]
    statements += [(f"exported checkpoint {cp.seq}", cp) for cp in external]
    newest = max(cp.seq for _, cp in statements)
    if statements[0][1].seq < newest:
        return VerifyResult(False, n, statements[0][1].seq + 1, f"the signed head ({statements[0][1].seq}) is older "
                                                                f"than a checkpoint ({newest}): it was rolled back")
    for name, cp in statements:
        if not keys.valid(cp):
            return VerifyResult(False, n, None, f"{name} does not carry this instance's signature")
        if cp.seq > n:
            return VerifyResult(False, n, n + 1, f"{name} covers {cp.seq} entries but the log holds {n}: entries "
                                                 f"{n + 1}..{cp.seq} were deleted")
        if cp.seq > 0 and hashes.get(cp.seq) != cp.hash:
            return VerifyResult(False, n, cp.seq, f"entry {cp.seq} contradicts {name}")
    if index:
        o, seq = min(index, key=lambda x: x[1])
        return VerifyResult(False, n, seq, f"the provider index shows entry {seq} to {o}, which it does not name")
    return VerifyResult(True, n)


def verify_instance(data_dir: str | Path, checkpoints: Sequence[Checkpoint] = ()) -> VerifyResult:
    """Verify an instance's log read-only: creates nothing, reports what is missing as tampering."""
    d = Path(data_dir)
    keys = AuditKeys(d / "keys", create=False)
    if not keys.existed:
        return VerifyResult(False, 0, None, "the instance's audit key is missing (keys/audit-hmac.key)")
    catalog = d / "catalog.db"
    if not catalog.exists():
        return VerifyResult(False, 0, 1, f"{catalog} is missing")
    db = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)
    head_path = d / "keys" / "audit-head.db"
    head = sqlite3.connect(f"file:{head_path}?mode=ro", uri=True) if head_path.exists() else None
    try:
        if head is not None and head.execute("SELECT 1 FROM sqlite_master WHERE name = 'head'").fetchone() is None:
            head.close()
            head = None
        return _verify(db, head, keys, checkpoints)
    finally:
        db.close()
        if head is not None:
            head.close()
