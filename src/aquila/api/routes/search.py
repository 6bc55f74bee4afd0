"""Item search: GET/POST /search and GET /collections/{cid}/items, audited per originator by the library."""

from __future__ import annotations

import hashlib
import re
import threading
from collections import defaultdict
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from aquila.api.deps import CurrentUser, JsonBody, Lib
from aquila.api.links import GEOJSON, Links
from aquila.api.schemas import MAX_LIMIT, SEARCH_BODY_SCHEMA
from aquila.catalog.filters import parse_filter
from aquila.catalog.gcpause import gc_paused
from aquila.catalog.library import Library
from aquila.catalog.library_base import NO_COLLECTION
from aquila.catalog.model import SearchQuery
from aquila.catalog.params import (
    apply_fields,
    decode_token,
    encode_token,
    keeps,
    parse_bbox,
    parse_datetime,
    parse_fields,
    parse_sortby,
)
from aquila.catalog.validate import validate_geometry
from aquila.errors import InputError, TooManyRequests
from aquila.limits import MAX_COLLECTIONS, MAX_IDS, MAX_SEARCHES_PER_USER
from aquila.safejson import loads
from aquila.security.policy import User

__all__ = ["router", "CONFORMANCE", "parse_query"]

CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#filter",
    "https://api.stacspec.org/v1.0.0/item-search#sort",
    "https://api.stacspec.org/v1.0.0/item-search#fields",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#sort",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#fields",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-operators",
]



def _id_list(value: Any, field: str, most: int) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [v for v in value.split(",") if v]
    if not isinstance(value, list) or not all(isinstance(v, str) and len(v) <= 256 for v in value):
        raise InputError(f"{str(value)[:80]!r}", field=field, expected=f"a list of {field} ids")
    if len(value) > most:
        raise InputError(f"{len(value)} {field}", field=field, expected=f"at most {most} {field} ids per search")
    return value


def parse_query(params: dict[str, Any], method: str, collection: str | None) -> tuple[SearchQuery, Any]:
    """A validated SearchQuery and the fields projection, from query parameters or a POST body."""
    q = SearchQuery()
    limit = params.get("limit", 10)
    if isinstance(limit, str) and re.fullmatch(r"[0-9]{1,9}", limit):
        q.limit = int(limit)
    elif isinstance(limit, int) and not isinstance(limit, bool):
        q.limit = limit
    else:
        raise InputError(f"{str(limit)[:40]!r}", field="limit", expected=f"an integer 1..{MAX_LIMIT}")
    if q.limit < 1:
        raise InputError(f"{str(limit)[:40]!r}", field="limit", expected=f"an integer 1..{MAX_LIMIT}")
    q.limit = min(q.limit, MAX_LIMIT)
    q.collections = [collection] if collection is not None else _id_list(params.get("collections"), "collections",
                                                                          MAX_COLLECTIONS)
    q.ids = _id_list(params.get("ids"), "ids", MAX_IDS)
    if params.get("bbox") is not None and params.get("intersects") is not None:
        raise InputError("both bbox and intersects", field="bbox", expected="only one of bbox and intersects")
    if params.get("bbox") is not None:
        if method == "POST" and not isinstance(params["bbox"], list):
            raise InputError(f"{str(params['bbox'])[:80]!r}", field="bbox", expected="a JSON array of 4 or 6 numbers")
        q.bbox = parse_bbox(params["bbox"])
    if params.get("intersects") is not None:
        geo = params["intersects"]
        if isinstance(geo, str):
            geo = loads(geo, "intersects")
        validate_geometry(geo, "intersects")
        q.intersects = geo
    if params.get("datetime") is not None:
        if not isinstance(params["datetime"], str):
            raise InputError(f"{str(params['datetime'])[:80]!r}", field="datetime", expected="an RFC 3339 string")
        q.datetime_range = parse_datetime(params["datetime"])
    if params.get("filter") is not None:
        q.filter = parse_filter(params["filter"], params.get("filter-lang") or params.get("filter_lang"))
    q.sortby = parse_sortby(params.get("sortby"))
    if method == "POST" and "fields" in params and params["fields"] is None:
        raise InputError("null", field="fields", expected='an object {"include": [...], "exclude": [...]}')
    fields = parse_fields(params.get("fields"))
    token = params.get("token")
    if token is not None:
        if not isinstance(token, str):
            raise InputError(f"{str(token)[:40]!r}", field="token", expected="a token from a next link")
        q.offset = decode_token(token)
    return q, fields


