"""Targets (areas of interest) from GeoJSON: points and polygons on the WGS84 ellipsoid.

A polygon is accessible when any part of it is within reach. It is represented by sample
points (its densified boundary plus an interior lattice at `spacing_km`), and the windows of its
points are merged; window edges are then accurate to about spacing / (2 x ground speed), i.e.
< 1 s at the default 10 km.

A polygon whose edge jumps more than 180 degrees of longitude crosses the antimeridian (written,
say, 179 -> -179): it is split there into a MultiPolygon, as RFC 7946 section 3.1.9 asks writers
to do (with the `antimeridian` package; edges stay straight in longitude and latitude, like every
other polygon here), rather than read as a band around the rest of the world.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import antimeridian
import numpy as np
import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon, shape
from shapely.validation import explain_validity

from aquila.errors import TargetError
from aquila.orbits.frames import geodetic_to_ecef, up_vector

__all__ = ["Target", "TargetSet", "load_targets", "parse_targets", "split_at_antimeridian", "MAX_POINTS_PER_TARGET"]

MAX_POINTS_PER_TARGET = 4000
_EXPECTED = 'a GeoJSON FeatureCollection: {"type": "FeatureCollection", "features": [{"type": "Feature", ' \
            '"id": "...", "geometry": {"type": "Point"|"Polygon"|..., ...}, "properties": {...}}]}'


@dataclass(frozen=True)
class Target:
    """One named target and the geometry it was built from."""

    id: str
    geometry: Any  # shapely geometry, lon/lat degrees
    properties: dict[str, Any] = field(default_factory=dict)
    altitude_km: float = 0.0

    @property
    def is_point(self) -> bool:
        return isinstance(self.geometry, Point)


@dataclass
class TargetSet:
    """Targets plus their sample points (lat, lon) and which target each point belongs to."""

    targets: list[Target]
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    alt_km: np.ndarray
    owner: np.ndarray  # point -> target index

    @classmethod
    def from_targets(cls, targets: list[Target], spacing_km: float = 10.0) -> TargetSet:
        lats, lons, alts, owners = [], [], [], []
        for i, t in enumerate(targets):
            la, lo = _sample(t.geometry, spacing_km)
            lats.append(la)
            lons.append(lo)
            alts.append(np.full(len(la), t.altitude_km))
            owners.append(np.full(len(la), i, dtype=np.int64))
        if not targets:
            e = np.zeros(0)
            return cls([], e, e, e, np.zeros(0, np.int64))
        return cls(targets, np.concatenate(lats), np.concatenate(lons), np.concatenate(alts),
                   np.concatenate(owners))

    @classmethod
    def from_points(cls, lat_deg: np.ndarray, lon_deg: np.ndarray, ids: list[str] | None = None) -> TargetSet:
        lat = np.asarray(lat_deg, float)
        lon = np.asarray(lon_deg, float)
        ids = ids or [f"p{i}" for i in range(len(lat))]
        targets = [Target(ids[i], Point(float(lon[i]), float(lat[i]))) for i in range(len(lat))]
        return cls(targets, lat, lon, np.zeros(len(lat)), np.arange(len(lat), dtype=np.int64))

    def __len__(self) -> int:
        return len(self.targets)

    @property
    def ecef_km(self) -> np.ndarray:
        return geodetic_to_ecef(self.lat_deg, self.lon_deg, self.alt_km)

    @property
    def up(self) -> np.ndarray:
        return up_vector(self.lat_deg, self.lon_deg)


def _sample(geom: Any, spacing_km: float) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(geom, Point):
        return np.array([geom.y]), np.array([geom.x])
    if isinstance(geom, MultiPoint):
        return np.array([p.y for p in geom.geoms]), np.array([p.x for p in geom.geoms])
    polys = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
    spacing = spacing_km
    for _ in range(20):
        pts: list[tuple[float, float]] = []
        for poly in polys:
            lat0 = poly.centroid.y
            deg = spacing / 111.32
            ring_pts = shapely.segmentize(poly, deg).exterior.coords[:-1]
            pts.extend(ring_pts)
            for hole in shapely.segmentize(poly, deg).interiors:
                pts.extend(hole.coords[:-1])
            minx, miny, maxx, maxy = poly.bounds
            dlon = deg / max(math.cos(math.radians(lat0)), 0.05)
            xs = np.arange(minx + dlon / 2, maxx, dlon)
            ys = np.arange(miny + deg / 2, maxy, deg)
            if len(xs) and len(ys):
                gx, gy = np.meshgrid(xs, ys)
                cand = shapely.points(gx.ravel(), gy.ravel())
                inside = shapely.contains(poly, cand)
                pts.extend(zip(gx.ravel()[inside], gy.ravel()[inside], strict=True))
        if len(pts) <= MAX_POINTS_PER_TARGET:
            arr = np.array(pts, dtype=float)
            return arr[:, 1], arr[:, 0]
        spacing *= 1.5
    arr = np.array(pts[:MAX_POINTS_PER_TARGET], dtype=float)  # pragma: no cover
    return arr[:, 1], arr[:, 0]


def _check_lonlat(geom: Any, where: str, source: str, field: str) -> None:
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90):
        raise TargetError(f"{where}: coordinates out of range (bounds {geom.bounds})", source=source,
                          field=field,
                          expected="[longitude, latitude] in degrees, lon -180..180, lat -90..90 (longitude first; "
                                   "east of 180 is negative: 181 is -179, and a polygon may cross 180 from 179 to "
                                   "-179)")


def _crosses_antimeridian(geom: Any) -> bool:
    """Does any polygon ring have an edge that jumps more than 180 degrees of longitude?"""
    polys = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom] if isinstance(geom, Polygon) else []
    for p in polys:
        for ring in (p.exterior, *p.interiors):
            lon = np.asarray(ring.coords)[:, 0]
            if len(lon) > 1 and np.any(np.abs(np.diff(lon)) > 180.0):
                return True
    return False


def split_at_antimeridian(geom: Any) -> Any:
    """A polygon crossing the antimeridian as the RFC 7946 MultiPolygon of its parts; others unchanged."""
    if not _crosses_antimeridian(geom):
        return geom
    if isinstance(geom, MultiPolygon):
        return antimeridian.fix_multi_polygon(geom, great_circle=False, fix_winding=True)
    return antimeridian.fix_polygon(geom, great_circle=False, fix_winding=True)


def parse_targets(data: Any, source: str = "<geojson>") -> list[Target]:
    """Targets from a parsed GeoJSON FeatureCollection (validated: types, coordinates, polygon validity)."""
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        got = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise TargetError(f"top-level type is {got!r}, not 'FeatureCollection'", source=source, field="type",
                          expected=_EXPECTED)
    feats = data.get("features")
    if not isinstance(feats, list) or not feats:
        raise TargetError("'features' is missing or empty", source=source, field="features", expected=_EXPECTED)
    out: list[Target] = []
    seen: set[str] = set()
    for i, f in enumerate(feats):
        if not isinstance(f, dict) or f.get("type") != "Feature":
            raise TargetError(f"features[{i}] is not a Feature", source=source, field=f"features[{i}].type",
                              expected=_EXPECTED)
        props = f.get("properties") or {}
        tid = f.get("id")
        if tid is None:
            tid = props.get("name")
        tid = str(tid) if tid is not None else f"target-{i}"
        where = f"features[{i}] ({tid!r})"
        if tid in seen:
            raise TargetError(f"{where}: duplicate id", source=source, field=f"features[{i}].id",
                              expected="a unique id (or properties.name) per feature")
        seen.add(tid)
        geo = f.get("geometry")
        if not isinstance(geo, dict) or geo.get("type") not in ("Point", "MultiPoint", "Polygon", "MultiPolygon"):
            got = geo.get("type") if isinstance(geo, dict) else geo
            raise TargetError(f"{where}: geometry type {got!r} is not supported", source=source,
                              field=f"features[{i}].geometry", expected="Point, MultiPoint, Polygon or MultiPolygon")
        try:
            geom = shape(geo)
        except Exception as exc:  # shapely raises several types for malformed coordinates
            raise TargetError(f"{where}: malformed coordinates ({exc})", source=source,
                              field=f"features[{i}].geometry.coordinates",
                              expected="GeoJSON positions [lon, lat]; polygon rings closed with >= 4 positions",
                              ) from None
        if geom.is_empty:
            raise TargetError(f"{where}: empty geometry", source=source, field=f"features[{i}].geometry",
                              expected="a non-empty geometry")
        _check_lonlat(geom, where, source, f"features[{i}].geometry.coordinates")
        geom = split_at_antimeridian(geom)
        if not geom.is_valid:
            raise TargetError(f"{where}: invalid polygon: {explain_validity(geom)}", source=source,
                              field=f"features[{i}].geometry",
                              expected="a simple polygon whose rings do not cross themselves or each other")
        alt = props.get("altitude_m", 0.0)
        try:
            alt_km = float(alt) / 1000.0
            if isinstance(alt, bool) or not -0.5 <= alt_km <= 10.0:  # NaN fails this too
                raise ValueError
        except (TypeError, ValueError):
            raise TargetError(f"{where}: altitude_m {alt!r} is not a usable height", source=source,
                              field=f"features[{i}].properties.altitude_m",
                              expected="metres above the ellipsoid, -500..10000") from None
        out.append(Target(tid, geom, dict(props), alt_km))
    return out


def load_targets(path: str | Path) -> list[Target]:
    """Load and validate a GeoJSON FeatureCollection of targets from a file."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TargetError("file not found", source=str(p), field="path", expected=_EXPECTED) from None
    except json.JSONDecodeError as exc:
        raise TargetError(f"invalid JSON: {exc.msg} at column {exc.colno}", source=str(p), line=exc.lineno,
                          field="json", expected=_EXPECTED) from None
    return parse_targets(data, str(p))
