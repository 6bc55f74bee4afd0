"""The library's footprints as map tiles for the operational picture: PNG raster tiles in the XYZ scheme of
every web map (Web Mercator, 512 px), drawn on the server from what the library releases to the user asking,
and a TileJSON document saying how many footprints there are, where, and the highest classification among them.

Why raster tiles, not the footprints themselves: a browser handed 10,000 polygons parses megabytes of JSON,
tiles them in a worker and draws every polygon again in every frame (software WebGL: ~120 ms a frame); handed
tiles, it decodes a dozen images and each frame is a few textured squares. Measured in
`benchmarks/cop_map.py` (docs/benchmarks.md). A click asks the search for what lies under the pointer.

What a user may not read is never drawn: the index is built by the library's own search as that user (each
search audited as any other), so a tile for a user with hidden footprints in the catalog is byte-for-byte
the tile of a catalog without them. Indexes are cached per user and catalog version (the outbox's last event),
so a change anywhere rebuilds it at the next request; what the picture learns of it is a digest of the user's
own footprints (`FootprintIndex.digest`), which hidden changes leave as it was.
"""

from __future__ import annotations

import hashlib
import io
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aquila.catalog.gcpause import gc_paused
from aquila.catalog.model import SearchQuery
from aquila.errors import Busy, QueryTooExpensive
from aquila.limits import MAX_LIMIT
from aquila.security.labels import Classification
from aquila.security.policy import User, decide

__all__ = ["TILE_PX", "MAX_ZOOM", "MAX_FOOTPRINTS", "COLOURS", "FootprintIndex", "build_index", "render_tile",
           "FootprintTiles", "tile_bounds_deg"]

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


_ENTRY_BYTES = 512
"""What a cached tile costs beyond its PNG (key, tuple, dict slot), counted against the cache's bound."""
_CHANGES_READ = 10_000
"""Catalog changes judged per read of the outbox; while an index is built, more than this: it is rebuilt."""
_PATCH_MOST = 1_000
"""More items changed than this since an index was built: it is built again by one search."""
_IDLE_S = 60.0
"""The watcher stops after this long without a request (and starts again with the next)."""


def concerns(user: User, index: FootprintIndex, event: Any) -> bool:
    """Whether a catalog change may change what `user`'s index draws: it is about something the user may read
    now (its label releases to them: a new, updated or relabelled-down item or collection) or about something
    the index holds (an item drawn, or the collection of one: withdrawn, relabelled up). A change to what the
    user could never read concerns no index of theirs — so it does not cost them a rebuild whose time would
    tell them it happened."""
    if event.kind.startswith("asset."):
        return False  # assets do not move footprints
    if event.item is not None:  # readable only in a collection the user may read (`decide_item`)
        return f"{event.collection}/{event.item}" in index.keys or (
            event.collection in index.readable_collections and bool(decide(user, event.label)))
    return event.collection in index.readable_collections or bool(decide(user, event.label))


Rights = tuple[str, Classification, frozenset[str]]


def rights(user: User) -> Rights:
    """What decides what a user may read (`security.policy.decide`): users alike in it share an index."""
    return user.nation, user.clearance, user.caveats


@dataclass
class _Entry:
    index: FootprintIndex
    user: User
    """A user of these rights: the one `concerns` judges changes for."""
    features: dict[str, list[dict[str, Any]]]
    """What the index was built from, by "collection/id" (an id may have instances of several labels)."""
    pending: set[str] = field(default_factory=set)
    """Items changed since (each read again through the search before the index is used)."""
    full: bool = False
    """A change only a whole new search can follow (a collection's, or too many items')."""

    @property
    def dirty(self) -> bool:
        return self.full or bool(self.pending)

    def mark(self, event: Any) -> None:
        if event.item is None or self.index.more or len(self.pending) >= _PATCH_MOST:
            self.full = True
        else:
            self.pending.add(f"{event.collection}/{event.item}")


