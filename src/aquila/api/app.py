"""The shared library over HTTP: a STAC API 1.x with labels enforced and every decision audited.

Core, collections, features, item search (GET/POST) with filter (CQL2 text/JSON), sort, fields,
and transactions. Every request carries a bearer token; an object the caller may not read
answers exactly as a missing one (404); writes follow `security.policy.may_write`. The routes are
thin: each router (`aquila.api.routes`) parses HTTP and calls the library service
(`aquila.catalog.library`), which decides, stores and audits. `create_app` only assembles them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from aquila.api.errors import error_response, install_error_handlers
from aquila.api.routes import ROUTERS
from aquila.api.routes.web import wants_picture
from aquila.config import Settings
from aquila.dissemination import Dissemination
from aquila.instance import Instance
from aquila.orbits.outlook import instance_outlook

__all__ = ["create_app", "conformance_classes"]

_SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                     "X-Frame-Options": "DENY"}


def conformance_classes() -> list[str]:
    """What the assembled API conforms to: the union of its routers' declarations, in their order."""
    out: list[str] = []
    for module in ROUTERS:
        out += [c for c in module.CONFORMANCE if c not in out]
    return out


def _is_asset_path(path: str) -> bool:
    parts = path.strip("/").split("/")
    return len(parts) == 6 and parts[0] == "collections" and parts[2] == "items" and parts[4] == "assets"


def create_app(instance: Instance, settings: Settings | None = None) -> FastAPI:
    """The FastAPI application over one instance (no global state; tests make several)."""
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """Served with a lifespan (`aquila serve`): alerts are dispatched from the start, not from the first
        alert request; stopped with the server."""
        app.state.dissemination.dispatcher()
        app.state.outlook.start()
        yield
        app.state.dissemination.close()
        tiles = getattr(app.state, "footprint_tiles", None)
        if tiles is not None:
            tiles.close()
            app.state.footprint_tiles_events.close()

    app = FastAPI(title="Aquila shared library", version="0.1.0", docs_url=None, openapi_url=None,
                  description="STAC API with security labels enforced per user and every decision audited.",
                  lifespan=lifespan)
    app.state.instance = instance
    app.state.settings = settings if settings is not None else Settings()
    app.state.conformance = conformance_classes()
    settings = app.state.settings
    app.state.dissemination = Dissemination(instance, settings.webhook_allow, settings.webhook_retry_s,
                                            settings.webhook_timeout_s)
    app.state.outlook = instance_outlook(settings.aois, settings.data_dir, settings.outlook_hours, settings.step_s,
                                         settings.outlook_publish_step_s)
    install_error_handlers(app, instance)

    @app.middleware("http")
    async def _edge(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """Refuse a declared oversized body before reading it; security headers on every answer."""
        length = request.headers.get("content-length")
        response: Response | None = None
        if length is not None and not _is_asset_path(request.url.path):
            if not length.isdigit() or len(length) > 18:
                response = error_response(400, "BadRequest", "invalid Content-Length", "Content-Length", "a byte count")
            elif int(length) > instance.max_body_bytes:
                response = error_response(413, "PayloadTooLarge", f"body of {length} bytes", "body",
                                          f"at most {instance.max_body_bytes} bytes (AQUILA_MAX_BODY_BYTES)",
                                          headers={"Connection": "close"})
        if response is None and wants_picture(request):
            response = RedirectResponse("/cop/", status_code=303)
        if response is None:
            response = await call_next(request)
        for k, v in _SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    for module in ROUTERS:
        app.include_router(module.router)
    return app
