"""Asset records and the lifecycle of their bytes: they die with their item, whatever id is reused.

Asset bytes are keyed by the item's internal row id (AUTOINCREMENT: never reused) and a random
part, and recorded in the `assets` table. Deleting an item deletes its asset rows in the same
transaction and queues the bytes in `object_gc`; `collect` removes them after the commit (and at
every start, for a crash in between). An upload is reserved in `object_gc` before its bytes are
written, so bytes that never get their record are collected too.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aquila.catalog.backends.sqlite.outbox import append_event
from aquila.catalog.model import AssetRecord, StoredItem

if TYPE_CHECKING:
    from aquila.catalog.validate import ItemRow

__all__ = ["AssetLifecycle"]


class AssetLifecycle:
    """The asset half of the catalog store (mixed into `CatalogStore`, which provides `_conn`,
    `_write` and `_store_item`)."""

    _conn: Callable[[], sqlite3.Connection]
    _write: Callable[..., Any]
    _store_item: Callable[..., int]
    _expect: Callable[[sqlite3.Connection, StoredItem], None]

    # --- assets --------------------------------------------------------------------------------
    def assets(self, rid: int) -> list[AssetRecord]:
        rows = self._conn().execute("SELECT name, object_key, size, sha256, media_type FROM assets WHERE rid = ? "
                                    "ORDER BY name", (rid,))
        return [AssetRecord(*r) for r in rows]

    def asset(self, rid: int, name: str) -> AssetRecord | None:
        row = self._conn().execute("SELECT name, object_key, size, sha256, media_type FROM assets WHERE rid = ? AND "
                                   "name = ?", (rid, name)).fetchone()
        return AssetRecord(*row) if row else None

    def reserve_object(self, object_key: str, grace_s: float = 3600.0) -> None:
        """Before bytes are written: if no asset record claims them in time, `collect` removes them."""
        self._write(lambda db: db.execute("INSERT OR REPLACE INTO object_gc VALUES (?, ?)",
                                          (object_key, time.time() + grace_s)))

    def attach_asset(self, item: StoredItem, record: AssetRecord, row: ItemRow,
                     in_transaction: Callable[[sqlite3.Connection], object] | None = None) -> None:
        """Record uploaded bytes under an item (replacing an asset of the same name) with the item's new document."""

        def body(db: sqlite3.Connection) -> None:
            self._expect(db, item)  # not relabelled, replaced or deleted during the upload
            db.execute("INSERT OR REPLACE INTO object_gc SELECT object_key, 0 FROM assets WHERE rid = ? AND name = ?",
                       (item.rid, record.name))
            db.execute("INSERT OR REPLACE INTO assets VALUES (?,?,?,?,?,?)", (item.rid, record.name, record.object_key,
                                                                              record.size, record.sha256,
                                                                              record.media_type))
            db.execute("DELETE FROM object_gc WHERE object_key = ?", (record.object_key,))
            self._store_item(db, item.crid, row, item.rid)
            append_event(db, "asset.uploaded", item.collection, row.label, item.id, record.name)

        self._write(body, in_transaction)

    def detach_asset(self, item: StoredItem, name: str, row: ItemRow,
                     in_transaction: Callable[[sqlite3.Connection], object] | None = None) -> None:
        def body(db: sqlite3.Connection) -> None:
            self._expect(db, item)
            db.execute("INSERT OR REPLACE INTO object_gc SELECT object_key, 0 FROM assets WHERE rid = ? AND name = ?",
                       (item.rid, name))
            db.execute("DELETE FROM assets WHERE rid = ? AND name = ?", (item.rid, name))
            self._store_item(db, item.crid, row, item.rid)
            append_event(db, "asset.deleted", item.collection, row.label, item.id, name)

        self._write(body, in_transaction)

    def collect(self, delete: Callable[[str], None]) -> int:
        """Delete the bytes of deleted assets (and of uploads never attached, after their grace time)."""
        keys = [r[0] for r in self._conn().execute("SELECT object_key FROM object_gc WHERE after <= ?", (time.time(),))]
        for k in keys:
            delete(k)
            self._write(lambda db, k=k: db.execute("DELETE FROM object_gc WHERE object_key = ?", (k,)))
        return len(keys)
