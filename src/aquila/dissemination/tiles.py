"""The library's footprints as map tiles for the operational picture: PNG raster tiles in the XYZ scheme of
every web map (Web Mercator, 512 px), drawn on the server from what the library releases to the user asking,
and a TileJSON document saying how many footprints there are, where, and the highest classification among them.

Why raster tiles, not the footprints themselves: a browser handed 10,000 polygons parses megabytes of JSON,
tiles them in a worker and draws every polygon again in every frame (software WebGL: ~120 ms a frame); handed
tiles, it decodes a dozen images and each frame is a few textured squares. Measured in
`benchmarks/cop_map.py` (docs/benchmarks.md). A click asks the search for what lies under the pointer.

What a user may not read is never drawn: the index is built by the library's own search as that user (each
search audited as any other), so a tile for a user with hidden footprints in the catalog is byte-for-byte
the tile of a catalog without them. Keeping indexes and tiles as the catalog changes: `footprint_cache`.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from aquila.security.labels import Classification

__all__ = ["TILE_PX", "MAX_ZOOM", "MAX_FOOTPRINTS", "COLOURS", "FootprintIndex", "build_index", "render_tile",
           "tile_bounds_deg"]

TILE_PX = 512
MAX_ZOOM = 18
MAX_FOOTPRINTS = 100_000
"""The newest this many footprints a user may read are drawn (the TileJSON says when there are more)."""
COLOURS = {Classification.NU: (0x43, 0xA0, 0x47), Classification.NR: (0x8E, 0x6F, 0xE0),
           Classification.NC: (0x3D, 0x7F, 0xE0), Classification.NS: (0xE5, 0x39, 0x35),
           Classification.CTS: (0xFF, 0x98, 0x00)}
"""The picture's colour of each classification (web/static/cop.js: COLOUR)."""
_FILL_ALPHA = 0x40
_POINT_PX = 4
_MAX_LAT = 85.0511287798


def _mercator(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator in world units (0..1 both ways, y down), as XYZ tiles are cut."""
    phi = np.radians(np.clip(lat, -_MAX_LAT, _MAX_LAT))
    return (lon + 180.0) / 360.0, (1.0 - np.log(np.tan(phi) + 1.0 / np.cos(phi)) / math.pi) / 2.0


def tile_bounds_deg(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of tile z/x/y in degrees."""
    n = 2 ** z

    def lat(t: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * t / n))))

    return x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y)


@dataclass(frozen=True)
class FootprintIndex:
    """A user's footprints ready to draw: rings (outer rings of polygons) and points in world units."""

    xy: np.ndarray
    """(vertices, 2) float64, every ring's vertices one after another."""
    starts: np.ndarray
    """(rings + 1,) int64: ring k is xy[starts[k]:starts[k + 1]]."""
    ring_box: np.ndarray
    """(rings, 4): min x, min y, max x, max y of each ring."""
    ring_level: np.ndarray
    """(rings,) int8 classification of each ring's item; rings are in drawing order (oldest first)."""
    points: np.ndarray
    """(points, 2) world units of Point footprints."""
    point_level: np.ndarray
    count: int
    """Items drawn (with a polygon or point geometry)."""
    more: bool
    """More footprints were released than MAX_FOOTPRINTS."""
    highest: Classification | None
    bounds_deg: tuple[float, float, float, float] | None
    digest: str
    """A digest of what is drawn: the same footprints, the same digest."""
    keys: frozenset[str] = frozenset()
    """"collection/id" of every item drawn (to tell whether a catalog change concerns it)."""
    readable_collections: frozenset[str] = frozenset()
    """Ids of the collections the user could read when it was built (an item is readable only in one)."""


def _rings(geometry: Any) -> list[list[Any]]:
    if not isinstance(geometry, dict):
        return []
    if geometry.get("type") == "Polygon":
        return [geometry["coordinates"][0]] if geometry.get("coordinates") else []
    if geometry.get("type") == "MultiPolygon":
        return [poly[0] for poly in geometry.get("coordinates") or [] if poly]
    return []


