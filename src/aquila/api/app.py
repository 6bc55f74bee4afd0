"""The shared library over HTTP: a STAC API 1.x with labels enforced and every decision audited.

Core, collections, features, item search (GET/POST) with filter (CQL2 text/JSON), sort, fields,
and transactions. Every request carries a bearer token; an item the caller may not read answers
exactly as a missing one (404); writes need the provider role and the provider's own nation as
originator. One JSON error shape: {"code", "description", "field", "expected"}.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from aquila.catalog.cql2sql import parse_filter
from aquila.catalog.objects import LocalObjectStore, TooLarge
from aquila.catalog.store import (RFC3339, CatalogStore, Conflict, NotFound, SearchQuery, decode_token, encode_token,
                                  validate_geometry, validate_item)
from aquila.errors import AquilaError, InputError
from aquila.security.audit import AuditLog
from aquila.security.labels import Label
from aquila.security.policy import Role, User, decide
from aquila.security.tokens import AuthenticationError, OidcIssuer, TokenIssuer

__all__ = ["create_app", "Forbidden", "CONFORMANCE", "Instance"]

GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
MAX_LIMIT = 10000

CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#filter",
    "https://api.stacspec.org/v1.0.0/item-search#sort",
    "https://api.stacspec.org/v1.0.0/item-search#fields",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#sort",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#fields",
    "https://api.stacspec.org/v1.0.0/ogcapi-features/extensions/transaction",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/simpletx",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-operators",
]


_LABEL_PROPS = {
    "sec:classification": {"type": "string", "enum": ["NU", "NR", "NC", "NS", "CTS"]},
    "sec:releasable_to": {"type": "array", "items": {"type": "string"}},
    "sec:caveats": {"type": "array", "items": {"type": "string"}},
    "sec:originator": {"type": "string"},
}
SEARCH_BODY_SCHEMA = {"type": "object", "properties": {
    "collections": {"type": "array", "items": {"type": "string"}},
    "ids": {"type": "array", "items": {"type": "string"}},
    "bbox": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 6},
    "intersects": {"type": "object"}, "datetime": {"type": "string"},
    "limit": {"type": "integer"}, "token": {"type": "string"},
    "filter": {"oneOf": [{"type": "object"}, {"type": "string"}]}, "filter-lang": {"type": "string"},
    "sortby": {"type": "array", "items": {"type": "object", "properties": {
        "field": {"type": "string"}, "direction": {"type": "string", "enum": ["asc", "desc"]}}}},
    "fields": {"type": "object", "properties": {"include": {"type": "array", "items": {"type": "string"}},
                                                "exclude": {"type": "array", "items": {"type": "string"}}}}}}
ITEM_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["type", "id", "geometry", "properties"], "properties": {
        "type": {"type": "string", "enum": ["Feature"]}, "id": {"type": "string"},
        "geometry": {"type": "object", "properties": {"type": {"type": "string"},
                                                      "coordinates": {"type": "array"}}},
        "properties": {"type": "object", "properties": {"datetime": {"type": "string"}, **_LABEL_PROPS}},
        "links": {"type": "array"}, "assets": {"type": "object"}}}}}}}
COLLECTION_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["type", "id"], "properties": {
        "type": {"type": "string", "enum": ["Collection"]}, "id": {"type": "string"},
        "description": {"type": "string"}, **_LABEL_PROPS}}}}}}


class Forbidden(AquilaError):
    """Authenticated but not allowed to do this (HTTP 403): wrong role or foreign originator."""


class PayloadTooLarge(AquilaError):
    pass


def _is_asset_path(path: str) -> bool:
    parts = path.strip("/").split("/")
    return len(parts) == 6 and parts[0] == "collections" and parts[2] == "items" and parts[4] == "assets"


def _error(status: int, code: str, description: str, field: str | None = None, expected: str | None = None,
           headers: dict[str, str] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "description": description}
    if field:
        body["field"] = field
    if expected:
        body["expected"] = expected
    return JSONResponse(body, status_code=status, headers=headers)


@dataclass
class Instance:
    """Everything one running catalog needs, opened from its data directory."""

    data_dir: Path
    store: CatalogStore
    audit: AuditLog
    tokens: TokenIssuer
    objects: LocalObjectStore
    max_body_bytes: int = 5 * 1024 * 1024
    max_asset_bytes: int = 1024 * 1024 * 1024

    @classmethod
    def open(cls, data_dir: str | Path, max_body_bytes: int = 5 * 1024 * 1024,
             max_asset_bytes: int = 1024 * 1024 * 1024, oidc: OidcIssuer | None = None) -> Instance:
        d = Path(data_dir)
        d.mkdir(parents=True, exist_ok=True)
        # The audit log lives in the catalog's database file so that a write and its audit entries
        # commit in one transaction.
        return cls(d, CatalogStore(d / "catalog.db"), AuditLog(d / "catalog.db"), TokenIssuer(d, oidc=oidc),
                   LocalObjectStore(d / "assets"), max_body_bytes, max_asset_bytes)


def _parse_datetime(value: str) -> tuple[float, float]:
    expected = "an RFC 3339 date-time, or an interval start/end with .. for an open end"

    def one(v: str) -> float:
        if not RFC3339.match(v.strip()):
            raise InputError(f"{value!r}", field="datetime", expected=expected)
        try:
            t = datetime.fromisoformat(v.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise InputError(f"{value!r}", field="datetime", expected=expected) from None
        if t.tzinfo is None:
            raise InputError(f"{value!r} has no time zone", field="datetime", expected=expected)
        return t.timestamp()

    if "/" in value:
        a, b = value.split("/", 1)
        lo = -math.inf if a in ("", "..") else one(a)
        hi = math.inf if b in ("", "..") else one(b)
        if a in ("", "..") and b in ("", ".."):
            raise InputError(f"{value!r}", field="datetime", expected=expected)
        if lo > hi:
            raise InputError(f"{value!r}: start after end", field="datetime", expected=expected)
        return lo, hi
    t = one(value)
    return t, t


def _parse_bbox(value: Any) -> tuple[float, float, float, float]:
    expected = "west,south,east,north (or 6 numbers with heights), degrees"
    try:
        nums = [float(x) for x in (value.split(",") if isinstance(value, str) else value)]
    except (TypeError, ValueError):
        raise InputError(f"{value!r}", field="bbox", expected=expected) from None
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if len(nums) != 4 or not all(math.isfinite(x) for x in nums):
        raise InputError(f"{value!r}", field="bbox", expected=expected)
    w, s, e, n = nums
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90):
        raise InputError(f"{value!r}", field="bbox", expected=expected + " with south <= north")
    return w, s, e, n


def _parse_sortby(value: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if value is None:
        return out
    if isinstance(value, str):
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            direction = "desc" if part.startswith("-") else "asc"
            out.append((part.lstrip("+- "), direction))
    elif isinstance(value, list):
        for s in value:
            if not isinstance(s, dict) or not isinstance(s.get("field"), str) or \
                    s.get("direction", "asc") not in ("asc", "desc"):
                raise InputError(f"{s!r}", field="sortby", expected='[{"field": "properties.datetime", '
                                 '"direction": "asc"|"desc"}]')
            out.append((s["field"], s.get("direction", "asc")))
    else:
        raise InputError(f"{value!r}", field="sortby", expected="a list of {field, direction} objects")
    for name, _ in out:
        if not name or len(name) > 200:
            raise InputError(f"{name!r}", field="sortby", expected="a property name")
    return out


def _parse_fields(value: Any) -> tuple[list[str], list[str], bool] | None:
    """(include, exclude, include given): GET strings always count as giving include."""
    if value is None:
        return None
    inc: list[str] = []
    exc: list[str] = []
    include_given = True
    if isinstance(value, str):
        for part in value.split(","):
            part = part.strip()
            if part.startswith("-"):
                exc.append(part[1:])
            elif part:
                inc.append(part.lstrip("+"))
    elif isinstance(value, dict):
        include_given = "include" in value
        inc = list(value.get("include") or [])
        exc = list(value.get("exclude") or [])
        if not all(isinstance(x, str) for x in inc + exc):
            raise InputError(f"{value!r}", field="fields", expected='{"include": [...], "exclude": [...]}')
    else:
        raise InputError(f"{value!r}", field="fields", expected='{"include": [...], "exclude": [...]}')
    return inc, exc, include_given


_DEFAULT_FIELDS = ["type", "stac_version", "id", "geometry", "bbox", "links", "assets", "collection",
                   "properties.datetime", "properties.start_datetime", "properties.end_datetime"]


def _project(item: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in paths:
        parts = path.split(".")
        src: Any = item
        for p in parts[:-1]:
            src = src.get(p) if isinstance(src, dict) else None
        if not isinstance(src, dict) or parts[-1] not in src:
            continue
        dst = out
        for p in parts[:-1]:
            dst = dst.setdefault(p, {})
        dst[parts[-1]] = src[parts[-1]]
    return out


def _apply_fields(item: dict[str, Any], fields: tuple[list[str], list[str], bool] | None) -> dict[str, Any]:
    """STAC fields extension: include wins over exclude.

    With includes: those plus `type`, `stac_version`, `id` and `links` (so clients can still parse
    and follow the result). With an empty or null include: the default set minus the excludes.
    With no include key at all (POST): the whole item minus the excludes.
    """
    if fields is None:
        return item
    inc, exc, include_given = fields
    if inc:
        keep = ["type", "stac_version", "id", "links", *inc]
    elif include_given:
        keep = list(_DEFAULT_FIELDS)
    else:
        keep = list(item)
    out = _project(item, keep)
    for path in exc:
        if path in inc or path in ("id", "type") or any(i.startswith(path + ".") for i in inc):
            continue
        parts = path.split(".")
        d: Any = out
        for p in parts[:-1]:
            d = d.get(p) if isinstance(d, dict) else None
        if isinstance(d, dict):
            d.pop(parts[-1], None)
    return out


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge_patch(out.get(k), v)
    return out


def create_app(instance: Instance) -> FastAPI:
    """The FastAPI application over one instance (no global state; tests make several)."""
    app = FastAPI(title="Aquila shared library", version="0.1.0", docs_url=None, openapi_url=None,
                  description="STAC API with security labels enforced per user and every decision audited.")
    store, audit, tokens = instance.store, instance.audit, instance.tokens
    app.state.instance = instance

    # --- errors: one shape, one table -------------------------------------------------------------
    @app.exception_handler(InputError)
    async def _bad(request: Request, exc: InputError) -> JSONResponse:
        return _error(400, "BadRequest", str(exc), exc.field, exc.expected)

    @app.exception_handler(TooLarge)
    async def _too_large(request: Request, exc: TooLarge) -> JSONResponse:
        return _error(413, "PayloadTooLarge", str(exc), exc.field, exc.expected)

    @app.exception_handler(NotFound)
    async def _nf(request: Request, exc: NotFound) -> JSONResponse:
        return _error(404, "NotFound", "no such resource")

    @app.exception_handler(Conflict)
    async def _conf(request: Request, exc: Conflict) -> JSONResponse:
        return _error(409, "Conflict", str(exc))

    @app.exception_handler(AuthenticationError)
    async def _unauth(request: Request, exc: AuthenticationError) -> JSONResponse:
        return _error(401, "Unauthorized", str(exc), "Authorization", "Authorization: Bearer <token from aquila token>",
                      headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(Forbidden)
    async def _forb(request: Request, exc: Forbidden) -> JSONResponse:
        return _error(403, "Forbidden", str(exc))

    @app.exception_handler(PayloadTooLarge)
    async def _big(request: Request, exc: PayloadTooLarge) -> JSONResponse:
        return _error(413, "PayloadTooLarge", str(exc), "body", f"at most {instance.max_body_bytes} bytes")

    @app.exception_handler(RequestValidationError)
    async def _val(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = ".".join(str(x) for x in first.get("loc", []) if x not in ("body", "query", "path"))
        return _error(400, "BadRequest", first.get("msg", "invalid request"), loc or None, None)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, "NotFound" if exc.status_code == 404 else "HTTPError", str(exc.detail))

    @app.middleware("http")
    async def _limit_body(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length is not None and not _is_asset_path(request.url.path):
            try:
                too_big = int(length) > instance.max_body_bytes
            except ValueError:
                return _error(400, "BadRequest", "invalid Content-Length", "Content-Length", "a byte count")
            if too_big:
                return _error(413, "PayloadTooLarge", f"body of {length} bytes", "body",
                              f"at most {instance.max_body_bytes} bytes (AQUILA_MAX_BODY_BYTES)")
        return await call_next(request)

    # --- identity ---------------------------------------------------------------------------------
    def user_of(request: Request) -> User:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            audit.append(subject="anonymous", nation="", action=f"{request.method} {request.url.path}", obj="",
                         allowed=False, reason="no bearer token")
            raise AuthenticationError("missing bearer token")
        try:
            return tokens.verify(token.strip())
        except AuthenticationError as exc:
            audit.append(subject="anonymous", nation="", action=f"{request.method} {request.url.path}", obj="",
                         allowed=False, reason=str(exc))
            raise

    async def json_body(request: Request) -> Any:
        raw = await request.body()
        if len(raw) > instance.max_body_bytes:
            raise PayloadTooLarge(f"body of {len(raw)} bytes")
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"malformed JSON: {getattr(exc, 'msg', exc)}", field="body",
                             expected="a JSON document") from None

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def item_links(request: Request, item: dict[str, Any]) -> dict[str, Any]:
        b = base(request)
        c = item.get("collection")
        item = dict(item)
        own = [lk for lk in item.get("links", []) if lk.get("rel") not in ("self", "parent", "collection", "root")]
        assets = {}
        for k, a in (item.get("assets") or {}).items():
            if isinstance(a, dict) and str(a.get("href", "")).startswith("/collections/"):
                a = dict(a, href=b + a["href"])
            assets[k] = a
        item["assets"] = assets
        item["links"] = own + [
            {"rel": "self", "type": GEOJSON, "href": f"{b}/collections/{c}/items/{item['id']}"},
            {"rel": "parent", "type": "application/json", "href": f"{b}/collections/{c}"},
            {"rel": "collection", "type": "application/json", "href": f"{b}/collections/{c}"},
            {"rel": "root", "type": "application/json", "href": f"{b}/"},
        ]
        return item

    def collection_links(request: Request, coll: dict[str, Any]) -> dict[str, Any]:
        b = base(request)
        coll = dict(coll)
        cid = coll["id"]
        own = [lk for lk in coll.get("links", []) if lk.get("rel") not in ("self", "parent", "root", "items",
                                                                           "http://www.opengis.net/def/rel/ogc/1.0/queryables")]
        coll["links"] = own + [
            {"rel": "self", "type": "application/json", "href": f"{b}/collections/{cid}"},
            {"rel": "parent", "type": "application/json", "href": f"{b}/"},
            {"rel": "root", "type": "application/json", "href": f"{b}/"},
            {"rel": "items", "type": GEOJSON, "href": f"{b}/collections/{cid}/items"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "type": "application/schema+json",
             "href": f"{b}/collections/{cid}/queryables"},
        ]
        return coll

    def record(user: User, action: str, obj: str, allowed: bool, reason: str, originators: list[str] | tuple = ()) -> None:
        audit.append(subject=user.subject, nation=user.nation, action=action, obj=obj, allowed=allowed,
                     reason=reason, originators=originators)

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
        user_of(request)
        b = base(request)
        return JSONResponse({
            "type": "Catalog", "stac_version": "1.1.0", "id": "aquila", "title": "Aquila shared library",
            "description": "Allied ISR products; each user sees exactly what their labels release to them.",
            "conformsTo": CONFORMANCE,
            "links": [
                {"rel": "self", "type": "application/json", "href": f"{b}/"},
                {"rel": "root", "type": "application/json", "href": f"{b}/"},
                {"rel": "conformance", "type": "application/json", "href": f"{b}/conformance"},
                {"rel": "data", "type": "application/json", "href": f"{b}/collections"},
                {"rel": "search", "type": GEOJSON, "href": f"{b}/search", "method": "GET"},
                {"rel": "search", "type": GEOJSON, "href": f"{b}/search", "method": "POST"},
                {"rel": "service-desc", "type": OPENAPI, "href": f"{b}/api"},
                {"rel": "service-doc", "type": "text/html", "href": f"{b}/api.html"},
                {"rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "type": "application/schema+json",
                 "href": f"{b}/queryables"},
            ]})

    @app.get("/conformance")
    def conformance(request: Request) -> JSONResponse:
        user_of(request)
        return JSONResponse({"conformsTo": CONFORMANCE})

    def queryables_doc(request: Request, cid: str | None) -> JSONResponse:
        return JSONResponse({
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "$id": f"{base(request)}/{'collections/' + cid + '/' if cid else ''}queryables",
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
        user_of(request)
        return queryables_doc(request, None)

    @app.get("/collections/{cid}/queryables")
    def collection_queryables(cid: str, request: Request) -> JSONResponse:
        user = user_of(request)
        store.collection(user, cid)
        return queryables_doc(request, cid)

    # --- collections ------------------------------------------------------------------------------
    @app.get("/collections")
    def collections(request: Request) -> JSONResponse:
        user = user_of(request)
        cols = [collection_links(request, c) for c in store.collections(user)]
        b = base(request)
        return JSONResponse({"collections": cols, "links": [
            {"rel": "self", "type": "application/json", "href": f"{b}/collections"},
            {"rel": "root", "type": "application/json", "href": f"{b}/"},
            {"rel": "parent", "type": "application/json", "href": f"{b}/"}]})

    @app.get("/collections/{cid}")
    def collection(cid: str, request: Request) -> JSONResponse:
        user = user_of(request)
        try:
            doc, label = store.collection(user, cid)
        except NotFound:
            record(user, "read collection", cid, False, "not found or not releasable")
            raise
        return JSONResponse(collection_links(request, doc))

    def require(user: User, role: Role, action: str, obj: str) -> None:
        if not user.has(role) and not user.has(Role.ADMIN):
            record(user, action, obj, False, f"needs the {role.value} role")
            raise Forbidden(f"{action} needs the {role.value} role")

    @app.post("/collections", status_code=201, openapi_extra=COLLECTION_BODY)
    async def create_collection(request: Request) -> JSONResponse:
        user = user_of(request)
        body = await json_body(request)
        cid = body.get("id", "") if isinstance(body, dict) else ""
        require(user, Role.ADMIN, "create collection", str(cid))
        out = store.put_collection(body, create=True)
        record(user, "create collection", out["id"], True, "admin", [out["sec:originator"]])
        return JSONResponse(collection_links(request, out), status_code=201)

    @app.put("/collections/{cid}", openapi_extra=COLLECTION_BODY)
    async def update_collection(cid: str, request: Request) -> JSONResponse:
        user = user_of(request)
        body = await json_body(request)
        require(user, Role.ADMIN, "update collection", cid)
        if isinstance(body, dict) and body.get("id", cid) != cid:
            raise InputError(f"{body.get('id')!r} does not match the URL", field="id", expected=repr(cid))
        if isinstance(body, dict):
            body = dict(body, id=cid)
        out = store.put_collection(body, create=False)
        record(user, "update collection", cid, True, "admin", [out["sec:originator"]])
        return JSONResponse(collection_links(request, out))

    @app.delete("/collections/{cid}")
    def delete_collection(cid: str, request: Request) -> Response:
        user = user_of(request)
        require(user, Role.ADMIN, "delete collection", cid)
        store.delete_collection(cid)
        record(user, "delete collection", cid, True, "admin")
        return Response(status_code=204)

    # --- items --------------------------------------------------------------------------------------
    @app.get("/collections/{cid}/items/{iid}")
    def get_item(cid: str, iid: str, request: Request) -> JSONResponse:
        user = user_of(request)
        raw = store.raw_item(cid, iid)
        if raw is None:
            record(user, "read item", f"{cid}/{iid}", False, "no such item")
            raise NotFound(iid)
        _, doc, label = raw
        d = decide(user, label)
        record(user, "read item", f"{cid}/{iid}", d.allowed, d.reason, [label.originator])
        if not d:
            raise NotFound(iid)  # indistinguishable from a missing item
        return JSONResponse(item_links(request, doc), media_type=GEOJSON)

    def check_write(user: User, label: Label, action: str, obj: str) -> None:
        require(user, Role.PROVIDER, action, obj)
        if label.originator != user.nation and not user.has(Role.ADMIN):
            record(user, action, obj, False, f"originator {label.originator} is not the provider's nation",
                   [label.originator])
            raise Forbidden(f"a {user.nation} provider may publish only with sec:originator = {user.nation}")

    def writable_item(user: User, cid: str, iid: str, action: str, obj: str | None = None
                      ) -> tuple[int, dict[str, Any], Label]:
        """The stored item a write targets: 404 unless the user may read it, 403 unless they may change it."""
        obj = obj or f"{cid}/{iid}"
        raw = store.raw_item(cid, iid)
        if raw is None or not decide(user, raw[2]):
            record(user, action, obj, False, "not found or not releasable")
            raise NotFound(iid)
        check_write(user, raw[2], action, obj)
        return raw

    def replace_item(request: Request, user: User, cid: str, iid: str, action: str, doc: Any) -> JSONResponse:
        """Validate the new version, check its label is still the provider's, store it, audit it."""
        row = validate_item(doc, cid)
        check_write(user, row.label, action, f"{cid}/{iid}")
        store.replace_item(row)
        record(user, action, f"{cid}/{iid}", True, "originator's provider", [row.label.originator])
        return JSONResponse(item_links(request, row.doc), media_type=GEOJSON)

    @app.post("/collections/{cid}/items", status_code=201, openapi_extra=ITEM_BODY)
    async def create_item(cid: str, request: Request) -> JSONResponse:
        user = user_of(request)
        body = await json_body(request)
        require(user, Role.PROVIDER, "create item", cid)
        store.collection(user, cid)  # 404 unless the collection exists and the provider may see it
        docs = body.get("features") if isinstance(body, dict) and body.get("type") == "FeatureCollection" else [body]
        if not isinstance(docs, list) or not docs:
            raise InputError("no features", field="features", expected="a STAC Item or a FeatureCollection of Items")
        rows = []
        for k, d in enumerate(docs):
            try:
                rows.append(validate_item(d, cid))
            except InputError as exc:
                if len(docs) == 1:
                    raise
                raise InputError(exc.reason, field=f"features[{k}].{exc.field}", expected=exc.expected) from None
        for r in rows:
            check_write(user, r.label, "create item", f"{cid}/{r.id}")
        store.add_items(rows, in_transaction=lambda db: audit.write_in(db, [dict(
            subject=user.subject, nation=user.nation, action="create item", obj=f"{cid}/{r.id}", allowed=True,
            reason="provider publishing its own product", originators=[r.label.originator]) for r in rows]))
        if len(rows) == 1:
            return JSONResponse(item_links(request, rows[0].doc), status_code=201, media_type=GEOJSON)
        return JSONResponse({"type": "FeatureCollection", "features": [item_links(request, r.doc) for r in rows]},
                            status_code=201, media_type=GEOJSON)

    @app.put("/collections/{cid}/items/{iid}", openapi_extra=ITEM_BODY)
    async def update_item(cid: str, iid: str, request: Request) -> JSONResponse:
        user = user_of(request)
        body = await json_body(request)
        writable_item(user, cid, iid, "update item")
        if isinstance(body, dict) and body.get("id", iid) != iid:
            raise InputError(f"{body.get('id')!r} does not match the URL", field="id", expected=repr(iid))
        return replace_item(request, user, cid, iid, "update item",
                            dict(body, id=iid) if isinstance(body, dict) else body)

    @app.patch("/collections/{cid}/items/{iid}", openapi_extra={"requestBody": {"required": True, "content": {
        "application/merge-patch+json": {"schema": {"type": "object"}},
        "application/json": {"schema": {"type": "object"}}}}})
    async def patch_item(cid: str, iid: str, request: Request) -> JSONResponse:
        """JSON merge patch (RFC 7396) of an item: null removes a member, objects merge."""
        user = user_of(request)
        body = await json_body(request)
        raw = writable_item(user, cid, iid, "patch item")
        if not isinstance(body, dict):
            raise InputError("body is not a JSON object", field="body", expected="a JSON merge patch object")
        if body.get("id", iid) != iid:
            raise InputError(f"{body.get('id')!r} cannot change", field="id", expected=repr(iid))
        return replace_item(request, user, cid, iid, "patch item", _merge_patch(raw[1], body))

    @app.delete("/collections/{cid}/items/{iid}")
    def delete_item(cid: str, iid: str, request: Request) -> Response:
        user = user_of(request)
        raw = writable_item(user, cid, iid, "delete item")
        store.delete_item(cid, iid)
        record(user, "delete item", f"{cid}/{iid}", True, "originator's provider", [raw[2].originator])
        return Response(status_code=204)

    # --- assets: bytes under the item's label ------------------------------------------------------
    @app.put("/collections/{cid}/items/{iid}/assets/{key}", openapi_extra={"requestBody": {
        "required": True, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
    async def put_asset(cid: str, iid: str, key: str, request: Request) -> JSONResponse:
        user = user_of(request)
        obj = f"{cid}/{iid}/assets/{key}"
        raw = writable_item(user, cid, iid, "upload asset", obj)
        stored = await instance.objects.put(f"{cid}/{iid}/{key}", request.stream(), instance.max_asset_bytes)
        doc = dict(raw[1])
        assets = dict(doc.get("assets") or {})
        assets[key] = {"href": f"/collections/{cid}/items/{iid}/assets/{key}",
                       "type": request.headers.get("content-type", "application/octet-stream"),
                       "roles": ["data"], "file:size": stored.size, "file:checksum": "1220" + stored.sha256}
        doc["assets"] = assets
        store.replace_item(validate_item(doc, cid))
        record(user, "upload asset", obj, True, f"{stored.size} bytes", [raw[2].originator])
        return JSONResponse(item_links(request, doc), status_code=201, media_type=GEOJSON)

    @app.get("/collections/{cid}/items/{iid}/assets/{key}")
    def get_asset(cid: str, iid: str, key: str, request: Request) -> Response:
        from fastapi.responses import FileResponse

        user = user_of(request)
        raw = store.raw_item(cid, iid)
        obj = f"{cid}/{iid}/assets/{key}"
        allowed = raw is not None and decide(user, raw[2])
        path = instance.objects.path(f"{cid}/{iid}/{key}") if allowed else None
        record(user, "download asset", obj, bool(allowed and path), "under the item's label" if allowed else
               "not found or not releasable", [raw[2].originator] if raw else [])
        if path is None or raw is None:
            raise NotFound(key)
        media = (raw[1].get("assets", {}).get(key) or {}).get("type", "application/octet-stream")
        return FileResponse(path, media_type=media)

    # --- search -------------------------------------------------------------------------------------
    def run_search(request: Request, user: User, params: dict[str, Any], method: str,
                   collection: str | None = None) -> JSONResponse:
        q = SearchQuery()
        limit = params.get("limit", 10)
        try:
            q.limit = int(limit)
        except (TypeError, ValueError):
            raise InputError(f"{limit!r}", field="limit", expected=f"an integer 1..{MAX_LIMIT}") from None
        if not 1 <= q.limit <= MAX_LIMIT:
            if q.limit > MAX_LIMIT:
                q.limit = MAX_LIMIT
            else:
                raise InputError(f"{limit!r}", field="limit", expected=f"an integer 1..{MAX_LIMIT}")
        cols = params.get("collections")
        if isinstance(cols, str):
            cols = [c for c in cols.split(",") if c]
        if collection is not None:
            cols = [collection]
        if cols is not None:
            if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
                raise InputError(f"{cols!r}", field="collections", expected="a list of collection ids")
            q.collections = cols
        ids = params.get("ids")
        if isinstance(ids, str):
            ids = [i for i in ids.split(",") if i]
        if ids is not None:
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise InputError(f"{ids!r}", field="ids", expected="a list of item ids")
            q.ids = ids
        if params.get("bbox") is not None and params.get("intersects") is not None:
            raise InputError("both bbox and intersects", field="bbox", expected="only one of bbox and intersects")
        if params.get("bbox") is not None:
            if method == "POST" and not isinstance(params["bbox"], list):
                raise InputError(f"{params['bbox']!r}", field="bbox", expected="a JSON array of 4 or 6 numbers")
            q.bbox = _parse_bbox(params["bbox"])
        if params.get("intersects") is not None:
            geo = params["intersects"]
            if isinstance(geo, str):
                try:
                    geo = json.loads(geo)
                except json.JSONDecodeError:
                    raise InputError("not JSON", field="intersects", expected="a GeoJSON geometry") from None
            validate_geometry(geo, "intersects")
            q.intersects = geo
        if params.get("datetime") is not None:
            if not isinstance(params["datetime"], str):
                raise InputError(f"{params['datetime']!r}", field="datetime", expected="an RFC 3339 string")
            q.datetime_range = _parse_datetime(params["datetime"])
        if params.get("filter") is not None:
            q.filter = parse_filter(params["filter"], params.get("filter-lang") or params.get("filter_lang"))
        q.sortby = _parse_sortby(params.get("sortby"))
        if method == "POST" and "fields" in params and params["fields"] is None:
            raise InputError("null", field="fields", expected='an object {"include": [...], "exclude": [...]}')
        fields = _parse_fields(params.get("fields"))
        token = params.get("token")
        if token is not None:
            if not isinstance(token, str):
                raise InputError(f"{token!r}", field="token", expected="a token from a next link")
            q.offset = decode_token(token)
        page = store.search(user, q)
        feats = [_apply_fields(item_links(request, f), fields) for f in page.features]
        origins = sorted({f["properties"]["sec:originator"] for f in page.features})
        record(user, "search" if collection is None else "list items", ",".join(
            f"{f['collection']}/{f['id']}" for f in page.features)[:100000], True,
               f"returned {len(feats)} of {page.matched if page.matched is not None else 'over 10000'} releasable", origins)
        b = base(request)
        path = f"{b}/search" if collection is None else f"{b}/collections/{collection}/items"
        self_href = f"{path}?{urlencode(dict(request.query_params))}" if method == "GET" and request.query_params \
            else path
        links: list[dict[str, Any]] = [{"rel": "root", "type": "application/json", "href": f"{b}/"},
                                       {"rel": "self", "type": GEOJSON, "href": self_href}]
        if collection is not None:
            links.append({"rel": "collection", "type": "application/json", "href": f"{b}/collections/{collection}"})
            links.append({"rel": "parent", "type": "application/json", "href": f"{b}/collections/{collection}"})
        if page.next_offset is not None:
            tok = encode_token(page.next_offset)
            if method == "GET":
                qs = {k: v for k, v in request.query_params.items() if k != "token"}
                qs["token"] = tok
                links.append({"rel": "next", "type": GEOJSON, "method": "GET", "href": f"{path}?{urlencode(qs)}"})
            else:
                links.append({"rel": "next", "type": GEOJSON, "method": "POST", "href": path,
                              "body": {"token": tok}, "merge": True})
        doc: dict[str, Any] = {"type": "FeatureCollection", "features": feats, "links": links,
                               "numberReturned": len(feats)}
        if page.matched is not None:
            doc["numberMatched"] = page.matched
        return JSONResponse(doc, media_type=GEOJSON)

    def query_params(request: Request) -> dict[str, Any]:
        return {k: v for k, v in request.query_params.items()}

    @app.get("/search")
    def search_get(request: Request, collections: str | None = None, ids: str | None = None,
                   bbox: str | None = None, intersects: str | None = None, datetime: str | None = None,
                   limit: str | None = None, token: str | None = None, filter: str | None = None,
                   filter_lang: str | None = Query(None, alias="filter-lang"), sortby: str | None = None,
                   fields: str | None = None) -> JSONResponse:
        # The parameters are declared for the OpenAPI description; parsing (with teaching errors)
        # happens in run_search on the raw query string.
        user = user_of(request)
        return run_search(request, user, query_params(request), "GET")

    @app.post("/search", openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": SEARCH_BODY_SCHEMA}}}})
    async def search_post(request: Request) -> JSONResponse:
        user = user_of(request)
        body = await json_body(request)
        if not isinstance(body, dict):
            raise InputError("body is not a JSON object", field="body", expected="an item-search request object")
        return run_search(request, user, body, "POST")

    @app.get("/collections/{cid}/items")
    def items(cid: str, request: Request, bbox: str | None = None, datetime: str | None = None,
              limit: str | None = None, token: str | None = None, filter: str | None = None,
              filter_lang: str | None = Query(None, alias="filter-lang"), sortby: str | None = None,
              fields: str | None = None) -> JSONResponse:
        user = user_of(request)
        try:
            store.collection(user, cid)
        except NotFound:
            record(user, "list items", cid, False, "collection not found or not releasable")
            raise
        return run_search(request, user, query_params(request), "GET", collection=cid)

    # --- audit --------------------------------------------------------------------------------------
    @app.get("/audit")
    def audit_list(request: Request, originator: str | None = None, after: int = 0, limit: int = 100) -> JSONResponse:
        user = user_of(request)
        if not 1 <= limit <= 1000 or after < 0:
            raise InputError(f"limit={limit}, after={after}", field="limit", expected="1..1000 and after >= 0")
        if not user.has(Role.ADMIN):
            if not user.has(Role.PROVIDER):
                record(user, "read audit", str(originator), False, "needs the provider role")
                raise Forbidden("reading the audit log needs the provider role")
            if originator != user.nation:
                record(user, "read audit", str(originator), False, "providers see accesses to their own products")
                raise Forbidden(f"a {user.nation} provider may read ?originator={user.nation} only")
        entries = audit.entries(originator=originator, after=after, limit=limit)
        record(user, "read audit", str(originator), True, "provider reading accesses to its products")
        return JSONResponse({"entries": [e.as_dict() for e in entries],
                             "next_after": entries[-1].seq if len(entries) == limit else None})

    return app
