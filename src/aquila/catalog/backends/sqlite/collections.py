"""Collection instances: identity per label, the rule in SQL, and delete-or-retire.

A collection's identity is its id plus originator, classification and caveats (like an item's;
see `aquila.catalog.store`): creating an id is a 409 only when the creator can read an instance
of it. A retired collection (deleted while items hidden from its admin remain) is unlisted and
closed to new items; its items stay readable under their labels and it goes with the last one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from aquila.catalog.backends.sqlite.outbox import append_event
from aquila.catalog.model import StoredCollection
from aquila.catalog.validate import CollectionRow, validate_collection
from aquila.errors import Conflict, NotFound
from aquila.security.labels import Label
from aquila.security.policy import User

__all__ = ["CollectionStore", "PREFER"]

# preference among several readable instances of one id: own nation, highest classification, oldest
PREFER = "(originator = ?) DESC, classification DESC, {key} ASC"


class CollectionStore:
    """The collection half of the catalog store (mixed into `CatalogStore`, which provides the
    connection, transactions, the rule and label columns)."""

    _conn: Callable[[], sqlite3.Connection]
    _write: Callable[..., Any]
    _rule: Callable[[User, str], tuple[str, list[Any]]]
    _label_columns: Callable[[sqlite3.Connection, Label], tuple[int, ...]]
    readable_partitions: Callable[..., list[int]]

    # --- collections ---------------------------------------------------------------------------
    @staticmethod
    def _collection(row: Sequence[Any]) -> StoredCollection:
        doc = json.loads(row[2])
        return StoredCollection(row[0], row[1], Label.from_properties(doc, prefix=""), doc, row[3])

    def _readable_collections(self, user: User, cid: str, own_only: bool = False) -> list[StoredCollection]:
        sql, params = self._rule(user, "c")
        own = " AND c.originator = ?" if own_only else ""
        rows = self._conn().execute(
            f"SELECT c.crid, c.id, c.doc, c.version FROM collections c WHERE c.id = ? AND c.retired = 0 AND {sql}{own} "
            f"ORDER BY {PREFER.format(key='crid')}", [cid, *params, *([user.nation] if own_only else []), user.nation])
        return [self._collection(r) for r in rows]

    def collections(self, user: User) -> list[dict[str, Any]]:
        """The preferred readable instance of every collection id, by id."""
        sql, params = self._rule(user, "c")
        rows = self._conn().execute(f"SELECT c.crid, c.id, c.doc FROM collections c WHERE c.retired = 0 AND {sql} "
                                    f"ORDER BY c.id, {PREFER.format(key='crid')}", [*params, user.nation])
        out: dict[str, dict[str, Any]] = {}
        for r in rows:
            out.setdefault(r[1], json.loads(r[2]))
        return list(out.values())

    def collection(self, user: User, cid: str) -> StoredCollection:
        """The preferred instance of `cid` the user may read, else NotFound."""
        found = self._readable_collections(user, cid)
        if not found:
            raise NotFound(f"collection {cid!r}")
        return found[0]

    def writable_collection(self, user: User, cid: str) -> StoredCollection | None:
        """The preferred readable instance of `cid` whose originator is the user's nation."""
        found = self._readable_collections(user, cid, own_only=True)
        return found[0] if found else None

    def create_collection(self, user: User | None, row: CollectionRow) -> dict[str, Any]:
        """Store a new collection instance; 409 iff the user (or, for the operator, anyone) has one with this id."""

        def body(db: sqlite3.Connection) -> None:
            if user is not None and self._readable_collections(user, row.id):
                raise Conflict(f"collection {row.id!r} already exists")
            db.execute("INSERT INTO collections (id, originator, classification, caveat_mask, aud0, aud1, aud2, aud3, "
                       "doc) VALUES (?,?,?,?,?,?,?,?,?)", (row.id, row.label.originator,
                                                           *self._label_columns(db, row.label), json.dumps(row.doc)))
            append_event(db, "collection.created", row.id, row.label)

        self._write(body)
        return row.doc

    def put_collection(self, doc: dict[str, Any], *, create: bool) -> dict[str, Any]:
        """Operator form (CLI, tests, benchmarks): create, or replace the instance with the same identity."""
        row = validate_collection(doc)
        if create:
            return self.create_collection(None, row)
        db = self._conn()
        old = db.execute("SELECT crid FROM collections WHERE id = ? AND originator = ? AND retired = 0 ORDER BY crid",
                         (row.id, row.label.originator)).fetchone()
        if old is None:
            raise NotFound(f"collection {row.id!r}")
        return self.update_collection(old[0], row)

    def update_collection(self, crid: int, row: CollectionRow,
                          in_transaction: Callable[[sqlite3.Connection], object] | None = None) -> dict[str, Any]:
        def body(db: sqlite3.Connection) -> None:
            db.execute("UPDATE collections SET originator=?, classification=?, caveat_mask=?, aud0=?, aud1=?, aud2=?, "
                       "aud3=?, doc=?, version = version + 1 WHERE crid=?",
                       (row.label.originator, *self._label_columns(db, row.label), json.dumps(row.doc), crid))
            append_event(db, "collection.updated", row.id, row.label)

        self._write(body, in_transaction)
        return row.doc

    def delete_collection(self, user: User | None, crid: int,
                          in_transaction: Callable[[sqlite3.Connection], object] | None = None) -> bool:
        """Delete a collection instance; True if gone at once, False if retired.

        409 only when it still holds items the caller can read (for the operator: any item). When
        the items left are all hidden from the caller, the collection is *retired* — no longer
        listed, closed to new items, its items still readable under their labels — and purged with
        its last item: the caller gets the same answer as for an empty collection, so a delete
        reveals nothing it cannot see.
        """

        def body(db: sqlite3.Connection) -> bool:
            if user is None:
                visible = db.execute("SELECT 1 FROM items WHERE crid = ? LIMIT 1", (crid,)).fetchone()
            else:
                mine = self._pids_of(db, crid)
                pids = [p for p in self.readable_partitions(user) if p in mine]
                visible = db.execute("SELECT 1 FROM items WHERE pid IN (SELECT value FROM json_each(?)) LIMIT 1",
                                     (json.dumps(pids),)).fetchone()
            if visible:
                raise Conflict("the collection still holds items; delete them first")
            cid, doc = db.execute("SELECT id, doc FROM collections WHERE crid = ?", (crid,)).fetchone()
            label = Label.from_properties(json.loads(doc), prefix="")
            if db.execute("SELECT 1 FROM items WHERE crid = ? LIMIT 1", (crid,)).fetchone():
                db.execute("UPDATE collections SET retired = 1 WHERE crid = ?", (crid,))
                append_event(db, "collection.retired", cid, label)
                return False
            self._purge_collection(db, crid)
            append_event(db, "collection.deleted", cid, label)
            return True

        return bool(self._write(body, in_transaction))

    @staticmethod
    def _pids_of(db: sqlite3.Connection, crid: int) -> set[int]:
        return {r[0] for r in db.execute("SELECT pid FROM partitions WHERE crid = ?", (crid,))}

    @staticmethod
    def _purge_collection(db: sqlite3.Connection, crid: int) -> None:
        for t in ("partition_origin", "partitions", "collections"):
            db.execute(f"DELETE FROM {t} WHERE crid = ?", (crid,))
