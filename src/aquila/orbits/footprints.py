"""Ground tracks and field-of-regard swaths: where each satellite is, and the ground it can image, for maps.

A swath is the band of ground a satellite's sensor can point at as it flies: optical, every point within
`max_off_nadir_deg` of the geocentric nadir on either side of the track; SAR, the points whose incidence
is inside the band, on the radar's look side (right, left or both). The edges are exact on the WGS 84
ellipsoid: each is the ground point hit by a look at the edge angle, perpendicular to the Earth-fixed
velocity (the zero-Doppler plane), found by intersecting the look ray with the ellipsoid; a SAR edge's
off-nadir angle is solved so that the incidence at the ground point is the band's limit. Swaths are
returned as polygons of a few minutes each, split at the antimeridian (RFC 7946), ready to draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import shapely
import shapely.geometry

from aquila.constants import WGS84_A_KM, WGS84_B_KM
from aquila.constellation.assets import Satellite, SensorType
from aquila.orbits.frames import TimeGrid, ecef_to_geodetic
from aquila.orbits.propagate import propagate
from aquila.orbits.targets import split_at_antimeridian

__all__ = ["Swath", "ground_tracks", "swaths", "edge_points", "window_footprints"]

_SEGMENT_SAMPLES = 10  # samples per swath polygon (5 min at 30 s): small pieces stay valid near the poles


@dataclass(frozen=True)
class Swath:
    """One piece of a satellite's field of regard: `polygon` is a shapely (Multi)Polygon in lon/lat."""

    satellite: str
    side: str  # "both" (optical: across the track), "right" or "left" (SAR)
    polygon: Any
    start_s: float = 0.0  # seconds from the result's start: when the satellite sweeps this piece
    end_s: float = 0.0


Extent = tuple[float, float, float, float]  # west, east, south, north (deg), as the maps draw


def _states(result: Any, minutes: float | None, step_s: float) -> tuple[TimeGrid, Any]:
    start = result.grid.start
    end = result.grid.end if minutes is None else min(result.grid.end, start + timedelta(minutes=minutes))
    grid = TimeGrid.build(start, end, step_s)
    return grid, propagate([s.elements.satrec for s in result.satellites], grid)


def _reaches(lonlat: np.ndarray, extent: Extent | None, margin_deg: float = 5.0) -> bool:
    """Whether a piece of track or swath may show in the map's extent (a piece spanning > 180 deg is kept)."""
    if extent is None:
        return True
    w, e, s, n = extent
    lon, lat = lonlat[:, 0], lonlat[:, 1]
    if lat.max() < s - margin_deg or lat.min() > n + margin_deg:
        return False
    return bool(lon.max() - lon.min() > 180 or not (lon.max() < w - margin_deg or lon.min() > e + margin_deg))


def ground_tracks(result: Any, minutes: float | None = None, step_s: float = 30.0, extent: Extent | None = None
                  ) -> list[tuple[str, np.ndarray]]:
    """(satellite name, (n, 2) lon/lat) of each satellite's ground track over the result's period (or its first
    `minutes`), split where it crosses the antimeridian; with `extent`, only the pieces that reach into it."""
    _, states = _states(result, minutes, step_s)
    out: list[tuple[str, np.ndarray]] = []
    for i, s in enumerate(result.satellites):
        if not states.ok[i]:
            continue
        lat, lon, _ = ecef_to_geodetic(states.r[i])
        cuts = np.flatnonzero(np.abs(np.diff(lon)) > 180.0) + 1
        for part in np.split(np.column_stack([lon, lat]), cuts):
            if len(part) > 1 and _reaches(part, extent):
                out.append((s.name, part))
    return out


