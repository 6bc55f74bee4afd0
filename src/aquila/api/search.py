"""Item search routes: GET/POST /search and GET /collections/{cid}/items, audited per originator."""

from __future__ import annotations

import hashlib
import re
import threading
from collections import defaultdict
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from aquila.api.context import GEOJSON, Api
from aquila.api.params import (
    apply_fields,
    decode_token,
    encode_token,
    parse_bbox,
    parse_datetime,
    parse_fields,
    parse_sortby,
)
from aquila.api.schemas import MAX_LIMIT, SEARCH_BODY_SCHEMA
from aquila.catalog.filters import parse_filter
from aquila.catalog.model import SearchQuery
from aquila.catalog.validate import validate_geometry
from aquila.errors import InputError, NotFound, TooManyRequests
from aquila.limits import MAX_COLLECTIONS, MAX_IDS, MAX_SEARCHES_PER_USER
from aquila.safejson import loads
from aquila.security.audit import Scope
from aquila.security.labels import Label
from aquila.security.policy import User

__all__ = ["router"]



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


def router(api: Api) -> APIRouter:
    r = APIRouter()

    slots: dict[str, threading.BoundedSemaphore] = defaultdict(
        lambda: threading.BoundedSemaphore(MAX_SEARCHES_PER_USER))

    def run(request: Request, user: User, params: dict[str, Any], method: str,
            collection: str | None = None) -> JSONResponse:
        q, fields = parse_query(params, method, collection)
        # per token (not per subject: every `aquila token` without --subject shares "<nation>-user")
        slot = slots[hashlib.sha256(request.headers.get("authorization", "").encode()).hexdigest()]
        if not slot.acquire(blocking=False):  # one user's costly searches must not occupy every worker
            raise TooManyRequests(f"at most {MAX_SEARCHES_PER_USER} searches at a time per user")
        try:
            page = api.store.search(user, q)
        finally:
            slot.release()
        action = "search" if collection is None else "list items"
        # one entry for the search, and one per originator naming only that originator's items, so a
        # provider's audit view shows accesses to its own products and nothing of others'
        by_origin: dict[str, list[tuple[str, Scope]]] = defaultdict(list)
        for f, coll in zip(page.features, page.collection_labels, strict=True):
            label = Label.from_properties(f["properties"])
            by_origin[label.originator].append((f"{f['collection']}/{f['id']}", Scope.of(label, coll)))
        matched = page.matched if page.matched is not None else "over 10000"
        decisions = [api.decision(user, action, collection or "search", True,
                                  f"returned {len(page.features)} of {matched} releasable")]
        decisions += [api.decision(user, action, ",".join(o for o, _ in objs), True,
                                   f"returned {len(objs)} of this originator's items", [lab for _, lab in objs])
                      for _, objs in sorted(by_origin.items())]
        api.audit.append_many(decisions)
        feats = [apply_fields(api.item_links(request, f), fields) for f in page.features]
        b = api.base(request)
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

    @r.get("/search")
    def search_get(request: Request, collections: str | None = None, ids: str | None = None,
                   bbox: str | None = None, intersects: str | None = None, datetime: str | None = None,
                   limit: str | None = None, token: str | None = None, filter: str | None = None,
                   filter_lang: str | None = Query(None, alias="filter-lang"), sortby: str | None = None,
                   fields: str | None = None) -> JSONResponse:
        # The parameters are declared for the OpenAPI description; parsing (with teaching errors)
        # happens in parse_query on the raw query string.
        user = api.user(request)
        return run(request, user, dict(request.query_params.items()), "GET")

    @r.post("/search", openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": SEARCH_BODY_SCHEMA}}}})
    async def search_post(request: Request) -> JSONResponse:
        user, body = await api.caller_and_body(request)
        if not isinstance(body, dict):
            raise InputError("body is not a JSON object", field="body", expected="an item-search request object")
        return await run_in_threadpool(run, request, user, body, "POST")

    @r.get("/collections/{cid}/items")
    def items(cid: str, request: Request, bbox: str | None = None, datetime: str | None = None,
              limit: str | None = None, token: str | None = None, filter: str | None = None,
              filter_lang: str | None = Query(None, alias="filter-lang"), sortby: str | None = None,
              fields: str | None = None) -> JSONResponse:
        user = api.user(request)
        try:
            api.store.collection(user, cid)
        except NotFound:
            raise api.deny(user, "list items", cid, "collection not found or not releasable") from None
        return run(request, user, dict(request.query_params.items()), "GET", collection=cid)

    return r
