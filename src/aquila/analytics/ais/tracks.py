"""Where each AIS vessel was at an instant (an image's time), and how sure we are.

Per vessel, from its reports sorted in time: a report within a second is taken as is; between two
reports the position is interpolated along the segment; before the first or after the last it is
dead-reckoned from the nearest report's speed and course (held in place when it reports no speed or
is moored). The 1-sigma uncertainty grows with the time to the nearest report:

    interpolated:   sigma = 30 m + 0.1 * v * dt            (a ship can leave the straight line)
    dead-reckoned:  sigma = 30 m + (0.3 m/s + 0.1 * v) * dt   (speed and course errors)
    speed unknown:  sigma = 30 m + 3 m/s * dt              (a ship could be doing ~6 kn)

where v is the speed (m/s) and dt the time to the nearest report. Vessels whose nearest report is
more than `max_gap_s` away are not placed at all: they are unknown, not "here". The velocity at the
instant is returned too (fusion needs it for the SAR along-track shift of moving ships).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aquila.analytics.ais.model import AisData
from aquila.constants import EARTH_MEAN_RADIUS_M

__all__ = ["VesselPositions", "positions_at", "SIGMA0_M"]

SIGMA0_M = 30.0
KNOT_M_S = 1852.0 / 3600.0
_METHODS = ("report", "interpolated", "dead-reckoned", "held")


@dataclass
class VesselPositions:
    """Vessels placed at one instant, one row each (columns)."""

    mmsi: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    sigma_m: np.ndarray
    speed_m_s: np.ndarray
    course_deg: np.ndarray
    gap_s: np.ndarray
    method: np.ndarray  # index into METHODS

    METHODS = _METHODS

    def __len__(self) -> int:
        return len(self.mmsi)

    def method_name(self, k: int) -> str:
        return _METHODS[int(self.method[k])]


def _offset(lat: np.ndarray, lon: np.ndarray, east_m: np.ndarray, north_m: np.ndarray) -> tuple[np.ndarray, ...]:
    lat2 = lat + np.degrees(north_m / EARTH_MEAN_RADIUS_M)
    lon2 = lon + np.degrees(east_m / (EARTH_MEAN_RADIUS_M * np.maximum(np.cos(np.radians(lat)), 1e-6)))
    return np.clip(lat2, -90, 90), (lon2 + 180.0) % 360.0 - 180.0


def _en(lat0: np.ndarray, lon0: np.ndarray, lat1: np.ndarray, lon1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """East/north metres from point 0 to point 1 (local plane; longitude difference wrapped)."""
    dlon = (lon1 - lon0 + 180.0) % 360.0 - 180.0
    mid = np.radians((lat0 + lat1) / 2)
    return np.radians(dlon) * EARTH_MEAN_RADIUS_M * np.cos(mid), np.radians(lat1 - lat0) * EARTH_MEAN_RADIUS_M


def positions_at(data: AisData, time_s: float, max_gap_s: float = 3600.0) -> VesselPositions:
    """Every vessel with a report within `max_gap_s` of `time_s` (seconds since 1970 UTC), placed there."""
    n = len(data)
    if n == 0:
        z = np.zeros(0)
        return VesselPositions(np.zeros(0, np.int64), z, z, z, z, z, z, np.zeros(0, np.int8))
    m, t = data.mmsi, data.time_s
    ids, first = np.unique(m, return_index=True)
    last = np.append(first[1:], n) - 1
    group = np.repeat(np.arange(len(ids)), np.diff(np.append(first, n)))
    # the first report at or after time_s within each vessel (the key orders by vessel, then time)
    span = float(np.nanmax(t) - np.nanmin(t)) + 2 * max_gap_s + 10.0
    key = group * span + (t - np.nanmin(t))
    nxt = np.searchsorted(key, np.arange(len(ids)) * span + (time_s - np.nanmin(t)), side="left")
    has_next = nxt <= last
    has_prev = nxt > first
    i_next = np.minimum(nxt, last)
    i_prev = np.maximum(nxt - 1, first)
    dt_next = np.where(has_next, t[i_next] - time_s, np.inf)
    dt_prev = np.where(has_prev, time_s - t[i_prev], np.inf)
    gap = np.minimum(dt_next, dt_prev)
    keep = gap <= max_gap_s
    ids, i_next, i_prev, dt_next, dt_prev, gap = (a[keep] for a in (ids, i_next, i_prev, dt_next, dt_prev, gap))
    has_next, has_prev = has_next[keep], has_prev[keep]
    k = len(ids)
    lat, lon = np.empty(k), np.empty(k)
    sigma, speed, course = np.empty(k), np.full(k, np.nan), np.full(k, np.nan)
    method = np.empty(k, np.int8)

    near = np.where(dt_prev <= dt_next, i_prev, i_next)
    sog = data.sog_kn[near] * KNOT_M_S
    cog = data.cog_deg[near]

    exact = gap <= 1.0
    between = ~exact & has_prev & has_next
    outside = ~exact & ~between

    lat[exact], lon[exact] = data.lat_deg[near[exact]], data.lon_deg[near[exact]]
    sigma[exact] = SIGMA0_M
    speed[exact], course[exact] = sog[exact], cog[exact]
    method[exact] = 0

    a, b = i_prev[between], i_next[between]
    e, nn = _en(data.lat_deg[a], data.lon_deg[a], data.lat_deg[b], data.lon_deg[b])
    seg_s = np.maximum(t[b] - t[a], 1e-9)
    frac = dt_prev[between] / seg_s
    lat[between], lon[between] = _offset(data.lat_deg[a], data.lon_deg[a], e * frac, nn * frac)
    v_seg = np.hypot(e, nn) / seg_s
    v_rep = sog[between]
    speed[between] = np.where(np.isfinite(v_rep), v_rep, v_seg)
    course[between] = np.where(np.isfinite(cog[between]), cog[between], np.degrees(np.arctan2(e, nn)) % 360.0)
    sigma[between] = SIGMA0_M + 0.1 * np.maximum(v_seg, np.nan_to_num(v_rep)) * gap[between]
    method[between] = 1

    dt = np.where(dt_prev[outside] <= dt_next[outside], dt_prev[outside], -dt_next[outside])  # signed: + is later
    v, c = sog[outside], cog[outside]
    moving = np.isfinite(v) & np.isfinite(c) & (v >= 0.5 * KNOT_M_S)
    east = np.where(moving, v * np.sin(np.radians(np.nan_to_num(c))) * dt, 0.0)
    north = np.where(moving, v * np.cos(np.radians(np.nan_to_num(c))) * dt, 0.0)
    ref = near[outside]
    lat[outside], lon[outside] = _offset(data.lat_deg[ref], data.lon_deg[ref], east, north)
    speed[outside], course[outside] = np.where(np.isfinite(v), v, np.nan), c
    sigma[outside] = SIGMA0_M + np.where(np.isfinite(v), 0.3 + 0.1 * np.nan_to_num(v), 3.0) * np.abs(dt)
    method[outside] = np.where(moving, 2, 3)
    return VesselPositions(ids, lat, lon, sigma, speed, course, gap, method)
