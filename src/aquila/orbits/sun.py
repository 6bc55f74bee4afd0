"""Low-precision solar direction (Astronomical Almanac, ~0.01 deg 1950-2050), vectorised.

Optical sensors need the Sun's elevation at the target for every candidate window; this closed
form is far cheaper than an ephemeris and agrees with skyfield's DE421 Sun to ~0.01 deg
(tested).
"""

from __future__ import annotations

import numpy as np

__all__ = ["sun_direction_ecef", "sun_elevation_deg"]


def sun_direction_ecef(jd_utc: np.ndarray, gmst_rad: np.ndarray) -> np.ndarray:
    """Unit vector to the Sun in the Earth-fixed (PEF) frame; shape (..., 3)."""
    n = np.asarray(jd_utc, dtype=float) - 2451545.0
    mean_lon = np.radians((280.460 + 0.9856474 * n) % 360.0)
    g = np.radians((357.528 + 0.9856003 * n) % 360.0)
    ecl_lon = mean_lon + np.radians(1.915) * np.sin(g) + np.radians(0.020) * np.sin(2 * g)
    eps = np.radians(23.439 - 0.0000004 * n)
    x = np.cos(ecl_lon)
    y = np.cos(eps) * np.sin(ecl_lon)
    z = np.sin(eps) * np.sin(ecl_lon)
    c, s = np.cos(gmst_rad), np.sin(gmst_rad)
    return np.stack([c * x + s * y, -s * x + c * y, z], axis=-1)


def sun_elevation_deg(up: np.ndarray, sun_ecef: np.ndarray) -> np.ndarray:
    """Sun elevation (deg) above the horizon of a site with unit vertical `up` (parallax ignored)."""
    return np.degrees(np.arcsin(np.clip(np.sum(up * sun_ecef, axis=-1), -1.0, 1.0)))
