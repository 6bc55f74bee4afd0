"""The STAC API over HTTP (FastAPI): routers per concern, assembled by `create_app`."""

from aquila.api.app import conformance_classes, create_app
from aquila.instance import Instance

__all__ = ["Instance", "conformance_classes", "create_app"]
