"""Landing page, conformance, the OpenAPI description, queryables, and who the caller is (`/me`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from aquila.api.deps import CurrentUser, Lib, token_times
from aquila.api.links import GEOJSON, JSON, QUERYABLES_REL, Links
from aquila.api.schemas import OPENAPI

__all__ = ["router", "CONFORMANCE"]

CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
]

router = APIRouter()


@router.get("/api", include_in_schema=False)
def openapi_doc(request: Request) -> JSONResponse:
    """The OpenAPI description (public, like any service description)."""
    return JSONResponse(request.app.openapi(), media_type=OPENAPI)


@router.get("/api.html", include_in_schema=False)
def openapi_html() -> Response:
    from fastapi.openapi.docs import get_swagger_ui_html

    return get_swagger_ui_html(openapi_url="/api", title="Aquila API")


@router.get("/")
def landing(request: Request, user: CurrentUser) -> JSONResponse:
    links = Links(request)
    return JSONResponse({
        "type": "Catalog", "stac_version": "1.1.0", "id": "aquila", "title": "Aquila shared library",
        "description": "Allied ISR products; each user sees exactly what their labels release to them.",
        "conformsTo": request.app.state.conformance,
        "links": [
            {"rel": "self", "type": JSON, "href": links.root},
            {"rel": "root", "type": JSON, "href": links.root},
            {"rel": "conformance", "type": JSON, "href": links.href("conformance")},
            {"rel": "data", "type": JSON, "href": links.href("collections")},
            {"rel": "search", "type": GEOJSON, "href": links.href("search_get"), "method": "GET"},
            {"rel": "search", "type": GEOJSON, "href": links.href("search_post"), "method": "POST"},
            {"rel": "service-desc", "type": OPENAPI, "href": links.href("openapi_doc")},
            {"rel": "service-doc", "type": "text/html", "href": links.href("openapi_html")},
            {"rel": QUERYABLES_REL, "type": "application/schema+json", "href": links.href("queryables")},
        ]})


@router.get("/me")
def me(request: Request, user: CurrentUser) -> JSONResponse:
    """The caller as the server sees its token: what every answer it gets is decided on."""
    from datetime import UTC, datetime

    _, exp, _ = token_times(request)
    return JSONResponse({
        "subject": user.subject, "nation": user.nation, "clearance": user.clearance.name,
        "clearance_name": user.clearance.full_name, "caveats": sorted(user.caveats),
        "roles": sorted(r.value for r in user.roles),
        "expires": datetime.fromtimestamp(exp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if exp else None})


@router.get("/conformance")
def conformance(request: Request, user: CurrentUser) -> JSONResponse:
    return JSONResponse({"conformsTo": request.app.state.conformance})


def _queryables(href: str) -> JSONResponse:
    return JSONResponse({
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": href, "type": "object", "title": "Queryables",
        "properties": {
            "id": {"type": "string"}, "collection": {"type": "string"},
            "datetime": {"type": "string", "format": "date-time"},
            "geometry": {"$ref": "https://geojson.org/schema/Geometry.json"},
            "sec:classification": {"type": "string", "enum": ["NU", "NR", "NC", "NS", "CTS"]},
            "sec:originator": {"type": "string"},
            "eo:cloud_cover": {"type": "number"}, "platform": {"type": "string"},
        },
        "additionalProperties": True}, media_type="application/schema+json")


@router.get("/queryables")
def queryables(request: Request, user: CurrentUser) -> JSONResponse:
    return _queryables(Links(request).href("queryables"))


@router.get("/collections/{cid}/queryables")
def collection_queryables(cid: str, request: Request, user: CurrentUser, library: Lib) -> JSONResponse:
    library.collection(user, cid, "read queryables", "collection not found or not releasable")
    return _queryables(Links(request).href("collection_queryables", cid=cid))
