"""The shared library: a labelled STAC catalog (embedded SQLite store) and its object store."""

from aquila.catalog.store import CatalogStore, SearchQuery, validate_collection, validate_item

__all__ = ["CatalogStore", "SearchQuery", "validate_collection", "validate_item"]
