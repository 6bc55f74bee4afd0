"""Items: read under their label; created, replaced, patched and deleted by their originator's providers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from aquila.api.deps import CurrentUser, JsonBody, Lib
from aquila.api.links import GEOJSON, Links
from aquila.api.schemas import ITEM_BODY, PATCH_BODY

__all__ = ["router", "CONFORMANCE"]

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]

router = APIRouter()


@router.get("/collections/{cid}/items/{iid}")
def get_item(cid: str, iid: str, request: Request, user: CurrentUser, library: Lib) -> JSONResponse:
    return JSONResponse(Links(request).item(library.get_item(user, cid, iid).doc), media_type=GEOJSON)


@router.post("/collections/{cid}/items", status_code=201, openapi_extra=ITEM_BODY)
def create_item(cid: str, request: Request, user: CurrentUser, body: JsonBody, library: Lib) -> JSONResponse:
    # one item, or a FeatureCollection of items (all or none)
    many = isinstance(body, dict) and body.get("type") == "FeatureCollection"
    docs: Any = body.get("features") if many else [body]
    if not isinstance(docs, list):
        docs = []
    rows = library.publish(user, cid, docs)
    links = Links(request)
    if len(rows) == 1:
        return JSONResponse(links.item(rows[0].doc), status_code=201, media_type=GEOJSON)
    features = [links.item(row.doc) for row in rows]
    return JSONResponse({"type": "FeatureCollection", "features": features}, status_code=201, media_type=GEOJSON)


@router.put("/collections/{cid}/items/{iid}", openapi_extra=ITEM_BODY)
def update_item(cid: str, iid: str, request: Request, user: CurrentUser, body: JsonBody,
                library: Lib) -> JSONResponse:
    return JSONResponse(Links(request).item(library.update(user, cid, iid, body).doc), media_type=GEOJSON)


@router.patch("/collections/{cid}/items/{iid}", openapi_extra=PATCH_BODY)
def patch_item(cid: str, iid: str, request: Request, user: CurrentUser, body: JsonBody,
               library: Lib) -> JSONResponse:
    """JSON merge patch (RFC 7396) of an item: null removes a member, objects merge."""
    return JSONResponse(Links(request).item(library.patch(user, cid, iid, body).doc), media_type=GEOJSON)


@router.delete("/collections/{cid}/items/{iid}")
def delete_item(cid: str, iid: str, user: CurrentUser, library: Lib) -> Response:
    library.delete(user, cid, iid)
    return Response(status_code=204)