class FootprintTiles:
    """Footprint indexes per reader's rights and rendered tiles, kept until a catalog change concerns them.

    `events` is the catalog's outbox (`head()`, `since(seq, limit)`). A watcher thread judges each change as it
    commits against every kept index (`concerns`) and marks those it concerns; a request only catches up with
    what committed since the watcher's last look (~50 ms), so its time does not grow with the changes a user
    could never read. One build per rights at a time (the dozen tile requests of a page load wait for the
    first one's), at most `max_builds` at once for the whole server."""

    def __init__(self, events: Any, max_rights: int = 64, max_tile_bytes: int = 64 * 1024 * 1024,
                 max_builds: int = 2, watch_interval_s: float = 0.05) -> None:
        self._events = events
        self._entries: OrderedDict[Rights, _Entry] = OrderedDict()
        self._building: dict[Rights, threading.Lock] = {}
        self._tiles: OrderedDict[tuple[Rights, str, int, int, int], tuple[bytes | None, int]] = OrderedDict()
        self._tile_bytes = 0
        self._max_rights, self._max_tile_bytes = max_rights, max_tile_bytes
        self._builds = threading.BoundedSemaphore(max_builds)
        self._lock = threading.Lock()
        self._judge = threading.Lock()
        self._seen = int(events.head())
        self._interval_s = watch_interval_s
        self._watcher: threading.Thread | None = None
        self._last_use = 0.0
        self._closed = threading.Event()

    def close(self) -> None:
        self._closed.set()

    # --- the watcher ------------------------------------------------------------------------------------------
    def _catch_up(self) -> None:
        """Judge every change committed so far against the kept indexes."""
        with self._judge:
            head = int(self._events.head())
            while self._seen < head:
                batch = self._events.since(self._seen, _CHANGES_READ)
                if not batch:
                    break
                with self._lock:
                    entries = list(self._entries.values())
                for e in batch:
                    for entry in entries:
                        if not entry.full and concerns(entry.user, entry.index, e):
                            entry.mark(e)
                self._seen = batch[-1].seq

    def _watch(self) -> None:
        while not self._closed.wait(self._interval_s):
            if time.monotonic() - self._last_use > _IDLE_S:
                break  # nobody looked at the map for a while: stop; the next request starts it again
            try:
                self._catch_up()
            except Exception:  # the catalog closed under us (shutdown): requests catch up themselves
                break
        with self._lock:
            self._watcher = None

    def _use(self) -> None:
        self._last_use = time.monotonic()
        with self._lock:
            if self._watcher is None and not self._closed.is_set():
                self._watcher = threading.Thread(target=self._watch, name="footprint-tiles", daemon=True)
                self._watcher.start()

    # --- indexes and tiles ------------------------------------------------------------------------------------
    def index(self, library: Any, user: User) -> FootprintIndex:
        """The footprints `user` may read now (the library's search as a user of their rights, newest first)."""
        self._use()
        self._catch_up()
        key = rights(user)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and not entry.dirty:
                self._entries.move_to_end(key)
                return entry.index
            build = self._building.setdefault(key, threading.Lock())
        with build:
            with self._lock:
                entry = self._entries.get(key)
            if entry is not None and not entry.dirty:
                return entry.index
            with self._builds:
                with self._judge:  # what was judged so far is in `pending`; what comes later is judged below
                    start = self._seen
                    keys, patch = (entry.pending, not entry.full) if entry is not None else (set(), False)
                if patch and entry is not None:  # a few items changed: read those again
                    features = _patched(library, user, entry.features, keys)
                    readable = entry.index.readable_collections
                else:
                    features, readable = _gather(library, user)
                index = _indexed(features, readable)
            fresh = _Entry(index, user, features)
            with self._lock:
                self._entries[key] = fresh
                self._entries.move_to_end(key)
                while len(self._entries) > self._max_rights:
                    gone, _ = self._entries.popitem(last=False)
                    self._building.pop(gone, None)
            # what committed while the search ran, and the watcher judged before this entry was there
            with self._judge:
                late = self._events.since(start, _CHANGES_READ) if self._seen > start else []
                if len(late) == _CHANGES_READ:
                    fresh.full = True
                for e in late:
                    if e.seq <= self._seen and not fresh.full and concerns(user, index, e):
                        fresh.mark(e)
            return index

    def tile(self, library: Any, user: User, z: int, x: int, y: int) -> tuple[bytes | None, int, FootprintIndex]:
        """(PNG or None, footprints drawn, the index it was drawn from) of tile z/x/y for `user`."""
        index = self.index(library, user)
        key = (rights(user), index.digest, z, x, y)
        with self._lock:
            hit = self._tiles.get(key)
            if hit is not None:
                self._tiles.move_to_end(key)
                return hit[0], hit[1], index
        png, drawn = render_tile(index, z, x, y)
        if png is None:  # empty tiles are not kept: cheap to find again, and any number can be asked for
            return png, drawn, index
        with self._lock:
            if key not in self._tiles:
                self._tiles[key] = (png, drawn)
                self._tile_bytes += len(png) + _ENTRY_BYTES
                while self._tile_bytes > self._max_tile_bytes and self._tiles:
                    _, (old, _) = self._tiles.popitem(last=False)
                    self._tile_bytes -= len(old or b"") + _ENTRY_BYTES
        return png, drawn, index


