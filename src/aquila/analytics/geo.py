"""Distances on the Earth for analytics (ship positions, AIS): great-circle metres on the mean sphere."""

from __future__ import annotations

import numpy as np

from aquila.constants import EARTH_MEAN_RADIUS_M

__all__ = ["great_circle_m"]


def great_circle_m(lon_a: np.ndarray, lat_a: np.ndarray, lon_b: np.ndarray, lat_b: np.ndarray) -> np.ndarray:
    """Haversine distance (m) between every point a and every point b: shape (len(a), len(b))."""
    la1, la2 = np.radians(np.asarray(lat_a, float))[:, None], np.radians(np.asarray(lat_b, float))[None, :]
    dlo = np.radians(np.asarray(lon_b, float)[None, :] - np.asarray(lon_a, float)[:, None])
    h = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin(dlo / 2) ** 2
    out: np.ndarray = 2 * EARTH_MEAN_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    return out
