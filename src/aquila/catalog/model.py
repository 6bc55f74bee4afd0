"""What the catalog hands out and takes in, whatever the backend: stored objects, queries, pages, events.

Backends (`aquila.catalog.backends`) return these; the API, the CLI and analytics see nothing else
of the store (no connections, no rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aquila.security.audit import Scope
from aquila.security.labels import Label

__all__ = ["StoredItem", "StoredCollection", "AssetRecord", "SearchQuery", "SearchPage", "Event", "EVENT_KINDS"]

EVENT_KINDS = ("item.created", "item.updated", "item.deleted", "asset.uploaded", "asset.deleted",
               "collection.created", "collection.updated", "collection.deleted", "collection.retired")


@dataclass(frozen=True)
class StoredItem:
    """One stored item instance: its backend row id (`rid`), collection instance (`crid`), label and document."""

    rid: int
    crid: int
    collection: str
    id: str
    label: Label
    doc: dict[str, Any]
    version: int = 0
    """Incremented by every write: a write based on an older read is refused (`Stale`)."""
    collection_label: Label | None = None
    collection_version: int = 0

    @property
    def scope(self) -> Scope:
        """What a viewer must hold to see an audit entry about this item (its and its collection's label)."""
        return Scope.of(self.label, self.collection_label)


@dataclass(frozen=True)
class StoredCollection:
    """One stored collection instance (`crid`): an id plus a label is an identity."""

    crid: int
    id: str
    label: Label
    doc: dict[str, Any]
    version: int = 0
    """Incremented by every relabel or replace: writes into it check they were based on this one."""


@dataclass(frozen=True)
class AssetRecord:
    """An uploaded asset: its key in the item, where its bytes are, and what they are."""

    name: str
    object_key: str
    size: int
    sha256: str
    media_type: str


@dataclass
class SearchQuery:
    """Parsed item-search parameters (after validation in the API layer)."""

    collections: list[str] | None = None
    ids: list[str] | None = None
    bbox: tuple[float, float, float, float] | None = None
    intersects: dict[str, Any] | None = None
    datetime_range: tuple[float, float] | None = None
    filter: dict[str, Any] | None = None
    sortby: list[tuple[str, str]] = field(default_factory=list)
    limit: int = 10
    offset: int = 0


@dataclass
class SearchPage:
    """One page of results: only what the user may read, counted the same way."""

    features: list[dict[str, Any]]
    matched: int | None  # None when more than COUNT_CAP match
    next_offset: int | None
    collection_labels: list[Label] = field(default_factory=list)
    """The label of each feature's collection instance (audit entries are scoped by both)."""


@dataclass(frozen=True)
class Event:
    """One committed change, in commit order (`seq`); see `aquila.catalog.events`."""

    seq: int
    time: str
    kind: str
    collection: str
    item: str | None
    asset: str | None
    label: Label

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.time, "kind": self.kind, "collection": self.collection,
                "item": self.item, "asset": self.asset, "label": self.label.to_properties()}