def build_index(features: list[dict[str, Any]], more: bool = False,
                readable_collections: frozenset[str] = frozenset()) -> FootprintIndex:
    """The index of `features` (STAC items, newest first as the search returns them: drawn last, on top)."""
    keys = frozenset(f"{f.get('collection')}/{f.get('id')}" for f in features)
    rings: list[Any] = []
    levels: list[int] = []
    pts: list[Any] = []
    pt_levels: list[int] = []
    count = 0
    highest = -1
    for f in reversed(features):
        level = int(Classification.parse(f["properties"]["sec:classification"]))
        geometry = f.get("geometry")
        mine = [r for r in _rings(geometry) if len(r) >= 3]
        if isinstance(geometry, dict) and geometry.get("type") == "Point":
            pts.append(geometry["coordinates"][:2])
            pt_levels.append(level)
        elif not mine:
            continue
        rings += mine
        levels += [level] * len(mine)
        count += 1
        highest = max(highest, level)
    lengths = np.array([len(r) for r in rings], np.int64)
    lonlat = np.array([v[:2] for r in rings for v in r], np.float64).reshape(-1, 2)
    ring_of = np.repeat(np.arange(len(rings)), lengths)
    lon = lonlat[:, 0].copy()
    if len(rings):  # a ring with an edge jumping over 180 deg of longitude crosses the antimeridian (as
        # everywhere in Aquila, docs/design.md "Antimeridian"; a wide ring of short edges is drawn as it is):
        # unwrapped east, and drawn again west
        jump = (np.abs(np.diff(lon)) > 180.0) & (ring_of[1:] == ring_of[:-1])
        wraps = np.bincount(ring_of[1:][jump], minlength=len(rings)) > 0
        lon[wraps[ring_of] & (lon < 0)] += 360.0
    else:
        wraps = np.zeros(0, bool)
    mx, my = _mercator(lon, lonlat[:, 1])
    ring_levels = np.array(levels, np.int8)
    if wraps.any():
        extra = wraps[ring_of]
        mx = np.concatenate([mx, mx[extra] - 1.0])
        my = np.concatenate([my, my[extra]])
        lengths = np.concatenate([lengths, lengths[wraps]])
        ring_levels = np.concatenate([ring_levels, ring_levels[wraps]])
    starts = _offsets(lengths)
    xy = np.column_stack([mx, my])
    if len(lengths):
        box = np.column_stack([np.minimum.reduceat(mx, starts[:-1]), np.minimum.reduceat(my, starts[:-1]),
                               np.maximum.reduceat(mx, starts[:-1]), np.maximum.reduceat(my, starts[:-1])])
    else:
        box = np.zeros((0, 4))
    p = np.array(pts, np.float64).reshape(-1, 2)
    px, py = _mercator(p[:, 0], p[:, 1])
    points = np.column_stack([px, py])
    h = hashlib.sha256()
    for arr in (xy, starts, ring_levels, points, np.array(pt_levels, np.int8)):
        h.update(np.ascontiguousarray(arr).tobytes())
    bounds = None
    every = np.concatenate([np.column_stack([lon, lonlat[:, 1]]), p])
    if len(every):
        bounds = (max(float(every[:, 0].min()), -180.0), max(float(every[:, 1].min()), -_MAX_LAT),
                  min(float(every[:, 0].max()), 180.0), min(float(every[:, 1].max()), _MAX_LAT))
    return FootprintIndex(xy, starts, box, ring_levels, points, np.array(pt_levels, np.int8), count, more,
                          Classification(highest) if highest >= 0 else None, bounds, h.hexdigest()[:16], keys,
                          readable_collections | frozenset(k.split("/", 1)[0] for k in keys))


def _offsets(lengths: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def render_tile(index: FootprintIndex, z: int, x: int, y: int, size_px: int = TILE_PX) -> tuple[bytes | None, int]:
    """(PNG of tile z/x/y, or None where it holds nothing; footprints drawn): each footprint filled in its
    classification's colour, translucent, with an opaque outline; points as small discs. Where footprints
    overlap, the newest one's fill shows (fills do not add up: a pile of old scenes does not hide the map)."""
    from PIL import Image, ImageDraw

    n = 2 ** z
    scale = n * size_px
    margin = 2.0 / scale  # an outline pixel reaches past the polygon
    x0, y0, x1, y1 = x / n - margin, y / n - margin, (x + 1) / n + margin, (y + 1) / n + margin
    b = index.ring_box
    rings = np.flatnonzero((b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0))
    pr = _POINT_PX / scale
    p = index.points
    pts = np.flatnonzero((p[:, 0] >= x0 - pr) & (p[:, 0] <= x1 + pr) & (p[:, 1] >= y0 - pr) & (p[:, 1] <= y1 + pr))
    if not len(rings) and not len(pts):
        return None, 0
    image = Image.new("RGBA", (size_px, size_px), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image, "RGBA")
    origin = np.array([x * size_px, y * size_px], np.float64)
    lo, hi = -_CLIP_PAD_PX, size_px + _CLIP_PAD_PX
    for k in rings.tolist():
        a, e = index.starts[k], index.starts[k + 1]
        px = index.xy[a:e] * scale - origin
        r, g, bl = COLOURS[Classification(int(index.ring_level[k]))]
        parts = [px] if px.min() >= lo and px.max() <= hi else _clipped(px, lo, hi)
        for part in parts:
            draw.polygon(part.ravel().tolist(), fill=(r, g, bl, _FILL_ALPHA), outline=(r, g, bl, 255))
    for k in pts.tolist():
        cx, cy = index.points[k] * scale - origin
        colour = COLOURS[Classification(int(index.point_level[k]))]
        draw.ellipse((cx - _POINT_PX, cy - _POINT_PX, cx + _POINT_PX, cy + _POINT_PX), fill=colour + (220,),
                     outline=(255, 255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue(), len(rings) + len(pts)


_CLIP_PAD_PX = 4.0


def _clipped(px: np.ndarray, lo: float, hi: float) -> list[np.ndarray]:
    """The parts of ring `px` (pixels) inside the square lo..hi: a ring reaching far past the tile is drawn only
    where it shows (else the drawing walks each edge over its whole length — seconds at high zoom); the cut
    edges lie outside the tile, in the pad."""
    import shapely

    ring = shapely.Polygon(px)
    if not ring.is_valid:
        ring = shapely.make_valid(ring)
    out = []
    for g in shapely.get_parts(shapely.clip_by_rect(ring, lo, lo, hi, hi)):
        if isinstance(g, shapely.Polygon) and not g.is_empty:
            out.append(np.asarray(g.exterior.coords))
    return out
