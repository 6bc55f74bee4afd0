"""What every part of the library service shares: the store, the audit trail, and the decisions by id.

Addressing by id follows the store's identity rule: a read gets the caller's preferred readable
instance; a write targets the preferred instance of the caller's own nation. A target the caller
cannot read is `NotFound` exactly like a missing one (audited); one it can read but not change is
`Forbidden` (audited too, shown to the object's own nation).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from aquila.catalog.model import AssetRecord, StoredCollection, StoredItem
from aquila.catalog.objects import ObjectStore
from aquila.catalog.port import CatalogBackend
from aquila.errors import Conflict, Forbidden, NotFound
from aquila.security.audit import AuditTrail, Scope
from aquila.security.labels import Label
from aquila.security.policy import Role, User, may_write

__all__ = ["LibraryBase", "NO_COLLECTION", "as_own"]

NO_COLLECTION = "collection not found or not releasable"


def as_own(label: Label, nation: str) -> Label:
    """`label` attributed to `nation`: a refused write is the writer's nation's business, not the one it named."""
    return Label(label.classification, nation, frozenset(), label.caveats)


class LibraryBase:
    """The store, the objects and the audit trail of one instance, and the decisions shared by all parts."""

    def __init__(self, store: CatalogBackend, audit: AuditTrail, objects: ObjectStore) -> None:
        self.store = store
        self.audit = audit
        self.objects = objects

    # --- audit -----------------------------------------------------------------------------------
    @staticmethod
    def decision(user: User, action: str, obj: str, allowed: bool, reason: str,
                 labels: Iterable[Label | Scope] = ()) -> dict[str, Any]:
        """An audit entry; `labels` are those of the objects it concerns (their nations' cleared viewers see it)."""
        return dict(subject=user.subject, nation=user.nation, action=action, obj=obj[:2000], allowed=allowed,
                    reason=reason, labels=list(labels))

    def record(self, user: User, action: str, obj: str, allowed: bool, reason: str,
               labels: Iterable[Label | Scope] = ()) -> None:
        self.audit.append_many([self.decision(user, action, obj, allowed, reason, labels)])

    def batch(self, decisions: Sequence[dict[str, Any]]) -> Any:
        """Audit entries to commit inside a write's own transaction."""
        return self.audit.batch(decisions)

    def deny(self, user: User, action: str, obj: str, reason: str, labels: Iterable[Label | Scope] = (),
             exc: Exception | None = None) -> Exception:
        """Audit a denial and return the exception to raise (NotFound unless given)."""
        self.record(user, action, obj, False, reason, labels)
        return exc if exc is not None else NotFound(obj)

    def require_role(self, user: User, role: Role, action: str, obj: str) -> None:
        if not user.has(role):
            raise self.deny(user, action, obj, f"needs the {role.value} role", (),
                            Forbidden(f"{action} needs the {role.value} role"))

    # --- decisions by id ---------------------------------------------------------------------------
    def collection(self, user: User, cid: str, action: str = "read collection",
                   reason: str = "not found or not releasable") -> StoredCollection:
        """The caller's preferred readable instance of `cid`, or an audited `NotFound` (`action` denied for
        `reason`); a successful read is not audited here: the caller records what it did with it."""
        try:
            return self.store.collection(user, cid)
        except NotFound:
            raise self.deny(user, action, cid, reason) from None

    def readable(self, user: User, cid: str, iid: str, action: str, obj: str) -> StoredItem:
        """The caller's preferred readable instance, or an audited `NotFound`."""
        item = self.store.item(user, cid, iid)
        if item is None:
            raise self.deny(user, action, obj, "not found or not releasable", self.store.scopes_of(cid, iid))
        return item

    def writable(self, user: User, cid: str, iid: str, action: str, obj: str | None = None) -> StoredItem:
        """The caller's own-nation instance: `NotFound` unless it can read one, `Forbidden` unless it may change it."""
        obj = obj or f"{cid}/{iid}"
        item = self.store.item(user, cid, iid, writable=True) if user.has(Role.PROVIDER) else None
        if item is not None:
            return item
        seen = self.store.item(user, cid, iid)
        if seen is None:
            raise self.deny(user, action, obj, "not found or not releasable", self.store.scopes_of(cid, iid))
        if not user.has(Role.PROVIDER):
            raise self.deny(user, action, obj, "needs the provider role", [seen.scope],
                            Forbidden(f"{action} needs the provider role"))
        raise self.deny(user, action, obj, f"originator {seen.label.originator} is not the provider's nation",
                        [seen.scope], Forbidden(f"a {user.nation} provider may change only {user.nation}'s items"))

    def lost_race(self, user: User, cid: str, iid: str, action: str, obj: str) -> Exception:
        """A write based on a read the item has since outlived: 404/403 as if asked afresh (it may now be
        relabelled out of the caller's sight, or deleted), else 409 asking to read again and retry."""
        now = self.writable(user, cid, iid, action, obj)  # raises the 404 or 403 (audited) when it applies
        return self.deny(user, action, obj, "changed while the write was prepared", [now.scope],
                         Conflict("the item changed while your write was prepared; read it again and retry"))

    def check_label(self, user: User, label: Label, action: str, obj: str, owner: Label | Scope) -> None:
        """`Forbidden` unless the user may write `label`; the denial is shown to `owner` (the stored object's
        label, or the requested one as the writer's own nation's for a create), never to the nation the body
        names."""
        d = may_write(user, label)
        if not d:
            raise self.deny(user, action, obj, d.reason, [owner], Forbidden(d.reason))

    def with_assets(self, item: StoredItem, doc: Any) -> Any:
        """Uploaded assets are the server's to describe: their entries override the body's."""
        recs = self.store.assets(item.rid)
        if recs and isinstance(doc, dict):
            assets = dict(doc.get("assets") or {}) if isinstance(doc.get("assets"), dict) else {}
            for rec in recs:
                assets[rec.name] = self.asset_entry(item.collection, item.id, rec)
            doc = dict(doc, assets=assets)
        return doc

    @staticmethod
    def asset_entry(cid: str, iid: str, rec: AssetRecord) -> dict[str, Any]:
        """The STAC asset object of an uploaded asset (href relative to the API root)."""
        return {"href": f"/collections/{cid}/items/{iid}/assets/{rec.name}", "type": rec.media_type,
                "roles": ["data"], "file:size": rec.size, "file:checksum": "1220" + rec.sha256}