def _hit(r: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where rays r + t d (t > 0) first meet the WGS 84 ellipsoid, and whether they do."""
    scale = np.array([1 / WGS84_A_KM, 1 / WGS84_A_KM, 1 / WGS84_B_KM])
    p, q = r * scale, d * scale
    a = np.sum(q * q, axis=-1)
    b = 2 * np.sum(p * q, axis=-1)
    c = np.sum(p * p, axis=-1) - 1
    disc = b * b - 4 * a * c
    ok = disc >= 0
    t = (-b - np.sqrt(np.where(ok, disc, 0))) / (2 * a)
    return r + t[..., None] * d, ok & (t > 0)


def _incidence_deg(ground: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Angle between the look's reverse and the ellipsoid normal at the ground point."""
    n = ground / np.array([WGS84_A_KM**2, WGS84_A_KM**2, WGS84_B_KM**2])
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    return np.degrees(np.arccos(np.clip(-np.sum(n * d, axis=-1), -1, 1)))


def edge_points(r: np.ndarray, v: np.ndarray, off_nadir_deg: np.ndarray | float, side: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """Ground points (ECEF km) seen at `off_nadir_deg` from states (r, v), on the right (side=+1) or the left
    (-1) of the track, in the zero-Doppler plane; looks past the horizon stop at the limb. Returns
    (points, incidence_deg)."""
    up = r / np.linalg.norm(r, axis=-1, keepdims=True)
    vhat = v / np.linalg.norm(v, axis=-1, keepdims=True)
    right = np.cross(vhat, up)
    right /= np.linalg.norm(right, axis=-1, keepdims=True)
    down = -up + np.sum(up * vhat, axis=-1, keepdims=True) * vhat  # nadir projected into the zero-Doppler plane
    down /= np.linalg.norm(down, axis=-1, keepdims=True)
    cos_tilt = -np.sum(down * up, axis=-1)  # the plane is tilted from the geocentric nadir by a few hundredths deg
    horizon = np.degrees(np.arcsin(np.clip(WGS84_B_KM / np.linalg.norm(r, axis=-1), -1, 1)))
    eta = np.radians(np.minimum(np.asarray(off_nadir_deg, dtype=float), horizon - 1e-3))
    phi = np.arccos(np.clip(np.cos(eta) / cos_tilt, -1, 1))[..., None]  # in-plane angle with that off-nadir
    d = down * np.cos(phi) + side * right * np.sin(phi)
    ground, _ = _hit(r, d)
    return ground, _incidence_deg(ground, d)


def _off_nadir_for_incidence(r: np.ndarray, v: np.ndarray, incidence_deg: float, side: float) -> np.ndarray:
    """The off-nadir angle whose ground point has the given incidence (bisection: incidence grows with it)."""
    lo = np.zeros(len(r))
    hi = np.full(len(r), 89.0)
    for _ in range(40):
        mid = (lo + hi) / 2
        _, inc = edge_points(r, v, mid, side)
        below = inc < incidence_deg
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return (lo + hi) / 2


def _lonlat(ecef: np.ndarray) -> np.ndarray:
    lat, lon, _ = ecef_to_geodetic(ecef)
    return np.column_stack([lon, lat])


def _bands(sat: Satellite) -> list[tuple[str, float, float | None, float | None]]:
    """(side, sign, inner incidence, outer incidence) per band; optical bands carry None (off-nadir limits)."""
    if sat.sensor.type is SensorType.OPTICAL:
        return [("both", 0.0, None, None)]
    signs = {"right": [("right", 1.0)], "left": [("left", -1.0)]}.get(sat.look_side, [("right", 1.0), ("left", -1.0)])
    return [(name, sign, sat.sensor.min_incidence_deg, sat.sensor.max_incidence_deg) for name, sign in signs]


def swaths(result: Any, minutes: float | None = None, step_s: float = 30.0, extent: Extent | None = None
           ) -> list[Swath]:
    """Each satellite's field of regard over the result's period (or its first `minutes`) as polygons of a few
    minutes each; with `extent`, only those that reach into it."""
    grid, states = _states(result, minutes, step_s)
    out: list[Swath] = []
    for i, sat in enumerate(result.satellites):
        if not states.ok[i] or len(states.r[i]) < 2:
            continue
        for side, a, b in _band_edges(sat, states.r[i], states.v[i]):
            for k in range(0, len(a) - 1, _SEGMENT_SAMPLES):
                sl = slice(k, min(k + _SEGMENT_SAMPLES, len(a) - 1) + 1)
                ring = np.concatenate([a[sl], b[sl][::-1], a[sl][:1]])
                if not _reaches(ring, extent):
                    continue
                poly = _polygon(ring)
                if poly is not None:
                    times = grid.seconds[sl]
                    out.append(Swath(sat.name, side, poly, float(times[0]), float(times[-1])))
    return out


def _band_edges(sat: Satellite, r: np.ndarray, v: np.ndarray) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(side, inner edge, outer edge) lon/lat of each band of the satellite's field of regard along states r, v."""
    out = []
    for side, sign, inc_in, inc_out in _bands(sat):
        if inc_in is None or inc_out is None:
            limit = min(sat.sensor.max_off_nadir_deg, 89.0)
            inner, _ = edge_points(r, v, limit, -1.0)
            outer, _ = edge_points(r, v, limit, 1.0)
        else:
            fov = sat.sensor.max_off_nadir_deg
            inner, _ = edge_points(r, v, np.minimum(_off_nadir_for_incidence(r, v, inc_in, sign), fov), sign)
            outer, _ = edge_points(r, v, np.minimum(_off_nadir_for_incidence(r, v, inc_out, sign), fov), sign)
        out.append((side, _lonlat(inner), _lonlat(outer)))
    return out


def _polygon(ring: np.ndarray) -> Any:
    """A valid (Multi)Polygon of a band's ring, split at the antimeridian; None when nothing of area is left."""
    poly = split_at_antimeridian(shapely.geometry.Polygon(ring))
    if not poly.is_valid:
        poly = shapely.make_valid(poly)
        if poly.geom_type not in ("Polygon", "MultiPolygon"):  # keep the areas, not stray lines
            poly = shapely.union_all([g for g in getattr(poly, "geoms", [poly])
                                      if g.geom_type in ("Polygon", "MultiPolygon")])
    return poly if not poly.is_empty and poly.area > 0 else None


def window_footprints(result: Any, step_s: float = 15.0, max_windows: int = 5000, per_target: bool = False
                      ) -> list[Any]:
    """The ground each access window's satellite can image during that window (its field of regard swept from
    the window's start to its end, the band that holds the target), one shapely geometry or None per row of
    `result` (rows past `max_windows` get None; with `per_target` the cap counts each target's rows apart, so
    what one target gets does not depend on the others). Each window is propagated on its own grid, so the
    cost follows the windows' total duration, not the period's."""
    c = result.columns
    out: list[Any] = [None] * len(result)
    seen: dict[int, int] = {}
    for k in range(len(result)):
        key = int(c["target"][k]) if per_target else 0
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > max_windows:
            if not per_target:
                break
            continue
        sat = result.satellites[int(c["sat"][k])]
        t0 = result.grid.start + timedelta(seconds=float(c["start_s"][k]))
        t1 = result.grid.start + timedelta(seconds=max(float(c["end_s"][k]), float(c["start_s"][k]) + step_s))
        grid = TimeGrid.build(t0, t1, step_s)
        st = propagate([sat.elements.satrec], grid)
        if not st.ok[0] or len(st.r[0]) < 2:
            continue
        target = result.targets[int(c["target"][k])].geometry
        best = None
        for _, a, b in _band_edges(sat, st.r[0], st.v[0]):
            poly = _polygon(np.concatenate([a, b[::-1], a[:1]]))
            if poly is not None and (best is None or poly.distance(target) < best.distance(target)):
                best = poly
        out[k] = best
    return out
