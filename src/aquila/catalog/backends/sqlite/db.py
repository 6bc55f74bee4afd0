"""SQLite connections and transactions, once: WAL, a busy timeout, BEGIN IMMEDIATE ... COMMIT or ROLLBACK."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aquila.errors import AquilaError, Busy

__all__ = ["connect", "transaction", "has_table", "TRANSIENT", "transient_error"]

TRANSIENT: tuple[type[Exception], ...] = (sqlite3.OperationalError,)
"""Errors that may mean load rather than a bug (see `transient_error`)."""


def connect(path: str | Path, *, synchronous: str | None = None, uri: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL journal, 30 s busy timeout."""
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30, uri=uri)
    if not uri:
        db.execute("PRAGMA journal_mode=WAL")
    if synchronous is not None:
        db.execute(f"PRAGMA synchronous={synchronous}")
    return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: taken at once (BEGIN IMMEDIATE), committed on success, rolled back on any error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def transient_error(exc: BaseException) -> AquilaError | None:
    """The database stayed locked by writes for its whole busy timeout: a 503 to retry, not a bug."""
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc)):
        return Busy("the library is busy with writes; retry in a moment")
    return None
