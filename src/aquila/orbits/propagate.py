"""Vectorised SGP4 (the C++ `SatrecArray`) to Earth-fixed states on a time grid.

A satellite whose SGP4 fails at any grid instant (decayed, eccentricity out of range) is reported
with the first failure and left out; it never aborts the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sgp4.api import SGP4_ERRORS, SatrecArray, accelerated

from aquila.orbits.frames import TimeGrid, teme_to_ecef

__all__ = ["EcefStates", "propagate", "ACCELERATED"]

ACCELERATED: bool = bool(accelerated)


@dataclass
class EcefStates:
    """Earth-fixed positions (km) and velocities (km/s), shape (n_sat, n_time, 3)."""

    r: np.ndarray
    v: np.ndarray
    ok: np.ndarray  # (n_sat,) bool: propagated without error over the whole grid
    errors: dict[int, str]  # satellite index -> message


def propagate(satrecs: Sequence[object], grid: TimeGrid) -> EcefStates:
    """Propagate every satellite over the grid at once and rotate to Earth-fixed."""
    if not satrecs:
        z = np.zeros((0, len(grid), 3))
        return EcefStates(z, z.copy(), np.zeros(0, bool), {})
    arr = SatrecArray(list(satrecs))
    err, r, v = arr.sgp4(grid.jd_whole, grid.jd_fraction)
    errors: dict[int, str] = {}
    bad = np.flatnonzero(err.any(axis=1))
    for i in bad:
        k = int(np.flatnonzero(err[i])[0])
        code = int(err[i, k])
        errors[int(i)] = f"SGP4 error {code} ({SGP4_ERRORS.get(code, 'unknown')}) at +{grid.seconds[k]:.0f} s"
    ok = ~err.any(axis=1)
    r_e, v_e = teme_to_ecef(r, v, grid.gmst_rad, grid.gmst_rate_rad_s)
    return EcefStates(r_e, v_e, ok, errors)
