"""The common operational picture's files: `GET /cop/` (the app), `/cop/<file>`, `/cop/vendor/<file>` (its
vendored libraries) and `/cop/vendor/basemap/{z}/{x}/{y}.pbf` (the offline basemap's vector tiles). Public
like a login page, since they hold no data: every layer is fetched by the app from the API with the user's
token. Only the names in `aquila.web`'s tables (and tiles of its pyramid) are served; a browser asking for
the landing page (`GET /` with `Accept: text/html`, no token) is sent here."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from aquila.api.errors import error_response
from aquila.web import APP_FILES, BASEMAP_DIR, VENDOR, basemap_tile, vendor_missing, web_file

__all__ = ["router", "CONFORMANCE", "CSP", "wants_picture"]

CONFORMANCE: list[str] = []

# Everything from this origin, nothing inline, no frames; MapLibre's workers may start from a blob it builds
CSP = ("default-src 'none'; script-src 'self'; worker-src 'self' blob:; child-src 'self' blob:; "
       "style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

router = APIRouter()


def wants_picture(request: Request) -> bool:
    """A browser opening the service's root (asks for HTML, carries no token): it wants the picture."""
    return (request.method == "GET" and request.url.path == "/" and "authorization" not in request.headers
            and "text/html" in request.headers.get("accept", ""))


def _serve(table: dict[str, tuple[str, str]], name: str, cache: str) -> Response:
    found = web_file(table, name)
    if found is None:
        if name in table:  # a known file the set-up did not install: say how to fix it
            missing = ", ".join(vendor_missing()) or name
            return error_response(503, "NotInstalled", f"the picture's files are not installed ({missing})",
                                  expected="run the set-up step: make web (npm ci in src/aquila/web)")
        return error_response(404, "NotFound", "not found")
    path, media_type = found
    return FileResponse(path, media_type=media_type,
                        headers={"Cache-Control": cache, "Content-Security-Policy": CSP})


@router.get("/cop", include_in_schema=False)
def picture_root() -> Response:
    return RedirectResponse("/cop/", status_code=307)


@router.get("/cop/", include_in_schema=False)
def picture() -> Response:
    return _serve(APP_FILES, "index.html", "no-cache")


_TILE_INDEX = re.compile(r"0|[1-9][0-9]{0,4}")  # one spelling per tile: no leading zeros


@router.get("/cop/vendor/basemap/{z}/{x}/{y}.pbf", include_in_schema=False)
def basemap(z: str, x: str, y: str) -> Response:
    """A tile of the offline basemap; 204 (an empty tile) where there is only sea, 404 off the pyramid."""
    path = basemap_tile(*map(int, (z, x, y))) if all(_TILE_INDEX.fullmatch(v) for v in (z, x, y)) else None
    if path is None:
        return error_response(404, "NotFound", "not found")
    if not (BASEMAP_DIR / "done").is_file():
        return error_response(503, "NotInstalled", "the picture's basemap tiles are not built",
                              expected="run the set-up step: make web (npm ci and node basemap.mjs in src/aquila/web)")
    headers = {"Cache-Control": "public, max-age=86400", "Content-Security-Policy": CSP}
    if not path.is_file():
        return Response(status_code=204, headers=headers)
    return FileResponse(path, media_type="application/x-protobuf", headers=headers)


@router.get("/cop/vendor/{name}", include_in_schema=False)
def vendored(name: str) -> Response:
    return _serve(VENDOR, name, "public, max-age=86400")  # pinned versions: stable for a day at least


@router.get("/cop/{name}", include_in_schema=False)
def app_file(name: str) -> Response:
    return _serve({k: v for k, v in APP_FILES.items() if k != "index.html"}, name, "no-cache")
