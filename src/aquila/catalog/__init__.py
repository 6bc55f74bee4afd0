"""The shared library: a labelled STAC catalog (embedded SQLite store) and its object store."""

from aquila.catalog.search import SearchPage, SearchQuery
from aquila.catalog.store import CatalogStore, StoredCollection, StoredItem
from aquila.catalog.validate import validate_collection, validate_item
from aquila.errors import Conflict, NotFound

__all__ = ["CatalogStore", "Conflict", "NotFound", "SearchPage", "SearchQuery", "StoredCollection", "StoredItem",
           "validate_collection", "validate_item"]
