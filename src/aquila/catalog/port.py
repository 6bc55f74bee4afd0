"""The catalog backend port: what the library service, the API, the CLI and analytics may ask of a store.

A backend implements `CatalogBackend` (SQLite is the embedded default, `aquila.catalog.backends.sqlite`;
PostGIS comes next) and the event log of `aquila.catalog.events`. Everything crosses this boundary
as `aquila.catalog.model` types and validated rows (`aquila.catalog.validate`): no connection, row
or SQL leaves a backend.

Every method that reads takes the `User` and applies the access rule itself (in its query, so the
cost of a read follows what the user may see). Every write takes an optional `in_transaction`
participant — the audit entries of the decision (`AuditTrail.batch`) — which the backend runs in
the write's own transaction, together with the write's events, so a write, its audit entries and
its events commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from aquila.catalog.model import AssetRecord, SearchPage, SearchQuery, StoredCollection, StoredItem
from aquila.catalog.validate import CollectionRow, ItemRow
from aquila.errors import AquilaError
from aquila.security.audit import Scope
from aquila.security.derive import ReleaseRule
from aquila.security.policy import User

__all__ = ["CatalogBackend", "InTransaction"]

InTransaction = Callable[[Any], object]
"""Runs inside a backend's write transaction with its transaction handle (e.g. an audit batch)."""


class CatalogBackend(Protocol):
    """Collections, items, assets and search of one instance, with the access rule applied inside."""

    transient_types: tuple[type[Exception], ...]
    """Backend errors that may mean load, not a bug (see `transient_error`)."""

    def transient_error(self, exc: BaseException) -> AquilaError | None:
        """The project error (`Busy`) a transient backend error stands for, or None for a real failure."""
        ...

    def close(self) -> None: ...

    # --- labels ----------------------------------------------------------------------------------
    def register_caveats(self, names: Iterable[str]) -> None:
        """Make caveats known to the instance (a backend may bound how many)."""
        ...

    # --- collections -----------------------------------------------------------------------------
    def collections(self, user: User) -> list[dict[str, Any]]: ...

    def collection(self, user: User, cid: str) -> StoredCollection:
        """The caller's preferred readable instance of `cid`; `NotFound` when none is readable."""
        ...

    def writable_collection(self, user: User, cid: str) -> StoredCollection | None:
        """The caller's own nation's instance of `cid`, if it can read one."""
        ...

    def create_collection(self, user: User | None, row: CollectionRow) -> dict[str, Any]: ...

    def update_collection(self, crid: int, row: CollectionRow,
                          in_transaction: InTransaction | None = None) -> dict[str, Any]: ...

    def delete_collection(self, user: User | None, crid: int, in_transaction: InTransaction | None = None) -> bool:
        """Delete, or retire while items hidden from `user` remain; True when deleted."""
        ...

    # --- items -----------------------------------------------------------------------------------
    def item(self, user: User, cid: str, iid: str, writable: bool = False) -> StoredItem | None:
        """The caller's preferred readable instance (`writable`: its own nation's), or None."""
        ...

    def items(self, user: User, refs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], StoredItem]:
        """Many (collection, id) at once, each as `item` gives it; unreadable ones are absent."""
        ...

    def scopes_of(self, cid: str, iid: str) -> list[Scope]:
        """The audit scopes of every instance of an id (a denial is shown to those who hold them)."""
        ...

    def create_items(self, user: User, cid: str, rows: Sequence[ItemRow], expected: StoredCollection,
                     in_transaction: InTransaction | None = None,
                     assets: Mapping[str, Sequence[AssetRecord]] | None = None) -> None:
        """Add items to the collection instance `expected` (`Stale` if it changed since, `Conflict` on a
        clash the caller can see), with the records of bytes already stored for them (item id -> assets)."""
        ...

    def add_items(self, rows: Sequence[ItemRow], *, upsert: bool = False,
                  in_transaction: InTransaction | None = None) -> int:
        """The operator's bulk form: one batch atomically, into each row's collection."""
        ...

    def replace_item(self, item: StoredItem, row: ItemRow, in_transaction: InTransaction | None = None,
                     writer: User | None = None) -> None: ...

    def delete_item(self, item: StoredItem, in_transaction: InTransaction | None = None) -> None:
        """Delete the item and its asset records; their bytes are queued for `collect`."""
        ...

    def count(self) -> int: ...

    def search(self, user: User, q: SearchQuery, max_page_bytes: int = ...) -> SearchPage: ...

    # --- assets ----------------------------------------------------------------------------------
    def assets(self, rid: int) -> list[AssetRecord]: ...

    def asset(self, rid: int, name: str) -> AssetRecord | None: ...

    def reserve_object(self, object_key: str, grace_s: float = ...) -> None:
        """Note bytes about to be written, so they are collected unless `attach_asset` claims them."""
        ...

    def attach_asset(self, item: StoredItem, record: AssetRecord, row: ItemRow,
                     in_transaction: InTransaction | None = None) -> None: ...

    def detach_asset(self, item: StoredItem, name: str, row: ItemRow,
                     in_transaction: InTransaction | None = None) -> None: ...

    def collect(self, delete: Callable[[str], None]) -> int:
        """Delete the bytes of removed or never-attached assets (after their commit); returns how many."""
        ...

    # --- release rules -----------------------------------------------------------------------------
    def release_rules(self, nations: Iterable[str]) -> list[ReleaseRule]:
        """The release rules of these nations (trusted callers: the library service decides who asks)."""
        ...

    def release_rule(self, nation: str, rule_id: str) -> ReleaseRule | None: ...

    def put_release_rule(self, rule: ReleaseRule, create_only: bool = False,
                         in_transaction: InTransaction | None = None) -> bool:
        """Store a rule (`Conflict` if `create_only` and the nation has that id); True when new."""
        ...

    def delete_release_rule(self, nation: str, rule_id: str, in_transaction: InTransaction | None = None) -> bool:
        """False, with nothing written, when the nation has no rule of that id."""
        ...