_LABEL = ("sec:classification", "sec:originator", "sec:releasable_to", "sec:caveats")


def _order(f: dict[str, Any]) -> tuple[str, str, str]:
    p = f["properties"]
    return str(p.get("datetime") or ""), f"{f.get('collection')}/{f.get('id')}", repr([p.get(k) for k in _LABEL])


def _slim(f: dict[str, Any]) -> dict[str, Any]:
    p = f["properties"]
    return {"collection": f.get("collection"), "id": f.get("id"), "geometry": f.get("geometry"),
            "properties": {"datetime": p.get("datetime"), **{k: p.get(k) for k in _LABEL}}}


def _by_key(found: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for f in found:
        out.setdefault(f"{f['collection']}/{f['id']}", []).append(f)
    return out


def _pages(library: Any, user: User, q: SearchQuery, most: int) -> tuple[list[dict[str, Any]], bool]:
    """(up to `most` items the search releases to `user` for `q`, slimmed; whether there were more)."""
    out: list[dict[str, Any]] = []
    with gc_paused():  # pages of decoded items hold no cycles (see aquila.catalog.gcpause)
        while True:
            try:
                page = library.search(user, q)
            except QueryTooExpensive as exc:  # the search's time budget: not the map user's to narrow
                raise Busy("the library's footprints take too long to gather now: try again shortly") from exc
            out += [_slim(f) for f in page.features]
            if page.next_offset is None:
                return out, False
            if len(out) >= most:
                return out, True
            q.offset = page.next_offset


def _gather(library: Any, user: User) -> tuple[dict[str, list[dict[str, Any]]], frozenset[str]]:
    """Every footprint the library's search releases to `user`, newest first, up to MAX_FOOTPRINTS (one more
    marks that there were more); with the ids of the collections they may read (so that a new item in one,
    still empty for them, is not missed)."""
    readable = frozenset(str(c.get("id")) for c in library.store.collections(user))
    found, more = _pages(library, user, SearchQuery(limit=MAX_LIMIT, sortby=[("properties.datetime", "desc")]),
                         MAX_FOOTPRINTS)
    found = found[:MAX_FOOTPRINTS + (1 if more else 0)]
    return _by_key(found), readable


def _patched(library: Any, user: User, features: dict[str, list[dict[str, Any]]], keys: set[str]
             ) -> dict[str, list[dict[str, Any]]]:
    """`features` with the items `keys` read again through the search as `user` (gone where it returns none)."""
    out = {k: v for k, v in features.items() if k not in keys}
    by_collection: dict[str, list[str]] = {}
    for k in keys:
        cid, iid = k.split("/", 1)
        by_collection.setdefault(cid, []).append(iid)
    for cid, ids in sorted(by_collection.items()):
        found, _ = _pages(library, user, SearchQuery(collections=[cid], ids=sorted(ids), limit=MAX_LIMIT), 10 ** 9)
        out.update(_by_key(found))
    return out


def _indexed(features: dict[str, list[dict[str, Any]]], readable: frozenset[str]) -> FootprintIndex:
    """The index of `features`: newest first, ties by collection/id and label (a patched index equals a fresh
    one)."""
    ordered = sorted((f for group in features.values() for f in group), key=_order, reverse=True)
    more = len(ordered) > MAX_FOOTPRINTS
    return build_index(ordered[:MAX_FOOTPRINTS], more, readable)


def _search_index(library: Any, user: User) -> FootprintIndex:
    """A fresh index of what the library's search releases to `user`."""
    features, readable = _gather(library, user)
    return _indexed(features, readable)
