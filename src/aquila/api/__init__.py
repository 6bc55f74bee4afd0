"""HTTP API over the catalog and the security core."""

from aquila.api.app import CONFORMANCE, Instance, create_app

__all__ = ["CONFORMANCE", "Instance", "create_app"]
