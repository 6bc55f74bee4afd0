"""Collections in the library service: read under their label, created and changed by their nation's admins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aquila.catalog.library_base import LibraryBase, as_own
from aquila.catalog.model import StoredCollection
from aquila.catalog.validate import validate_collection
from aquila.errors import Conflict, Forbidden, InputError
from aquila.security.policy import Role, User, may_write

if TYPE_CHECKING:
    pass

__all__ = ["CollectionService"]


class CollectionService(LibraryBase):
    """The collection half of `aquila.catalog.library.Library` (which provides the store and the audit)."""

    def collections(self, user: User) -> list[dict[str, Any]]:
        """Every collection instance the user may read (audited as one listing)."""
        cols = self.store.collections(user)
        self.record(user, "list collections", "", True, f"{len(cols)} releasable")
        return cols

    def get_collection(self, user: User, cid: str) -> StoredCollection:
        found = self.collection(user, cid)
        self.record(user, "read collection", cid, True, "releasable", [found.label])
        return found

    def create_collection(self, user: User, doc: Any) -> dict[str, Any]:
        cid = str(doc.get("id", ""))[:256] if isinstance(doc, dict) else ""
        self.require_role(user, Role.ADMIN, "create collection", cid)
        row = validate_collection(doc)
        d = may_write(user, row.label, Role.ADMIN)
        if not d:
            raise self.deny(user, "create collection", row.id, d.reason, [as_own(row.label, user.nation)],
                            Forbidden(d.reason))
        try:
            out = self.store.create_collection(user, row)
        except Conflict as exc:  # only when the caller can read a collection with this id
            raise self.deny(user, "create collection", row.id, str(exc), [row.label], exc) from None
        self.record(user, "create collection", row.id, True, "admin of the originator", [row.label])
        return out

    def writable_collection(self, user: User, cid: str, action: str) -> StoredCollection:
        """The caller's own-nation instance: `NotFound` unless it can read one, `Forbidden` unless it may change it."""
        self.require_role(user, Role.ADMIN, action, cid)
        target = self.store.writable_collection(user, cid)
        if target is not None:
            return target
        seen = self.collection(user, cid, action)
        raise self.deny(user, action, cid, f"originator {seen.label.originator} is not the admin's nation",
                        [seen.label], Forbidden(f"a {user.nation} admin may change only {user.nation}'s collections"))

    def update_collection(self, user: User, cid: str, doc: Any) -> dict[str, Any]:
        target = self.writable_collection(user, cid, "update collection")
        if isinstance(doc, dict) and doc.get("id", cid) != cid:
            raise InputError(f"{str(doc.get('id'))[:80]!r} does not match the URL", field="id", expected=repr(cid))
        row = validate_collection(dict(doc, id=cid) if isinstance(doc, dict) else doc)
        d = may_write(user, row.label, Role.ADMIN)  # the old label was readable; the new one must be writable
        if not d:
            raise self.deny(user, "update collection", cid, d.reason, [target.label], Forbidden(d.reason))
        try:
            return self.store.update_collection(target.crid, row, self.batch([self.decision(
                user, "update collection", cid, True, "admin of the originator", [target.label, row.label])]))
        except Conflict as exc:
            raise self.deny(user, "update collection", cid, str(exc), [row.label], exc) from None

    def delete_collection(self, user: User, cid: str) -> None:
        target = self.writable_collection(user, cid, "delete collection")
        try:
            self.store.delete_collection(user, target.crid, self.batch([self.decision(
                user, "delete collection", cid, True, "admin of the originator", [target.label])]))
        except Conflict as exc:
            raise self.deny(user, "delete collection", cid, str(exc), [target.label], exc) from None
