"""Footprint tiles: each footprint drawn where Web Mercator puts it (checked with PROJ through rasterio, not the
code under test), in its classification's colour, newest on top; the TileJSON counts, bounds and marks what
the tiles draw; the server's index follows the catalog (a new footprint appears, a withdrawn one goes)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from aquila.dissemination.tiles import COLOURS, build_index, render_tile, tile_bounds_deg
from aquila.security.labels import Classification
from aquila.security.policy import Role, User
from conftest import WEB_MERCATOR_HALF_M as HALF
from conftest import tile_pixel


def _box(lon: float, lat: float, w: float, h: float, cls: str, when: str = "2026-12-01T00:00:00Z") -> dict[str, Any]:
    return {"geometry": {"type": "Polygon", "coordinates": [[[lon, lat], [lon + w, lat], [lon + w, lat + h],
                                                             [lon, lat + h], [lon, lat]]]},
            "properties": {"sec:classification": cls, "datetime": when}}


def _image(png: bytes | None) -> Image.Image:
    assert png is not None
    return Image.open(io.BytesIO(png)).convert("RGBA")


def test_a_footprint_is_drawn_where_proj_puts_it_in_its_colour() -> None:
    """A box's corners, measured by PROJ, bound the drawn pixels within one pixel; inside it is the translucent
    fill of its classification, on its edge the opaque outline, outside nothing."""
    z = 6
    lon, lat, w, h = 18.2, 57.1, 0.9, 0.4
    index = build_index([_box(lon, lat, w, h, "NS")])
    x0, y0, c0, r0 = tile_pixel(lon, lat + h, z)  # north-west corner
    x1, y1, c1, r1 = tile_pixel(lon + w, lat, z)  # south-east corner
    assert (x0, y0) == (x1, y1), "the test box should lie in one tile"
    png, drawn = render_tile(index, z, x0, y0)
    img = np.asarray(_image(png))
    assert drawn == 1
    alpha = img[:, :, 3] > 0
    rows, cols = np.nonzero(alpha)
    assert abs(cols.min() - c0) <= 1.0 and abs(cols.max() - c1) <= 1.0
    assert abs(rows.min() - r0) <= 1.0 and abs(rows.max() - r1) <= 1.0
    red = COLOURS[Classification.NS]
    mid = img[int((r0 + r1) / 2), int((c0 + c1) / 2)]
    assert tuple(mid[:3]) == red and 0 < mid[3] < 255  # the fill: translucent
    edge = img[rows.min(), int((c0 + c1) / 2)]  # the first drawn row: the north edge
    assert tuple(edge[:3]) == red and edge[3] == 255  # the outline
    assert render_tile(index, z, x0 + 2, y0) == (None, 0)  # a tile with nothing: no image at all


def test_the_newest_footprint_is_drawn_on_top_and_points_are_discs() -> None:
    old = _box(10.0, 50.0, 1.0, 1.0, "NU")
    new = _box(10.2, 50.2, 0.5, 0.5, "CTS")
    point = {"geometry": {"type": "Point", "coordinates": [10.9, 50.1]}, "properties": {"sec:classification": "NR"}}
    index = build_index([new, point, old])  # newest first, as the search returns them
    assert index.count == 3 and index.highest == Classification.CTS
    x, y, col, row = tile_pixel(10.45, 50.45, 6)
    png, drawn = render_tile(index, 6, x, y)
    img = _image(png)
    top = img.getpixel((int(col), int(row)))
    # where they overlap the newest's fill shows (CTS, orange), not the older one's (NU, green)
    assert top[:3] == COLOURS[Classification.CTS] and 0 < top[3] < 255
    ox, oy, oc, orow = tile_pixel(10.1, 50.9, 6)  # the old one alone
    assert (ox, oy) == (x, y) and img.getpixel((int(oc), int(orow)))[:3] == COLOURS[Classification.NU]
    px, py, pc, pr = tile_pixel(10.9, 50.1, 6)
    assert (px, py) == (x, y) and img.getpixel((int(pc), int(pr)))[:3] == COLOURS[Classification.NR]
    assert drawn == 3


def test_a_footprint_across_the_antimeridian_is_drawn_on_both_sides_and_a_wide_one_as_it_is() -> None:
    """A ring with an edge jumping over 180 deg crosses the antimeridian (Aquila's rule everywhere): it is drawn
    on both sides of it; a ring 200 deg wide of short edges is a wide footprint, drawn across the middle."""
    crossing = _box(0, 0, 0, 0, "NU") | {"geometry": {"type": "Polygon", "coordinates": [[
        [179.5, -17.0], [-179.5, -17.0], [-179.5, -16.5], [179.5, -16.5], [179.5, -17.0]]]}}
    index = build_index([crossing])
    z = 4
    east = tile_pixel(179.9, -16.75, z)
    west = tile_pixel(-179.9, -16.75, z)
    assert east[0] == 2 ** z - 1 and west[0] == 0
    for x, y, col, row in (east, west):
        png, _ = render_tile(index, z, x, y)
        assert _image(png).getpixel((int(col), int(row)))[3] > 0
    assert render_tile(index, z, *tile_pixel(0.0, -16.75, z)[:2]) == (None, 0)  # not the long way round
    w, s, e, n = index.bounds_deg or (0, 0, 0, 0)
    assert -180 <= w <= e <= 180
    band = [[lon, 10.0] for lon in range(-100, 101, 10)] + [[lon, 20.0] for lon in range(100, -101, -10)]
    wide = build_index([_box(0, 0, 0, 0, "NU") | {"geometry": {"type": "Polygon", "coordinates": [band + [band[0]]]}}])
    for lon in (-90.0, 0.0, 90.0):
        x, y, col, row = tile_pixel(lon, 15.0, z)
        png, _ = render_tile(wide, z, x, y)
        assert _image(png).getpixel((int(col), int(row)))[3] > 0, lon
    assert wide.bounds_deg == (-100.0, 10.0, 100.0, 20.0)
    assert render_tile(wide, z, *tile_pixel(179.0, 15.0, z)[:2]) == (None, 0)


def test_tile_bounds_agree_with_proj() -> None:
    from rasterio.warp import transform

    for z, x, y in ((0, 0, 0), (5, 17, 9), (12, 2200, 1300)):
        w, s, e, n = tile_bounds_deg(z, x, y)
        xs, ys = transform("EPSG:4326", "EPSG:3857", [w, e], [n, s])
        size = 2 * HALF / 2 ** z
        assert xs[0] == pytest.approx(-HALF + x * size, abs=0.01) and xs[1] == pytest.approx(-HALF + (x + 1) * size,
                                                                                              abs=0.01)
        assert ys[0] == pytest.approx(HALF - y * size, abs=0.01) and ys[1] == pytest.approx(HALF - (y + 1) * size,
                                                                                             abs=0.01)


def test_an_index_without_footprints_draws_nothing() -> None:
    index = build_index([{"geometry": None, "properties": {"sec:classification": "NU"}}])
    assert index.count == 0 and index.highest is None and index.bounds_deg is None
    assert render_tile(index, 0, 0, 0) == (None, 0)


# --- over HTTP ---------------------------------------------------------------------------------------------

DEU = User("DEU", Classification.NS, subject="deu-tiles")
FRA = User("FRA", Classification.NS, roles=frozenset({Role.PROVIDER}), subject="fra-feed")


def _item(iid: str, lon: float, lat: float, cls: str = "NR", rel: tuple[str, ...] = ("NATO",)) -> dict[str, Any]:
    return {"type": "Feature", "stac_version": "1.1.0", "id": iid, "collection": "scenes", "links": [], "assets": {},
            "geometry": {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 1, lat], [lon + 1, lat + 0.5],
                                                             [lon, lat + 0.5], [lon, lat]]]},
            "properties": {"datetime": "2026-12-01T00:00:00Z", "sec:classification": cls,
                           "sec:releasable_to": list(rel), "sec:originator": "FRA"}}


def test_the_tilejson_and_the_tiles_follow_the_catalog(live: Any) -> None:
    live.instance.library.operator_collection({"type": "Collection", "id": "scenes", "description": "scenes",
                                               "sec:classification": "NU", "sec:releasable_to": ["NATO"],
                                               "sec:originator": "FRA"})
    with live.client(FRA) as fra, live.client(DEU) as deu:
        empty = deu.get("/tiles/footprints.json").json()
        assert empty["aquila:footprints"] == 0 and "bounds" not in empty
        assert empty["aquila:highest_classification"] is None
        assert fra.post("/collections/scenes/items", json=_item("a", 20.0, 55.0)).status_code == 201
        doc = deu.get("/tiles/footprints.json").json()
        assert doc["tilejson"] == "3.0.0" and doc["aquila:footprints"] == 1
        assert doc["bounds"] == [20.0, 55.0, 21.0, 55.5] and doc["aquila:highest_classification"] == "NR"
        assert doc["tiles"][0].startswith(f"{live.url}/tiles/footprints/{{z}}/{{x}}/{{y}}.png?v=")
        x, y, col, row = tile_pixel(20.5, 55.25, 8)
        r = deu.get(f"/tiles/footprints/8/{x}/{y}.png")
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert _image(r.content).getpixel((int(col), int(row)))[:3] == COLOURS[Classification.NR]
        assert r.headers["cache-control"] == "no-store"  # a high-clearance tile does not outlive the sign-out
        # a second footprint, NS: counted, the marking rises, the digest in the URL changes
        assert fra.post("/collections/scenes/items", json=_item("b", 22.0, 56.0, "NS")).status_code == 201
        doc2 = deu.get("/tiles/footprints.json").json()
        assert doc2["aquila:footprints"] == 2 and doc2["aquila:highest_classification"] == "NS"
        assert doc2["tiles"] != doc["tiles"]
        # withdrawn: gone from the tiles at the next request
        assert fra.delete("/collections/scenes/items/a").status_code in (200, 204)
        assert deu.get(f"/tiles/footprints/8/{x}/{y}.png").status_code == 204
        assert deu.get("/tiles/footprints.json").json()["aquila:footprints"] == 1
    reads = [e for e in live.instance.audit.entries(after=0, limit=100_000) if e.subject == "deu-tiles"]
    assert any(e.action == "read footprint tiles" and e.object == f"tiles/footprints/8/{x}/{y}" for e in reads)
    assert any(e.action == "search" for e in reads)  # the index is the search's, audited as one
