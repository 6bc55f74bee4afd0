"""Item and asset routes: read under the label, write under `may_write`, every decision audited.

Addressing by id follows the store's identity rule: a read gets the caller's preferred readable
instance; a write targets the preferred instance of the caller's own nation. A target the caller
cannot read is a 404 exactly like a missing one; one it can read but not change is a 403.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from aquila.api.context import GEOJSON, Api, as_own
from aquila.api.params import merge_patch
from aquila.api.schemas import ASSET_BODY, ITEM_BODY, PATCH_BODY
from aquila.catalog.model import AssetRecord, StoredItem
from aquila.catalog.validate import ItemRow, check_id, validate_item
from aquila.errors import AuthenticationError, Conflict, Forbidden, InputError, NotFound, Stale
from aquila.limits import MAX_FEATURES
from aquila.security.audit import Scope
from aquila.security.labels import Label
from aquila.security.policy import Role, User, may_write

__all__ = ["router", "MAX_FEATURES", "SAFE_MEDIA_TYPES", "safe_media_type"]

SAFE_MEDIA_TYPES = frozenset({
    "image/tiff", "image/png", "image/jpeg", "image/jp2", "image/webp", "application/json", "application/geo+json",
    "application/octet-stream", "application/x-hdf5", "application/x-hdf", "application/netcdf", "application/x-netcdf",
    "application/vnd.apache.parquet", "application/x-parquet", "application/zip", "application/gzip",
    "application/pdf", "application/vnd.google-earth.kml+xml", "application/vnd.google-earth.kmz", "text/csv",
    "text/plain"})
_CHUNK = 1024 * 1024
_MEDIA = re.compile(r"([a-z0-9.+-]+/[a-z0-9.+-]+)((?:\s*;\s*[a-z0-9_.-]+=[a-z0-9_.-]+){0,4})")


def safe_media_type(header: str | None) -> str:
    """The upload's media type if it is one browsers will not run (no HTML, SVG, script), else octet-stream."""
    m = _MEDIA.fullmatch((header or "").strip().lower())
    if m is None or m.group(1) not in SAFE_MEDIA_TYPES:
        return "application/octet-stream"
    return m.group(1) + re.sub(r"\s*;\s*", "; ", m.group(2))


def _asset_entry(cid: str, iid: str, rec: AssetRecord) -> dict[str, Any]:
    return {"href": f"/collections/{cid}/items/{iid}/assets/{rec.name}", "type": rec.media_type, "roles": ["data"],
            "file:size": rec.size, "file:checksum": "1220" + rec.sha256}


