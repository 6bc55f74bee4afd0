"""Revoked tokens in SQLite: `<data>/revocations.db`, shared by `aquila token revoke` and the server."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from aquila.catalog.backends.sqlite.db import connect

__all__ = ["Revocations"]


class Revocations:
    """Revoked token ids and subjects (`aquila token revoke`), in `<data>/revocations.db`.

    Checked on every request, so a revocation takes effect at once on a running server.
    """

    def __init__(self, data_dir: str | Path) -> None:
        path = Path(data_dir) / "revocations.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = connect(path)
        self._db.executescript(
            "CREATE TABLE IF NOT EXISTS revoked_tokens (jti TEXT PRIMARY KEY, revoked_at REAL NOT NULL, "
            "expires REAL NOT NULL);"
            "CREATE TABLE IF NOT EXISTS revoked_subjects (subject TEXT PRIMARY KEY, issued_before REAL NOT NULL);")
        self._lock = threading.Lock()

    def revoke_token(self, jti: str, expires: float) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO revoked_tokens VALUES (?, ?, ?)", (jti, time.time(), expires))

    def revoke_subject(self, subject: str, issued_before: float | None = None) -> float:
        """Every token of `subject` issued before `issued_before` stops working; returns that time.

        The default is the end of the current second: `iat` has a resolution of one second, so a
        token issued in the second of the revocation is revoked too.
        """
        before = float(int(time.time()) + 1) if issued_before is None else issued_before
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO revoked_subjects VALUES (?, ?)", (subject, before))
        return before

    def is_revoked(self, jti: str, subject: str, issued_at: float) -> bool:
        with self._lock:
            if self._db.execute("SELECT 1 FROM revoked_tokens WHERE jti = ?", (jti,)).fetchone():
                return True
            row = self._db.execute("SELECT issued_before FROM revoked_subjects WHERE subject = ?",
                                   (subject,)).fetchone()
        return row is not None and issued_at < row[0]
