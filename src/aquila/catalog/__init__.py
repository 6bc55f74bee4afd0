"""The shared library: a labelled STAC catalog behind a backend port, its object store and its events.

`CatalogStore` is the embedded default backend (SQLite); `aquila.catalog.port.CatalogBackend` is
what any backend implements; `aquila.catalog.library.Library` is the one publish path.
"""

from aquila.catalog.backends.sqlite import CatalogStore
from aquila.catalog.model import (
    AssetRecord,
    Event,
    SearchPage,
    SearchQuery,
    StoredCollection,
    StoredItem,
)
from aquila.catalog.port import CatalogBackend
from aquila.catalog.validate import validate_collection, validate_item
from aquila.errors import Conflict, NotFound

__all__ = ["AssetRecord", "CatalogBackend", "CatalogStore", "Conflict", "Event", "NotFound", "SearchPage",
           "SearchQuery", "StoredCollection", "StoredItem", "validate_collection", "validate_item"]
