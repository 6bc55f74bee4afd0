"""Asset bytes under their item's label: uploaded and deleted by its provider, streamed to its readers."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from aquila.api.deps import CurrentUser, Inst
from aquila.api.links import GEOJSON, Links
from aquila.api.schemas import ASSET_BODY
from aquila.errors import AuthenticationError

__all__ = ["router", "CONFORMANCE", "SAFE_MEDIA_TYPES", "safe_media_type"]

CONFORMANCE: list[str] = []

SAFE_MEDIA_TYPES = frozenset({
    "image/tiff", "image/png", "image/jpeg", "image/jp2", "image/webp", "application/json", "application/geo+json",
    "application/octet-stream", "application/x-hdf5", "application/x-hdf", "application/netcdf", "application/x-netcdf",
    "application/vnd.apache.parquet", "application/x-parquet", "application/zip", "application/gzip",
    "application/pdf", "application/vnd.google-earth.kml+xml", "application/vnd.google-earth.kmz", "text/csv",
    "text/plain"})
_CHUNK = 1024 * 1024
_MEDIA = re.compile(r"([a-z0-9.+-]+/[a-z0-9.+-]+)((?:\s*;\s*[a-z0-9_.-]+=[a-z0-9_.-]+){0,4})")

router = APIRouter()


def safe_media_type(header: str | None) -> str:
    """The upload's media type if it is one browsers will not run (no HTML, SVG, script), else octet-stream."""
    m = _MEDIA.fullmatch((header or "").strip().lower())
    if m is None or m.group(1) not in SAFE_MEDIA_TYPES:
        return "application/octet-stream"
    return m.group(1) + re.sub(r"\s*;\s*", "; ", m.group(2))


@router.put("/collections/{cid}/items/{iid}/assets/{key}", status_code=201, openapi_extra=ASSET_BODY)
async def put_asset(cid: str, iid: str, key: str, request: Request, user: CurrentUser,
                    instance: Inst) -> JSONResponse:
    # the body streams into the object store; decided before, and again after, the bytes
    library = instance.library
    item, object_key = await run_in_threadpool(library.reserve_upload, user, cid, iid, key)
    try:
        stored = await instance.objects.put(object_key, request.stream(), instance.max_asset_bytes)
        row = await run_in_threadpool(library.attach_upload, user, item, key, object_key, stored,
                                      safe_media_type(request.headers.get("content-type")))
    except BaseException:
        instance.objects.delete(object_key)
        raise
    return JSONResponse(Links(request).item(row.doc), status_code=201, media_type=GEOJSON)


@router.delete("/collections/{cid}/items/{iid}/assets/{key}")
def delete_asset(cid: str, iid: str, key: str, user: CurrentUser, instance: Inst) -> Response:
    instance.library.delete_asset(user, cid, iid, key)
    return Response(status_code=204)


@router.get("/collections/{cid}/items/{iid}/assets/{key}")
def get_asset(cid: str, iid: str, key: str, request: Request, user: CurrentUser, instance: Inst) -> Response:
    library = instance.library
    item, rec, f = library.open_asset(user, cid, iid, key)
    token = request.headers.get("authorization", "").partition(" ")[2].strip()

    def still_allowed() -> bool:
        """The read decision again: token still valid, item and collection still readable, asset unchanged."""
        try:
            now_user = instance.tokens.verify(token)
        except AuthenticationError:  # expired or revoked meanwhile
            return False
        return library.still_readable(now_user, item, rec)

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
