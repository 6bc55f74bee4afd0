"""Assets in the library service: bytes under their item's label, uploaded and deleted by its provider.

An upload is three steps because its bytes stream in between: `reserve_upload` (decide, and note
the object key so unclaimed bytes are collected), the caller streams into the object store, then
`attach_upload` (decide again: the item may have changed meanwhile). A download is decided once
by `open_asset` and again by `still_readable` before each chunk the caller sends.
"""

from __future__ import annotations

import uuid
from typing import IO, TYPE_CHECKING

from aquila.catalog.library_base import LibraryBase
from aquila.catalog.model import AssetRecord, StoredItem
from aquila.catalog.objects import StoredObject
from aquila.catalog.validate import ItemRow, check_id, validate_item
from aquila.errors import Stale
from aquila.security.policy import User

if TYPE_CHECKING:
    pass

__all__ = ["AssetService"]


class AssetService(LibraryBase):
    """The asset half of `aquila.catalog.library.Library` (which provides the store, objects and audit)."""

    def reserve_upload(self, user: User, cid: str, iid: str, key: str) -> tuple[StoredItem, str]:
        """Decide an upload and reserve a fresh object key for its bytes (collected unless attached)."""
        check_id(key, "asset key")
        item = self.writable(user, cid, iid, "upload asset", f"{cid}/{iid}/assets/{key}")
        object_key = f"{item.rid}/{key}/{uuid.uuid4().hex}"
        self.store.reserve_object(object_key)
        return item, object_key

    def attach_upload(self, user: User, item: StoredItem, key: str, object_key: str, stored: StoredObject,
                      media_type: str) -> ItemRow:
        """Record streamed bytes as the item's asset `key` (replacing an older one), audited with it."""
        cid, iid = item.collection, item.id
        obj = f"{cid}/{iid}/assets/{key}"
        rec = AssetRecord(key, object_key, stored.size, stored.sha256, media_type)
        doc = self.with_assets(item, dict(item.doc))
        doc["assets"] = dict(doc.get("assets") or {}, **{key: self.asset_entry(cid, iid, rec)})
        row = validate_item(doc, cid)
        try:
            self.store.attach_asset(item, rec, row, self.batch([self.decision(
                user, "upload asset", obj, True, f"{stored.size} bytes", [item.scope])]))
        except Stale:  # relabelled, replaced or deleted while the bytes streamed
            raise self.lost_race(user, cid, iid, "upload asset", obj) from None
        self.store.collect(self.objects.delete)
        return row

    def delete_asset(self, user: User, cid: str, iid: str, key: str) -> None:
        check_id(key, "asset key")
        obj = f"{cid}/{iid}/assets/{key}"
        item = self.writable(user, cid, iid, "delete asset", obj)
        if self.store.asset(item.rid, key) is None:
            raise self.deny(user, "delete asset", obj, "no such asset", [item.scope])
        doc = dict(item.doc)
        doc["assets"] = {k: v for k, v in (doc.get("assets") or {}).items() if k != key}
        row = validate_item(doc, cid)
        try:
            self.store.detach_asset(item, key, row, self.batch([self.decision(
                user, "delete asset", obj, True, "originator's provider", [item.scope])]))
        except Stale:
            raise self.lost_race(user, cid, iid, "delete asset", obj) from None
        self.store.collect(self.objects.delete)

    def open_asset(self, user: User, cid: str, iid: str, key: str) -> tuple[StoredItem, AssetRecord, IO[bytes]]:
        """Decide a download and open its bytes (the caller closes the file); audited."""
        check_id(key, "asset key")  # before any lookup: the same 400 for every item, and no free text in audits
        obj = f"{cid}/{iid}/assets/{key}"
        item = self.readable(user, cid, iid, "download asset", obj)
        rec = self.store.asset(item.rid, key)
        path = self.objects.path(rec.object_key) if rec is not None else None
        try:
            f = open(path, "rb") if path is not None else None  # noqa: SIM115 - the caller closes it
        except FileNotFoundError:  # deleted or replaced since the lookup
            f = None
        if rec is None or f is None:
            raise self.deny(user, "download asset", obj, "no such asset", [item.scope])
        self.record(user, "download asset", obj, True, "under the item's label", [item.scope])
        return item, rec, f

    def still_readable(self, user: User, item: StoredItem, rec: AssetRecord) -> bool:
        """The download decision again: item and collection still readable to `user`, asset unchanged."""
        now = self.store.item(user, item.collection, item.id)
        return now is not None and now.rid == item.rid and self.store.asset(item.rid, rec.name) == rec
