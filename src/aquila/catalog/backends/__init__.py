"""Catalog backends: each implements `aquila.catalog.port.CatalogBackend` (SQLite is the embedded default)."""

__all__: list[str] = []
