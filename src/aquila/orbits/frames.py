"""Time grids and frames: UTC/UT1 for SGP4, TEME to Earth-fixed, WGS84 geodetic positions.

Earth-fixed here is the pseudo-Earth-fixed frame SGP4 is defined against: TEME rotated by
GMST 1982 of UT1, polar motion ignored (AIAA 2006-6753 App. C; skyfield does the same, so results
match skyfield to milliseconds). UT1 comes from skyfield's built-in tables (no network).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import numpy as np
from skyfield.api import load
from skyfield.sgp4lib import theta_GMST1982

from aquila.constants import SECONDS_PER_DAY, WGS84_A_KM, WGS84_B_KM, WGS84_E2, WGS84_F

__all__ = [
    "WGS84_A_KM",
    "WGS84_F",
    "WGS84_B_KM",
    "TimeGrid",
    "timescale",
    "geodetic_to_ecef",
    "up_vector",
    "teme_to_ecef",
    "ecef_to_geodetic",
]

_E2 = WGS84_E2
DAY_S = SECONDS_PER_DAY


@lru_cache(maxsize=1)
def timescale():
    """skyfield's timescale from its built-in leap-second and UT1 tables (no download)."""
    return load.timescale(builtin=True)


@dataclass(frozen=True)
class TimeGrid:
    """A uniform grid of instants `start + k*step_s`, with what SGP4 and the Earth rotation need.

    Offsets (`seconds`) are uniform in atomic time, so that leap seconds never distort a step.
    """

    start: datetime
    end: datetime
    step_s: float
    seconds: np.ndarray  # offsets from start, s
    jd_whole: np.ndarray  # UTC Julian date, whole part (SGP4 input, as skyfield)
    jd_fraction: np.ndarray
    gmst_rad: np.ndarray  # GMST 1982 of UT1
    gmst_rate_rad_s: float
    _tai0_jd: float

    @classmethod
    def build(cls, start: datetime, end: datetime, step_s: float) -> TimeGrid:
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware (UTC)")
        ts = timescale()
        t0 = ts.from_datetime(start.astimezone(UTC))
        span = (end - start).total_seconds()
        n = int(np.ceil(span / step_s)) + 1
        seconds = np.arange(n, dtype=float) * step_s
        seconds[-1] = min(seconds[-1], span) if n > 1 else 0.0
        if n > 1 and seconds[-1] <= seconds[-2]:
            seconds = seconds[:-1]
        tai0 = float(t0.whole) + float(t0.tai_fraction)
        t = ts.tai_jd(tai0 + seconds / DAY_S)
        jd_whole = np.asarray(t.whole, dtype=float)
        jd_frac = np.asarray(t.tai_fraction - t._leap_seconds() / DAY_S, dtype=float)
        theta, theta_dot = theta_GMST1982(jd_whole, np.asarray(t.ut1_fraction, dtype=float))
        rate = float(np.mean(theta_dot)) / DAY_S
        return cls(start, end, float(step_s), seconds, jd_whole, jd_frac, np.asarray(theta), rate, tai0)

    @property
    def span_s(self) -> float:
        return float(self.seconds[-1])

    def __len__(self) -> int:
        return len(self.seconds)

    def gmst_at(self, seconds: np.ndarray) -> np.ndarray:
        """GMST at arbitrary offsets (linear in time between grid points; exact to < 1e-9 rad)."""
        idx = np.clip((seconds // self.step_s).astype(np.int64), 0, len(self.seconds) - 1)
        return self.gmst_rad[idx] + self.gmst_rate_rad_s * (seconds - self.seconds[idx])

    def jd_utc_at(self, seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = np.clip((seconds // self.step_s).astype(np.int64), 0, len(self.seconds) - 1)
        return self.jd_whole[idx], self.jd_fraction[idx] + (seconds - self.seconds[idx]) / DAY_S

    def to_datetimes(self, seconds: np.ndarray) -> list[datetime]:
        """UTC datetimes for offsets (microsecond resolution)."""
        base = self.start.astimezone(UTC)
        return [base + timedelta(microseconds=round(float(s) * 1e6)) for s in np.atleast_1d(seconds)]

    def to_iso(self, seconds: np.ndarray) -> list[str]:
        """ISO-8601 UTC strings ('...Z', millisecond resolution) for offsets."""
        base = np.datetime64(self.start.astimezone(UTC).replace(tzinfo=None), "us")
        us = np.round(np.atleast_1d(seconds) * 1e6).astype("timedelta64[us]")
        return [s + "Z" for s in np.datetime_as_string(base + us, unit="ms")]


def geodetic_to_ecef(lat_deg: np.ndarray, lon_deg: np.ndarray, alt_km: np.ndarray | float = 0.0) -> np.ndarray:
    """WGS84 geodetic to Earth-fixed Cartesian, km; shape (..., 3)."""
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    h = np.asarray(alt_km, dtype=float)
    sl, cl = np.sin(lat), np.cos(lat)
    n = WGS84_A_KM / np.sqrt(1.0 - _E2 * sl * sl)
    return np.stack([(n + h) * cl * np.cos(lon), (n + h) * cl * np.sin(lon), (n * (1.0 - _E2) + h) * sl], axis=-1)


def up_vector(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """Unit geodetic vertical (ellipsoid normal) in Earth-fixed coordinates; shape (..., 3)."""
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


def ecef_to_geodetic(r_km: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Earth-fixed km to WGS84 (lat_deg, lon_deg, alt_km), Bowring's method (sub-mm in LEO)."""
    x, y, z = r_km[..., 0], r_km[..., 1], r_km[..., 2]
    p = np.hypot(x, y)
    ep2 = _E2 / (1.0 - _E2)
    th = np.arctan2(z * WGS84_A_KM, p * WGS84_B_KM)
    lat = np.arctan2(z + ep2 * WGS84_B_KM * np.sin(th) ** 3, p - _E2 * WGS84_A_KM * np.cos(th) ** 3)
    n = WGS84_A_KM / np.sqrt(1.0 - _E2 * np.sin(lat) ** 2)
    alt = p / np.cos(lat) - n
    return np.degrees(lat), np.degrees(np.arctan2(y, x)), alt


def teme_to_ecef(r: np.ndarray, v: np.ndarray, gmst_rad: np.ndarray, rate_rad_s: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Rotate TEME position/velocity (..., T, 3) to Earth-fixed at the given GMST (T,)."""
    c, s = np.cos(gmst_rad), np.sin(gmst_rad)
    x = c * r[..., 0] + s * r[..., 1]
    y = -s * r[..., 0] + c * r[..., 1]
    vx = c * v[..., 0] + s * v[..., 1] + rate_rad_s * y
    vy = -s * v[..., 0] + c * v[..., 1] - rate_rad_s * x
    return np.stack([x, y, r[..., 2]], axis=-1), np.stack([vx, vy, v[..., 2]], axis=-1)
