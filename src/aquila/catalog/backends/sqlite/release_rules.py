"""Release rules in the catalog's database: one row per (nation, rule id), written with their audit entries."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any

from aquila.errors import Conflict, NotFound
from aquila.security.derive import ReleaseRule, parse_release_rule

__all__ = ["ReleaseRuleStore", "RELEASE_RULES_SCHEMA"]

RELEASE_RULES_SCHEMA = """
CREATE TABLE IF NOT EXISTS release_rules (nation TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,
  updated REAL NOT NULL, PRIMARY KEY (nation, id)) WITHOUT ROWID;
"""


def _rule(nation: str, doc: str) -> ReleaseRule:
    d = json.loads(doc)
    return parse_release_rule(d, nation, d["id"])


class ReleaseRuleStore:
    """The release-rule half of the catalog store (mixed into `CatalogStore`, which provides the
    connection and transactions). Ids are per nation: a nation never learns which ids another uses."""

    _conn: Callable[[], sqlite3.Connection]
    _write: Callable[..., Any]

    def release_rules(self, nations: Iterable[str]) -> list[ReleaseRule]:
        """The rules of these nations, by nation then id."""
        wanted = sorted(set(nations))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        rows = self._conn().execute(f"SELECT nation, doc FROM release_rules WHERE nation IN ({marks}) "
                                    "ORDER BY nation, id", wanted).fetchall()
        return [_rule(n, d) for n, d in rows]

    def release_rule(self, nation: str, rule_id: str) -> ReleaseRule | None:
        row = self._conn().execute("SELECT doc FROM release_rules WHERE nation = ? AND id = ?",
                                   (nation, rule_id)).fetchone()
        return _rule(nation, row[0]) if row else None

    def put_release_rule(self, rule: ReleaseRule, create_only: bool = False,
                         in_transaction: Callable[[sqlite3.Connection], object] | None = None) -> bool:
        """Store `rule` (replacing the nation's rule of that id unless `create_only`); True if it is new.
        A create of an id the nation already has raises `Conflict` (the caller's own id: no oracle)."""
        def body(db: sqlite3.Connection) -> bool:
            old = db.execute("SELECT 1 FROM release_rules WHERE nation = ? AND id = ?",
                             (rule.nation, rule.id)).fetchone()
            if old and create_only:
                raise Conflict(f"release rule {rule.id!r} exists already; PUT /release-rules/{rule.id} replaces it")
            db.execute("INSERT OR REPLACE INTO release_rules VALUES (?, ?, ?, ?)",
                       (rule.nation, rule.id, json.dumps(rule.as_json()), time.time()))
            return old is None

        return bool(self._write(body, in_transaction))

    def delete_release_rule(self, nation: str, rule_id: str,
                            in_transaction: Callable[[sqlite3.Connection], object] | None = None) -> bool:
        """Delete a rule; False (and nothing written, audit included) when the nation has none of that id."""
        def body(db: sqlite3.Connection) -> None:
            if db.execute("DELETE FROM release_rules WHERE nation = ? AND id = ?", (nation, rule_id)).rowcount == 0:
                raise NotFound(f"release rule {rule_id}")

        try:
            self._write(body, in_transaction)
        except NotFound:
            return False
        return True
