"""The library's footprints as map tiles (`aquila.dissemination.tiles`), for the operational picture and any web map:
`GET /tiles/footprints.json` (TileJSON 3.0.0: the tile URL, the bounds, how many footprints and the highest
classification among them) and `GET /tiles/footprints/{z}/{x}/{y}.png` (Web Mercator XYZ, 512 px; 204 where the user
has none). Bearer token as everywhere: each user gets the footprints the library's search releases to them and
nothing else, drawn. Each read and each refused tile path is audited (the index behind them by the search's own
entries, under the reader it was built for: readers of the same rights share it)."""

from __future__ import annotations

import re
import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from aquila.api.deps import CurrentUser, Lib
from aquila.api.errors import error_response
from aquila.api.links import Links
from aquila.dissemination.footprint_cache import FootprintTiles
from aquila.dissemination.tiles import COLOURS, MAX_FOOTPRINTS, MAX_ZOOM, TILE_PX
from aquila.security.policy import User

__all__ = ["router", "CONFORMANCE", "footprint_tiles"]

CONFORMANCE: list[str] = []

router = APIRouter()
_INDEX = re.compile(r"0|[1-9][0-9]{0,5}")  # one spelling per tile: no sign, no leading zeros
_state_lock = threading.Lock()
# not kept by the browser: a tile of a high clearance would outlive the sign-out on disk (the server keeps them)
_TILE_CACHE = "no-store"


def footprint_tiles(request: Request) -> FootprintTiles:
    """The application's tile cache, made on first use (with its own reader of the catalog's outbox)."""
    state = request.app.state
    with _state_lock:
        tiles = getattr(state, "footprint_tiles", None)
        if tiles is None:
            events = state.instance.events()
            state.footprint_tiles_events = events
            tiles = state.footprint_tiles = FootprintTiles(events)
    return tiles


def _audit(library: Any, user: User, obj: str, reason: str) -> None:
    library.record(user, "read footprint tiles", obj, True, reason)


@router.get("/tiles/footprints.json")
def tilejson(request: Request, user: CurrentUser, library: Lib) -> JSONResponse:
    index = footprint_tiles(request).index(library, user)
    base = Links(request).root.rstrip("/")
    doc: dict[str, Any] = {
        "tilejson": "3.0.0", "name": "footprints", "scheme": "xyz", "minzoom": 0, "maxzoom": MAX_ZOOM,
        "description": "Footprints of the library's items released to you, coloured by classification",
        "tiles": [f"{base}/tiles/footprints/{{z}}/{{x}}/{{y}}.png?v={index.digest}"],
        "tileSize": TILE_PX,
        "aquila:footprints": index.count, "aquila:more": index.more, "aquila:max_footprints": MAX_FOOTPRINTS,
        "aquila:highest_classification": index.highest.name if index.highest is not None else None,
        "aquila:colours": {c.name: "#{:02x}{:02x}{:02x}".format(*rgb) for c, rgb in COLOURS.items()},
    }
    if index.bounds_deg is not None:
        doc["bounds"] = [round(v, 6) for v in index.bounds_deg]
    _audit(library, user, "tiles/footprints", f"{index.count} footprints")
    return JSONResponse(doc, headers={"Cache-Control": "no-store"})


@router.get("/tiles/footprints/{z}/{x}/{y}.png")
def tile(z: str, x: str, y: str, request: Request, user: CurrentUser, library: Lib) -> Response:
    if not all(_INDEX.fullmatch(v) for v in (z, x, y)) or int(z) > MAX_ZOOM or \
            max(int(x), int(y)) >= 2 ** int(z):
        library.record(user, "read footprint tiles", f"tiles/footprints/{z[:20]}/{x[:20]}/{y[:20]}", False,
                       "not a tile of the pyramid")
        return error_response(404, "NotFound", "not found", expected=f"a tile z/x/y with z 0..{MAX_ZOOM} and "
                              "x, y below 2^z, written without leading zeros")
    zi, xi, yi = int(z), int(x), int(y)
    png, drawn, _ = footprint_tiles(request).tile(library, user, zi, xi, yi)
    _audit(library, user, f"tiles/footprints/{zi}/{xi}/{yi}", f"{drawn} footprints drawn")
    if png is None:
        return Response(status_code=204, headers={"Cache-Control": _TILE_CACHE})
    return Response(png, media_type="image/png", headers={"Cache-Control": _TILE_CACHE})
