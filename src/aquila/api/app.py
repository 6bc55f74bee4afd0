"""The shared library over HTTP: a STAC API 1.x with labels enforced and every decision audited.

Core, collections, features, item search (GET/POST) with filter (CQL2 text/JSON), sort, fields,
and transactions. Every request carries a bearer token; an object the caller may not read
answers exactly as a missing one (404); writes follow `security.policy.may_write`. One JSON
error shape: {"code", "description", "field", "expected"}, from one exception table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from aquila.api import items as items_routes
from aquila.api import search as search_routes
from aquila.api.context import Api, Instance, as_own, error_response
from aquila.api.schemas import COLLECTION_BODY, CONFORMANCE, OPENAPI
from aquila.catalog.model import StoredCollection
from aquila.catalog.validate import validate_collection
from aquila.errors import STATUS, AquilaError, AuthenticationError, Conflict, Forbidden, InputError, NotFound
from aquila.security.policy import Role, User, may_write

__all__ = ["create_app", "Forbidden", "CONFORMANCE", "Instance"]

_SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                     "X-Frame-Options": "DENY"}


def _is_asset_path(path: str) -> bool:
    parts = path.strip("/").split("/")
    return len(parts) == 6 and parts[0] == "collections" and parts[2] == "items" and parts[4] == "assets"


def create_app(instance: Instance) -> FastAPI:
    """The FastAPI application over one instance (no global state; tests make several)."""
    app = FastAPI(title="Aquila shared library", version="0.1.0", docs_url=None, openapi_url=None,
                  description="STAC API with security labels enforced per user and every decision audited.")
    api = Api(instance)
    store = instance.store
    app.state.instance = instance

    # --- errors: one shape, one table -------------------------------------------------------------
    @app.exception_handler(AquilaError)
    async def _aquila_error(request: Request, exc: AquilaError) -> JSONResponse:
        for kind, status, code in STATUS:
            if isinstance(exc, kind):
                if isinstance(exc, NotFound):
                    return error_response(404, code, "no such resource")
                if isinstance(exc, AuthenticationError):
                    return error_response(401, code, str(exc), "Authorization",
                                          "Authorization: Bearer <token from aquila token>",
                                          headers={"WWW-Authenticate": "Bearer"})
                if isinstance(exc, InputError):
                    return error_response(status, code, str(exc), exc.field, exc.expected,
                                          headers={"Connection": "close"} if status == 413 else None)
                if status in (429, 503):
                    return error_response(status, code, str(exc), headers={"Retry-After": "1"})
                return error_response(status, code, str(exc))
        raise exc  # not user input: a bug, answered 500 by the server

    async def _transient(request: Request, exc: Exception) -> JSONResponse:
        mapped = store.transient_error(exc)  # load, not input (a locked database): ask to come back
        if mapped is None:
            raise exc
        return await _aquila_error(request, mapped)

    for kind in store.transient_types:
        app.add_exception_handler(kind, _transient)

    @app.exception_handler(RequestValidationError)
    async def _val(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = ".".join(str(x) for x in first.get("loc", []) if x not in ("body", "query", "path"))
        return error_response(400, "BadRequest", str(first.get("msg", "invalid request"))[:300], loc or None, None)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, "NotFound" if exc.status_code == 404 else "HTTPError", str(exc.detail))

    @app.middleware("http")
    async def _edge(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        response: Response | None = None
        if length is not None and not _is_asset_path(request.url.path):
            if not length.isdigit() or len(length) > 18:
                response = error_response(400, "BadRequest", "invalid Content-Length", "Content-Length", "a byte count")
            elif int(length) > instance.max_body_bytes:
                response = error_response(413, "PayloadTooLarge", f"body of {length} bytes", "body",
                                          f"at most {instance.max_body_bytes} bytes (AQUILA_MAX_BODY_BYTES)",
                                          headers={"Connection": "close"})
        if response is None:
            response = await call_next(request)
        for k, v in _SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    # --- OpenAPI description (public, like any service description) --------------------------------
    @app.get("/api", include_in_schema=False)
    def openapi_doc() -> JSONResponse:
        return JSONResponse(app.openapi(), media_type=OPENAPI)

    @app.get("/api.html", include_in_schema=False)
    def openapi_html() -> Response:
        from fastapi.openapi.docs import get_swagger_ui_html

        return get_swagger_ui_html(openapi_url="/api", title="Aquila API")

    # --- landing, conformance, queryables --------------------------------------------------------
    @app.get("/")
    def landing(request: Request) -> JSONResponse:
        api.user(request)
        b = api.base(request)
        geojson = "application/geo+json"
        return JSONResponse({
            "type": "Catalog", "stac_version": "1.1.0", "id": "aquila", "title": "Aquila shared library",
            "description": "Allied ISR products; each user sees exactly what their labels release to them.",
            "conformsTo": CONFORMANCE,
            "links": [
                {"rel": "self", "type": "application/json", "href": f"{b}/"},
                {"rel": "root", "type": "application/json", "href": f"{b}/"},
                {"rel": "conformance", "type": "application/json", "href": f"{b}/conformance"},
                {"rel": "data", "type": "application/json", "href": f"{b}/collections"},
                {"rel": "search", "type": geojson, "href": f"{b}/search", "method": "GET"},
                {"rel": "search", "type": geojson, "href": f"{b}/search", "method": "POST"},
                {"rel": "service-desc", "type": OPENAPI, "href": f"{b}/api"},
                {"rel": "service-doc", "type": "text/html", "href": f"{b}/api.html"},
                {"rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "type": "application/schema+json",
                 "href": f"{b}/queryables"},
            ]})

    @app.get("/conformance")
    def conformance(request: Request) -> JSONResponse:
        api.user(request)
        return JSONResponse({"conformsTo": CONFORMANCE})

    def queryables_doc(request: Request, cid: str | None) -> JSONResponse:
        return JSONResponse({
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "$id": f"{api.base(request)}/{'collections/' + cid + '/' if cid else ''}queryables",
            "type": "object", "title": "Queryables",
            "properties": {
                "id": {"type": "string"}, "collection": {"type": "string"},
                "datetime": {"type": "string", "format": "date-time"},
                "geometry": {"$ref": "https://geojson.org/schema/Geometry.json"},
                "sec:classification": {"type": "string", "enum": ["NU", "NR", "NC", "NS", "CTS"]},
                "sec:originator": {"type": "string"},
                "eo:cloud_cover": {"type": "number"}, "platform": {"type": "string"},
            },
            "additionalProperties": True}, media_type="application/schema+json")

    @app.get("/queryables")
    def queryables(request: Request) -> JSONResponse:
        api.user(request)
        return queryables_doc(request, None)

    @app.get("/collections/{cid}/queryables")
    def collection_queryables(cid: str, request: Request) -> JSONResponse:
        user = api.user(request)
        try:
            store.collection(user, cid)
        except NotFound:
            raise api.deny(user, "read queryables", cid, "collection not found or not releasable") from None
        return queryables_doc(request, cid)

    # --- collections ------------------------------------------------------------------------------
    @app.get("/collections")
    def collections(request: Request) -> JSONResponse:
        user = api.user(request)
        cols = [api.collection_links(request, c) for c in store.collections(user)]
        api.record(user, "list collections", "", True, f"{len(cols)} releasable")
        b = api.base(request)
        return JSONResponse({"collections": cols, "links": [
            {"rel": "self", "type": "application/json", "href": f"{b}/collections"},
            {"rel": "root", "type": "application/json", "href": f"{b}/"},
            {"rel": "parent", "type": "application/json", "href": f"{b}/"}]})

    @app.get("/collections/{cid}")
    def collection(cid: str, request: Request) -> JSONResponse:
        user = api.user(request)
        try:
            found = store.collection(user, cid)
        except NotFound:
            raise api.deny(user, "read collection", cid, "not found or not releasable") from None
        api.record(user, "read collection", cid, True, "releasable", [found.label])
        return JSONResponse(api.collection_links(request, found.doc))

    def require_admin(user: User, action: str, obj: str) -> None:
        if not user.has(Role.ADMIN):
            raise api.deny(user, action, obj, "needs the admin role", (), Forbidden(f"{action} needs the admin role"))

    @app.post("/collections", status_code=201, openapi_extra=COLLECTION_BODY)
    async def create_collection(request: Request) -> JSONResponse:
        user, body = await api.caller_and_body(request)
        return await run_in_threadpool(new_collection, request, user, body)

    def new_collection(request: Request, user: User, body: Any) -> JSONResponse:
        cid = str(body.get("id", ""))[:256] if isinstance(body, dict) else ""
        require_admin(user, "create collection", cid)
        row = validate_collection(body)
        d = may_write(user, row.label, Role.ADMIN)
        if not d:
            raise api.deny(user, "create collection", row.id, d.reason, [as_own(row.label, user.nation)],
                           Forbidden(d.reason))
        try:
            out = store.create_collection(user, row)
        except Conflict as exc:  # only when the caller can read a collection with this id
            raise api.deny(user, "create collection", row.id, str(exc), [row.label], exc) from None
        api.record(user, "create collection", row.id, True, "admin of the originator", [row.label])
        return JSONResponse(api.collection_links(request, out), status_code=201)

    def writable_collection(user: User, cid: str, action: str) -> StoredCollection:
        """The caller's own-nation instance: 404 unless it can read one, 403 unless it may change it."""
        require_admin(user, action, cid)
        target = store.writable_collection(user, cid)
        if target is not None:
            return target
        try:
            seen = store.collection(user, cid)
        except NotFound:
            raise api.deny(user, action, cid, "not found or not releasable") from None
        raise api.deny(user, action, cid, f"originator {seen.label.originator} is not the admin's nation",
                       [seen.label], Forbidden(f"a {user.nation} admin may change only {user.nation}'s "
                                                          "collections"))

    @app.put("/collections/{cid}", openapi_extra=COLLECTION_BODY)
    async def update_collection(cid: str, request: Request) -> JSONResponse:
        user, body = await api.caller_and_body(request)
        return await run_in_threadpool(put_collection, request, user, cid, body)

    def put_collection(request: Request, user: User, cid: str, body: Any) -> JSONResponse:
        target = writable_collection(user, cid, "update collection")
        if isinstance(body, dict) and body.get("id", cid) != cid:
            raise InputError(f"{str(body.get('id'))[:80]!r} does not match the URL", field="id", expected=repr(cid))
        row = validate_collection(dict(body, id=cid) if isinstance(body, dict) else body)
        d = may_write(user, row.label, Role.ADMIN)  # the old label was readable; the new one must be writable
        if not d:
            raise api.deny(user, "update collection", cid, d.reason, [target.label], Forbidden(d.reason))
        try:
            out = store.update_collection(target.crid, row, api.batch([api.decision(
                user, "update collection", cid, True, "admin of the originator", [target.label, row.label])]))
        except Conflict as exc:
            raise api.deny(user, "update collection", cid, str(exc), [row.label], exc) from None
        return JSONResponse(api.collection_links(request, out))

    @app.delete("/collections/{cid}")
    def delete_collection(cid: str, request: Request) -> Response:
        user = api.user(request)
        target = writable_collection(user, cid, "delete collection")
        try:
            store.delete_collection(user, target.crid, api.batch([api.decision(
                user, "delete collection", cid, True, "admin of the originator", [target.label])]))
        except Conflict as exc:
            raise api.deny(user, "delete collection", cid, str(exc), [target.label], exc) from None
        return Response(status_code=204)

    app.include_router(items_routes.router(api))
    app.include_router(search_routes.router(api))

    # --- audit --------------------------------------------------------------------------------------
    @app.get("/audit")
    def audit_list(request: Request, originator: str | None = None, after: int = Query(0, ge=0, le=2**62),
                   limit: int = Query(100, ge=1, le=1000)) -> JSONResponse:
        """Accesses to the caller's nation's objects (providers and admins); the whole log is the operator's (CLI)."""
        user = api.user(request)
        wanted = originator if originator is not None else user.nation
        if not (user.has(Role.PROVIDER) or user.has(Role.ADMIN)):
            raise api.deny(user, "read audit", wanted[:40], "needs the provider or admin role", (),
                           Forbidden("reading the audit log needs the provider or admin role"))
        if wanted != user.nation:
            raise api.deny(user, "read audit", wanted[:40], "a nation reads accesses to its own objects only", (),
                           Forbidden(f"a {user.nation} provider may read ?originator={user.nation} only"))
        # only entries about the nation's objects, and of those only what the caller is cleared for
        entries, cursor = api.audit.entries_page(originator=wanted, after=after, limit=limit,
                                                 viewer=(int(user.clearance), user.caveats))
        api.record(user, "read audit", wanted, True, "accesses to the nation's own objects")
        return JSONResponse({"entries": [e.as_dict() for e in entries], "next_after": cursor})

    return app