router = APIRouter()
_slots: dict[str, threading.BoundedSemaphore] = defaultdict(lambda: threading.BoundedSemaphore(MAX_SEARCHES_PER_USER))
_slots_lock = threading.Lock()


def _slot(request: Request) -> threading.BoundedSemaphore:
    """Per token (a subject may hold several tokens of different rights)."""
    key = hashlib.sha256(request.headers.get("authorization", "").encode()).hexdigest()
    with _slots_lock:
        return _slots[key]


def _run(request: Request, user: User, library: Library, params: dict[str, Any], method: str,
         collection: str | None = None) -> Response:
    q, fields = parse_query(params, method, collection)
    slot = _slot(request)
    if not slot.acquire(blocking=False):  # one user's costly searches must not occupy every worker
        raise TooManyRequests(f"at most {MAX_SEARCHES_PER_USER} searches at a time per user")
    try:
        page = library.search(user, q, collection)
    finally:
        slot.release()
    links = Links(request)
    linked = keeps(fields, "links") or keeps(fields, "assets")  # else the links would be built to be dropped
    with gc_paused():  # up to 10,000 projected copies (see aquila.catalog.gcpause)
        feats = [apply_fields(links.item(f) if linked else f, fields) for f in page.features]
    if collection is None:
        path = links.href("search_get")
    else:
        path = links.href("items", cid=collection)
    self_href = f"{path}?{urlencode(dict(request.query_params))}" if method == "GET" and request.query_params \
        else path
    out: list[dict[str, Any]] = [{"rel": "root", "type": "application/json", "href": links.root},
                                 {"rel": "self", "type": GEOJSON, "href": self_href}]
    if collection is not None:
        coll = links.href("collection", cid=collection)
        out.append({"rel": "collection", "type": "application/json", "href": coll})
        out.append({"rel": "parent", "type": "application/json", "href": coll})
    if page.next_offset is not None:
        tok = encode_token(page.next_offset)
        if method == "GET":
            qs = {k: v for k, v in request.query_params.items() if k != "token"}
            qs["token"] = tok
            out.append({"rel": "next", "type": GEOJSON, "method": "GET", "href": f"{path}?{urlencode(qs)}"})
        else:
            out.append({"rel": "next", "type": GEOJSON, "method": "POST", "href": path,
                        "body": {"token": tok}, "merge": True})
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": feats, "links": out,
                           "numberReturned": len(feats)}
    if page.matched is not None:
        doc["numberMatched"] = page.matched
    return Response(orjson.dumps(doc), media_type=GEOJSON)  # pages of 10,000 items: the fast encoder


# The query parameters are declared for the OpenAPI description; parsing (with teaching errors)
# happens in parse_query on the raw query string.
@router.get("/search")
def search_get(request: Request, user: CurrentUser, library: Lib, collections: str | None = None,
               ids: str | None = None, bbox: str | None = None, intersects: str | None = None,
               datetime: str | None = None, limit: str | None = None, token: str | None = None,
               filter: str | None = None, filter_lang: str | None = Query(None, alias="filter-lang"),
               sortby: str | None = None, fields: str | None = None) -> Response:
    return _run(request, user, library, dict(request.query_params.items()), "GET")


@router.post("/search", openapi_extra={"requestBody": {"required": True, "content": {
    "application/json": {"schema": SEARCH_BODY_SCHEMA}}}})
def search_post(request: Request, user: CurrentUser, body: JsonBody, library: Lib) -> Response:
    if not isinstance(body, dict):
        raise InputError("body is not a JSON object", field="body", expected="an item-search request object")
    return _run(request, user, library, body, "POST")


@router.get("/collections/{cid}/items")
def items(cid: str, request: Request, user: CurrentUser, library: Lib, bbox: str | None = None,
               datetime: str | None = None, limit: str | None = None, token: str | None = None,
               filter: str | None = None, filter_lang: str | None = Query(None, alias="filter-lang"),
               sortby: str | None = None, fields: str | None = None) -> Response:
    library.collection(user, cid, "list items", NO_COLLECTION)  # 404 before any parameter is looked at
    return _run(request, user, library, dict(request.query_params.items()), "GET", collection=cid)
