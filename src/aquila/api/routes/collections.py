"""Collections: listed and read under their label; created, replaced and deleted by their nation's admins."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from aquila.api.deps import CurrentUser, JsonBody, Lib
from aquila.api.links import JSON, Links
from aquila.api.schemas import COLLECTION_BODY

__all__ = ["router", "CONFORMANCE"]

CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features/extensions/transaction",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/simpletx",
]

router = APIRouter()


@router.get("/collections")
def collections(request: Request, user: CurrentUser, library: Lib) -> JSONResponse:
    links = Links(request)
    cols = [links.collection(c) for c in library.collections(user)]
    return JSONResponse({"collections": cols, "links": [
        {"rel": "self", "type": JSON, "href": links.href("collections")},
        {"rel": "root", "type": JSON, "href": links.root},
        {"rel": "parent", "type": JSON, "href": links.root}]})


@router.get("/collections/{cid}")
def collection(cid: str, request: Request, user: CurrentUser, library: Lib) -> JSONResponse:
    return JSONResponse(Links(request).collection(library.get_collection(user, cid).doc))


@router.post("/collections", status_code=201, openapi_extra=COLLECTION_BODY)
def create_collection(request: Request, user: CurrentUser, body: JsonBody, library: Lib) -> JSONResponse:
    return JSONResponse(Links(request).collection(library.create_collection(user, body)), status_code=201)


@router.put("/collections/{cid}", openapi_extra=COLLECTION_BODY)
def update_collection(cid: str, request: Request, user: CurrentUser, body: JsonBody, library: Lib) -> JSONResponse:
    return JSONResponse(Links(request).collection(library.update_collection(user, cid, body)))


@router.delete("/collections/{cid}")
def delete_collection(cid: str, user: CurrentUser, library: Lib) -> Response:
    library.delete_collection(user, cid)
    return Response(status_code=204)