def router(api: Api) -> APIRouter:
    r = APIRouter()
    store = api.store

    def readable(user: User, cid: str, iid: str, action: str, obj: str) -> StoredItem:
        item = store.item(user, cid, iid)
        if item is None:
            raise api.deny(user, action, obj, "not found or not releasable", store.scopes_of(cid, iid))
        return item

    def writable(user: User, cid: str, iid: str, action: str, obj: str | None = None) -> StoredItem:
        """The caller's own-nation instance: 404 unless it can read one, 403 unless it may change it."""
        obj = obj or f"{cid}/{iid}"
        item = store.item(user, cid, iid, writable=True) if user.has(Role.PROVIDER) else None
        if item is not None:
            return item
        seen = store.item(user, cid, iid)
        if seen is None:
            raise api.deny(user, action, obj, "not found or not releasable", store.scopes_of(cid, iid))
        if not user.has(Role.PROVIDER):
            raise api.deny(user, action, obj, "needs the provider role", [seen.scope],
                           Forbidden(f"{action} needs the provider role"))
        raise api.deny(user, action, obj, f"originator {seen.label.originator} is not the provider's nation",
                       [seen.scope], Forbidden(f"a {user.nation} provider may change only {user.nation}'s "
                                                          "items"))

    def lost_race(user: User, cid: str, iid: str, action: str, obj: str) -> Exception:
        """A write based on a read the item has since outlived: 404/403 as if asked afresh (it may now be
        relabelled out of the caller's sight, or deleted), else 409 asking to read again and retry."""
        now = writable(user, cid, iid, action, obj)  # raises the 404 or 403 (audited) when it applies
        return api.deny(user, action, obj, "changed while the write was prepared", [now.scope],
                        Conflict("the item changed while your write was prepared; read it again and retry"))

    def check_label(user: User, row_label: Any, action: str, obj: str, owner: Label | Scope) -> None:
        """403 unless the user may write `row_label`; the denial is shown to `owner` (the stored object's
        label, or the requested one as the writer's own nation's for a create), never to the nation the body
        names."""
        d = may_write(user, row_label)
        if not d:
            raise api.deny(user, action, obj, d.reason, [owner], Forbidden(d.reason))

    def with_assets(item: StoredItem, doc: dict[str, Any]) -> dict[str, Any]:
        """Uploaded assets are the server's to describe: their entries override the body's."""
        recs = store.assets(item.rid)
        if recs and isinstance(doc, dict):
            assets = dict(doc.get("assets") or {}) if isinstance(doc.get("assets"), dict) else {}
            for rec in recs:
                assets[rec.name] = _asset_entry(item.collection, item.id, rec)
            doc = dict(doc, assets=assets)
        return doc

    def replace(request: Request, user: User, item: StoredItem, action: str, doc: Any) -> JSONResponse:
        obj = f"{item.collection}/{item.id}"
        row = validate_item(with_assets(item, doc), item.collection)
        check_label(user, row.label, action, obj, item.scope)
        try:
            store.replace_item(item, row, api.batch([api.decision(
                user, action, obj, True, "originator's provider",
                [item.scope, Scope.of(row.label, item.collection_label)])]), writer=user)
        except Stale:
            raise lost_race(user, item.collection, item.id, action, obj) from None
        except Conflict as exc:  # the new label clashes with another instance the caller can read
            raise api.deny(user, action, obj, str(exc), [Scope.of(row.label, item.collection_label)], exc) from None
        return JSONResponse(api.item_links(request, row.doc), media_type=GEOJSON)

    @r.get("/collections/{cid}/items/{iid}")
    def get_item(cid: str, iid: str, request: Request) -> JSONResponse:
        user = api.user(request)
        item = readable(user, cid, iid, "read item", f"{cid}/{iid}")
        api.record(user, "read item", f"{cid}/{iid}", True, "clearance, releasability and caveats satisfied",
                   [item.scope])
        return JSONResponse(api.item_links(request, item.doc), media_type=GEOJSON)

    @r.post("/collections/{cid}/items", status_code=201, openapi_extra=ITEM_BODY)
    async def create_item(cid: str, request: Request) -> JSONResponse:
        user, body = await api.caller_and_body(request)
        return await run_in_threadpool(create_items, request, user, cid, body)

    def create_items(request: Request, user: User, cid: str, body: Any) -> JSONResponse:
        if not user.has(Role.PROVIDER):
            raise api.deny(user, "create item", cid, "needs the provider role", (),
                           Forbidden("create item needs the provider role"))
        try:
            target = store.collection(user, cid)
        except NotFound:
            raise api.deny(user, "create item", cid, "collection not found or not releasable") from None
        docs = body.get("features") if isinstance(body, dict) and body.get("type") == "FeatureCollection" else [body]
        if not isinstance(docs, list) or not docs:
            raise InputError("no features", field="features", expected="a STAC Item or a FeatureCollection of Items")
        if len(docs) > MAX_FEATURES:  # one write transaction holds the database: keep it short for everyone
            raise InputError(f"{len(docs)} features", field="features",
                             expected=f"at most {MAX_FEATURES} per request (or `aquila ingest` for bulk loads)")
        rows = []
        for k, d in enumerate(docs):
            try:
                rows.append(validate_item(d, cid))
            except InputError as exc:
                if len(docs) == 1:
                    raise
                raise InputError(exc.reason, field=f"features[{k}].{exc.field}", expected=exc.expected) from None
        for row in rows:
            check_label(user, row.label, "create item", f"{cid}/{row.id}",
                        Scope.of(as_own(row.label, user.nation), target.label))
        try:
            store.create_items(user, cid, rows, target, api.batch([api.decision(
                user, "create item", f"{cid}/{row.id}", True, "provider publishing its own product",
                [Scope.of(row.label, target.label)]) for row in rows]))
        except Stale:  # the collection was deleted, retired or relabelled meanwhile: answer as afresh
            try:
                store.collection(user, cid)
            except NotFound:
                raise api.deny(user, "create item", cid, "collection not found or not releasable") from None
            raise api.deny(user, "create item", cid, "collection changed meanwhile", [],
                           Conflict("the collection changed while the items were prepared; retry")) from None
        except Conflict as exc:  # only ever an item the caller can read (see catalog.store)
            raise api.deny(user, "create item", cid, str(exc), [Scope.of(r.label, target.label) for r in rows],
                           exc) from None
        if len(rows) == 1:
            return JSONResponse(api.item_links(request, rows[0].doc), status_code=201, media_type=GEOJSON)
        features = [api.item_links(request, row.doc) for row in rows]
        return JSONResponse({"type": "FeatureCollection", "features": features},
                            status_code=201, media_type=GEOJSON)

    @r.put("/collections/{cid}/items/{iid}", openapi_extra=ITEM_BODY)
    async def update_item(cid: str, iid: str, request: Request) -> JSONResponse:
        user, body = await api.caller_and_body(request)
        return await run_in_threadpool(put_item, request, user, cid, iid, body)

    def put_item(request: Request, user: User, cid: str, iid: str, body: Any) -> JSONResponse:
        item = writable(user, cid, iid, "update item")
        if isinstance(body, dict) and body.get("id", iid) != iid:
            raise InputError(f"{str(body.get('id'))[:80]!r} does not match the URL", field="id", expected=repr(iid))
        return replace(request, user, item, "update item", dict(body, id=iid) if isinstance(body, dict) else body)

    @r.patch("/collections/{cid}/items/{iid}", openapi_extra=PATCH_BODY)
    async def patch_item(cid: str, iid: str, request: Request) -> JSONResponse:
        """JSON merge patch (RFC 7396) of an item: null removes a member, objects merge."""
        user, body = await api.caller_and_body(request)
        return await run_in_threadpool(merge_item, request, user, cid, iid, body)

    def merge_item(request: Request, user: User, cid: str, iid: str, body: Any) -> JSONResponse:
        item = writable(user, cid, iid, "patch item")
        if not isinstance(body, dict):
            raise InputError("body is not a JSON object", field="body", expected="a JSON merge patch object")
        if body.get("id", iid) != iid:
            raise InputError(f"{str(body.get('id'))[:80]!r} cannot change", field="id", expected=repr(iid))
        return replace(request, user, item, "patch item", merge_patch(item.doc, body))

    @r.delete("/collections/{cid}/items/{iid}")
    def delete_item(cid: str, iid: str, request: Request) -> Response:
        user = api.user(request)
        item = writable(user, cid, iid, "delete item")
        try:
            store.delete_item(item, api.batch([api.decision(user, "delete item", f"{cid}/{iid}", True,
                                                            "originator's provider; assets deleted with it",
                                                            [item.scope])]))
        except Stale:
            raise lost_race(user, cid, iid, "delete item", f"{cid}/{iid}") from None
        store.collect(api.instance.objects.delete)
        return Response(status_code=204)

    # --- assets: bytes under the item's label ------------------------------------------------------
    @r.put("/collections/{cid}/items/{iid}/assets/{key}", status_code=201, openapi_extra=ASSET_BODY)
    async def put_asset(cid: str, iid: str, key: str, request: Request) -> JSONResponse:
        user = await run_in_threadpool(api.user, request)
        check_id(key, "asset key")
        obj = f"{cid}/{iid}/assets/{key}"

        def reserve() -> tuple[StoredItem, str]:
            item = writable(user, cid, iid, "upload asset", obj)
            object_key = f"{item.rid}/{key}/{uuid.uuid4().hex}"
            store.reserve_object(object_key)
            return item, object_key

        item, object_key = await run_in_threadpool(reserve)
        objects = api.instance.objects

        def attach(stored: Any) -> ItemRow:
            rec = AssetRecord(key, object_key, stored.size, stored.sha256, safe_media_type(
                request.headers.get("content-type")))
            doc = with_assets(item, dict(item.doc))
            doc["assets"] = dict(doc.get("assets") or {}, **{key: _asset_entry(cid, iid, rec)})
            row = validate_item(doc, cid)
            try:
                store.attach_asset(item, rec, row, api.batch([api.decision(
                    user, "upload asset", obj, True, f"{stored.size} bytes", [item.scope])]))
            except Stale:  # relabelled, replaced or deleted while the bytes streamed
                raise lost_race(user, cid, iid, "upload asset", obj) from None
            store.collect(objects.delete)
            return row

        try:
            stored = await objects.put(object_key, request.stream(), api.instance.max_asset_bytes)
            row = await run_in_threadpool(attach, stored)
        except BaseException:
            objects.delete(object_key)
            raise
        return JSONResponse(api.item_links(request, row.doc), status_code=201, media_type=GEOJSON)

    @r.delete("/collections/{cid}/items/{iid}/assets/{key}")
    def delete_asset(cid: str, iid: str, key: str, request: Request) -> Response:
        user = api.user(request)
        check_id(key, "asset key")
        obj = f"{cid}/{iid}/assets/{key}"
        item = writable(user, cid, iid, "delete asset", obj)
        if store.asset(item.rid, key) is None:
            raise api.deny(user, "delete asset", obj, "no such asset", [item.scope])
        doc = dict(item.doc)
        doc["assets"] = {k: v for k, v in (doc.get("assets") or {}).items() if k != key}
        row = validate_item(doc, cid)
        try:
            store.detach_asset(item, key, row, api.batch([api.decision(
                user, "delete asset", obj, True, "originator's provider", [item.scope])]))
        except Stale:
            raise lost_race(user, cid, iid, "delete asset", obj) from None
        store.collect(api.instance.objects.delete)
        return Response(status_code=204)

    @r.get("/collections/{cid}/items/{iid}/assets/{key}")
    def get_asset(cid: str, iid: str, key: str, request: Request) -> Response:
        user = api.user(request)
        check_id(key, "asset key")  # before any lookup: the same 400 for every item, and no free text in audits
        obj = f"{cid}/{iid}/assets/{key}"
        item = readable(user, cid, iid, "download asset", obj)
        rec = store.asset(item.rid, key)
        path = api.instance.objects.path(rec.object_key) if rec is not None else None
        try:
            f = open(path, "rb") if path is not None else None  # noqa: SIM115 - closed by the stream
        except FileNotFoundError:  # deleted or replaced since the lookup
            f = None
        if rec is None or f is None:
            raise api.deny(user, "download asset", obj, "no such asset", [item.scope])
        api.record(user, "download asset", obj, True, "under the item's label", [item.scope])

        token = request.headers.get("authorization", "").partition(" ")[2].strip()

        def still_allowed() -> bool:
            """The read decision again: token still valid, item and collection still readable, asset unchanged."""
            try:
                now = store.item(api.instance.tokens.verify(token), cid, iid)
            except AuthenticationError:  # expired or revoked meanwhile
                return False
            return now is not None and now.rid == item.rid and store.asset(item.rid, key) == rec

        def chunks() -> Iterator[bytes]:
            """The open file's bytes, re-deciding before each MiB: the stream stops (the connection drops) as
            soon as the asset is deleted or replaced, the item or its collection is relabelled away from the
            reader, or the token is revoked — however slowly the reader reads."""
            with f:
                while data := f.read(_CHUNK):
                    yield data
                    if not still_allowed():
                        return

        return StreamingResponse(chunks(), media_type=rec.media_type, headers={
            "Content-Length": str(rec.size), "Content-Disposition": f'attachment; filename="{key}"',
            "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'"})

    return r
