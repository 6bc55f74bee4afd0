"""The library service: the one way to read and write the shared library, whoever asks.

The API, `aquila ingest`, the demo and analytics all come through here. Every operation

1. validates its input (`aquila.catalog.validate`),
2. decides with the policy (`security.policy.decide` inside the backend's queries for reads,
   `security.policy.may_write` for writes),
3. stores through the backend port, which writes the decision's audit entries and the change's
   events in the same transaction — or, when refused, audits the denial and raises.

Addressing by id follows the store's identity rule: a read gets the caller's preferred readable
instance; a write targets the preferred instance of the caller's own nation. A target the caller
cannot read is `NotFound` exactly like a missing one; one it can read but not change is `Forbidden`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from aquila.catalog.gcpause import gc_paused
from aquila.catalog.library_assets import AssetService
from aquila.catalog.library_base import NO_COLLECTION, as_own
from aquila.catalog.library_collections import CollectionService
from aquila.catalog.library_rules import ReleaseRuleService
from aquila.catalog.model import AssetRecord, SearchPage, SearchQuery, StoredCollection, StoredItem
from aquila.catalog.validate import ItemRow, check_id, validate_collection, validate_item
from aquila.errors import Conflict, Forbidden, InputError, Stale
from aquila.limits import MAX_FEATURES
from aquila.safejson import merge_patch
from aquila.security.audit import Scope
from aquila.security.labels import Label
from aquila.security.policy import Role, User

__all__ = ["Library", "as_own"]


def _derivation_floor(item: StoredItem) -> Label | None:
    """The label a derived product was given from its inputs (`aquila:derivation.label`), if it is one."""
    d = (item.doc.get("properties") or {}).get("aquila:derivation")
    if not isinstance(d, dict) or not isinstance(d.get("label"), dict):
        return None
    try:
        return Label.from_properties(d["label"])
    except InputError:
        return item.label  # unreadable floor: the stored label is the floor


def _at_least(label: Label, floor: Label) -> bool:
    """`label` is at least as restrictive as `floor` (higher or equal level, no wider audience, all caveats)."""
    return (label.classification >= floor.classification and label.audience <= floor.audience
            and label.caveats >= floor.caveats)


class Library(CollectionService, AssetService, ReleaseRuleService):
    """Reads, searches and writes of one instance's library, each decided and audited."""

    # --- reads -----------------------------------------------------------------------------------
    def get_item(self, user: User, cid: str, iid: str) -> StoredItem:
        item = self.readable(user, cid, iid, "read item", f"{cid}/{iid}")
        self.record(user, "read item", f"{cid}/{iid}", True, "clearance, releasability and caveats satisfied",
                    [item.scope])
        return item

    def search(self, user: User, q: SearchQuery, collection: str | None = None) -> SearchPage:
        """A page of what `user` may read; audited once for the search and once per originator of what it
        returned (naming only that originator's items, so each provider sees accesses to its own products)."""
        with gc_paused():  # a page is up to 10,000 decoded items, which hold no cycles (see gcpause)
            if collection is not None:
                self.collection(user, collection, "list items", NO_COLLECTION)
            page = self.store.search(user, q)
            action = "search" if collection is None else "list items"
            by_origin: dict[str, list[tuple[str, Scope]]] = defaultdict(list)
            parsed: dict[tuple[Any, ...], Label] = {}  # a page holds few distinct labels: parse each once
            for f, coll in zip(page.features, page.collection_labels, strict=True):
                p = f["properties"]
                key = (p.get("sec:classification"), p.get("sec:originator"), tuple(p.get("sec:releasable_to") or ()),
                       tuple(p.get("sec:caveats") or ()))
                label = parsed.get(key) or parsed.setdefault(key, Label.from_properties(p))
                by_origin[label.originator].append((f"{f['collection']}/{f['id']}", Scope.of(label, coll)))
            matched = page.matched if page.matched is not None else "over 10000"
            decisions = [self.decision(user, action, collection or "search", True,
                                       f"returned {len(page.features)} of {matched} releasable")]
            decisions += [self.decision(user, action, ",".join(o for o, _ in objs), True,
                                        f"returned {len(objs)} of this originator's items", [lab for _, lab in objs])
                          for _, objs in sorted(by_origin.items())]
            self.audit.append_many(decisions)
            return page

    # --- item writes -----------------------------------------------------------------------------
    def publish(self, user: User, cid: str, docs: Sequence[Any], *,
                assets: Mapping[str, Mapping[str, tuple[bytes, str]]] | None = None,
                also_audit: Sequence[dict[str, Any]] = ()) -> list[ItemRow]:
        """A provider publishes items into collection `cid`: all of them, or none.

        `assets` (item id -> name -> (bytes, media type)) are stored and attached in the same commit (an
        analytics product and its data appear together); `also_audit` are further decisions committed with
        the items (e.g. each release rule a derived label applied).
        """
        if not user.has(Role.PROVIDER):
            raise self.deny(user, "create item", cid, "needs the provider role", (),
                            Forbidden("create item needs the provider role"))
        target = self.collection(user, cid, "create item", NO_COLLECTION)
        if not docs:
            raise InputError("no features", field="features", expected="a STAC Item or a FeatureCollection of Items")
        if len(docs) > MAX_FEATURES:  # one write transaction holds the database: keep it short for everyone
            raise InputError(f"{len(docs)} features", field="features",
                             expected=f"at most {MAX_FEATURES} per request (or `aquila ingest` for bulk loads)")
        records: dict[str, list[AssetRecord]] = {}
        if assets:  # reserved first: bytes of a publication that fails are collected (`collect`), never served
            docs, records = self._store_new_assets(cid, docs, assets)
        return self._publish(user, cid, target, docs, records, also_audit)

    def _store_new_assets(self, cid: str, docs: Sequence[Any], assets: Mapping[str, Mapping[str, tuple[bytes, str]]]
                          ) -> tuple[list[Any], dict[str, list[AssetRecord]]]:
        records: dict[str, list[AssetRecord]] = {}
        out = []
        for d in docs:
            iid = d.get("id") if isinstance(d, dict) else None
            if isinstance(iid, str) and iid in assets:
                d = dict(d, assets=dict(d.get("assets") or {}))
                for name, (data, media_type) in assets[iid].items():
                    check_id(name, "asset key")
                    key = f"new-{uuid.uuid4().hex}/{name}/{uuid.uuid4().hex}"
                    self.store.reserve_object(key, grace_s=300.0)
                    stored = self.objects.put_bytes(key, data)
                    rec = AssetRecord(name, key, stored.size, stored.sha256, media_type)
                    records.setdefault(iid, []).append(rec)
                    d["assets"][name] = self.asset_entry(cid, iid, rec)
            out.append(d)
        return out, records

    def _publish(self, user: User, cid: str, target: StoredCollection, docs: Sequence[Any],
                 records: Mapping[str, Sequence[AssetRecord]], also_audit: Sequence[dict[str, Any]]) -> list[ItemRow]:
        rows = []
        for k, d in enumerate(docs):
            try:
                rows.append(validate_item(d, cid))
            except InputError as exc:
                if len(docs) == 1:
                    raise
                raise InputError(exc.reason, field=f"features[{k}].{exc.field}", expected=exc.expected) from None
        for row in rows:
            self.check_label(user, row.label, "create item", f"{cid}/{row.id}",
                             Scope.of(as_own(row.label, user.nation), target.label))
        try:
            self.store.create_items(user, cid, rows, target, self.batch([self.decision(
                user, "create item", f"{cid}/{row.id}", True, "provider publishing its own product",
                [Scope.of(row.label, target.label)]) for row in rows] + list(also_audit)), assets=records)
        except Stale:  # the collection was deleted, retired or relabelled meanwhile: answer as afresh
            self.collection(user, cid, "create item", NO_COLLECTION)
            raise self.deny(user, "create item", cid, "collection changed meanwhile", [],
                            Conflict("the collection changed while the items were prepared; retry")) from None
        except Conflict as exc:  # only ever an item the caller can read (see the backend)
            raise self.deny(user, "create item", cid, str(exc), [Scope.of(r.label, target.label) for r in rows],
                            exc) from None
        return rows

    def _replace(self, user: User, item: StoredItem, action: str, doc: Any) -> ItemRow:
        obj = f"{item.collection}/{item.id}"
        row = validate_item(self.with_assets(item, doc), item.collection)
        self.check_label(user, row.label, action, obj, item.scope)
        floor = _derivation_floor(item)
        if floor is not None and not _at_least(row.label, floor):
            reason = ("a derived product's label may not go below the one its inputs and their originators' "
                      "release rules gave it (properties.aquila:derivation.label)")
            raise self.deny(user, action, obj, reason, [item.scope], Forbidden(reason))
        new_scope = Scope.of(row.label, item.collection_label)
        try:
            self.store.replace_item(item, row, self.batch([self.decision(
                user, action, obj, True, "originator's provider", [item.scope, new_scope])]), writer=user)
        except Stale:
            raise self.lost_race(user, item.collection, item.id, action, obj) from None
        except Conflict as exc:  # the new label clashes with another instance the caller can read
            raise self.deny(user, action, obj, str(exc), [new_scope], exc) from None
        return row

    def update(self, user: User, cid: str, iid: str, doc: Any) -> ItemRow:
        """Replace an item (PUT): the body's id, if any, must be the item's."""
        item = self.writable(user, cid, iid, "update item")
        if isinstance(doc, dict) and doc.get("id", iid) != iid:
            raise InputError(f"{str(doc.get('id'))[:80]!r} does not match the URL", field="id", expected=repr(iid))
        return self._replace(user, item, "update item", dict(doc, id=iid) if isinstance(doc, dict) else doc)

    def patch(self, user: User, cid: str, iid: str, patch: Any) -> ItemRow:
        """JSON merge patch (RFC 7396) of an item: null removes a member, objects merge."""
        item = self.writable(user, cid, iid, "patch item")
        if not isinstance(patch, dict):
            raise InputError("body is not a JSON object", field="body", expected="a JSON merge patch object")
        if patch.get("id", iid) != iid:
            raise InputError(f"{str(patch.get('id'))[:80]!r} cannot change", field="id", expected=repr(iid))
        return self._replace(user, item, "patch item", merge_patch(item.doc, patch))

    def delete(self, user: User, cid: str, iid: str) -> None:
        """Delete an item, its asset records and (after the commit) their bytes."""
        item = self.writable(user, cid, iid, "delete item")
        try:
            self.store.delete_item(item, self.batch([self.decision(
                user, "delete item", f"{cid}/{iid}", True, "originator's provider; assets deleted with it",
                [item.scope])]))
        except Stale:
            raise self.lost_race(user, cid, iid, "delete item", f"{cid}/{iid}") from None
        self.store.collect(self.objects.delete)

    def operator_collection(self, doc: Any, subject: str = "aquila-operator") -> bool:
        """Create a collection as the instance's operator (trusted: its own CLI), audited; an existing
        instance with the same identity is left as it is (False)."""
        row = validate_collection(doc)
        try:
            self.store.create_collection(None, row)
        except Conflict:
            return False
        self.audit.append(subject=subject, nation=row.label.originator, action="create collection", obj=row.id,
                          allowed=True, reason="operator", labels=[row.label])
        return True

    def ingest(self, rows: Sequence[ItemRow], subject: str = "aquila-ingest", upsert: bool = True) -> int:
        """The operator's bulk load (trusted: the instance's own CLI): one batch atomically, audited per item."""
        entries = [dict(subject=subject, nation=r.label.originator, action="ingest item",
                        obj=f"{r.collection}/{r.id}", allowed=True, reason="operator bulk ingest",
                        labels=[r.label]) for r in rows]
        self.store.add_items(rows, upsert=upsert, in_transaction=self.batch(entries))
        return len(rows)
