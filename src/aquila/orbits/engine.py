"""The access engine: every pass of every satellite over every target point, vectorised.

For each satellite, Earth-fixed SGP4 states on a grid (default 60 s) are screened against all
target points in two stages before any exact geometry is computed:

1. blocks of `block` grid steps: a target is a candidate when its geocentric angle to the block's
   mean sub-satellite direction is within the block radius + the satellite's maximum reach
   (central angle for the elevation mask, conservative for the ellipsoid) + one step of motion;
2. grid samples of candidate blocks: kept ("near") when within reach + one step of motion.

A visible instant inside a grid segment lies within reach + one step of *both* segment ends, so
every segment that can hold a visible instant has both ends near: no pass is lost to screening.
On near samples the sine of the elevation S(t) and its rate are computed exactly; rises and sets
are sign changes of S - sin(mask), culminations sign changes of dS/dt, and passes that peak
between two samples (both ends below the mask, rising then falling) are found by locating the
peak. Roots are refined by safeguarded Newton on cubic-Hermite interpolated SGP4 states (error
< 1 m at 60 s), so times are good to milliseconds. Stage 2 onwards runs compiled
(`aquila.orbits.kernel`), one target at a time in time order, so a pass is assembled the moment
its set is found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from aquila.orbits.kernel import allocate, scan_passes

__all__ = ["PointPasses", "SatelliteTrack", "passes_for_satellite", "illinois"]

_R_MIN_KM = 6356.752 - 1.0  # polar radius, less 1 km: conservative reach for any target height >= -1 km
_VERTICAL_DEFLECTION_RAD = np.radians(0.25)  # geodetic vs geocentric vertical (max 0.192 deg) + margin


@dataclass
class SatelliteTrack:
    """One satellite's Earth-fixed states on the grid, with cubic-Hermite interpolation."""

    seconds: np.ndarray  # (T,)
    r: np.ndarray  # (T, 3) km
    v: np.ndarray  # (T, 3) km/s

    def state_at(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Position and velocity at offsets `t` (s), cubic Hermite between grid states."""
        sec = self.seconds
        k = np.clip(np.searchsorted(sec, t, side="right") - 1, 0, len(sec) - 2)
        h = sec[k + 1] - sec[k]
        tau = ((t - sec[k]) / h)[:, None]
        hh = h[:, None]
        t2 = tau * tau
        t3 = t2 * tau
        r0, r1 = self.r[k], self.r[k + 1]
        m0, m1 = self.v[k] * hh, self.v[k + 1] * hh
        p = (2 * t3 - 3 * t2 + 1) * r0 + (t3 - 2 * t2 + tau) * m0 + (-2 * t3 + 3 * t2) * r1 + (t3 - t2) * m1
        dp = ((6 * t2 - 6 * tau) * r0 + (3 * t2 - 4 * tau + 1) * m0 + (-6 * t2 + 6 * tau) * r1
              + (3 * t2 - 2 * tau) * m1) / hh
        return p, dp


def sin_elevation(p: np.ndarray, vel: np.ndarray, g: np.ndarray, u: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Sine of the elevation of satellite (p, vel) seen from site g with vertical u, and its rate (1/s)."""
    d = p - g
    rho = np.sqrt(np.einsum("ij,ij->i", d, d))
    s = np.einsum("ij,ij->i", d, u) / rho
    rdot = np.einsum("ij,ij->i", d, vel) / rho
    ds = np.einsum("ij,ij->i", vel, u) / rho - s * rdot / rho
    return s, ds


def illinois(fun: Callable[[np.ndarray], np.ndarray], a: np.ndarray, b: np.ndarray, fa: np.ndarray,
             fb: np.ndarray, iterations: int = 14) -> np.ndarray:
    """Vectorised Illinois (modified regula falsi) root of `fun` in brackets [a, b] with fa*fb <= 0."""
    a = a.astype(float).copy()
    b = b.astype(float).copy()
    fa = fa.astype(float).copy()
    fb = fb.astype(float).copy()
    side = np.zeros(len(a), dtype=np.int8)
    c = 0.5 * (a + b)
    for _ in range(iterations):
        den = fb - fa
        safe = np.abs(den) > 1e-300
        c = np.where(safe, b - fb * (b - a) / np.where(safe, den, 1.0), 0.5 * (a + b))
        c = np.clip(c, np.minimum(a, b), np.maximum(a, b))
        fc = fun(c)
        same_b = fc * fb > 0
        # c replaces b
        fa = np.where(same_b & (side == -1), fa * 0.5, fa)
        b = np.where(same_b, c, b)
        fb = np.where(same_b, fc, fb)
        # c replaces a
        other = ~same_b
        fb = np.where(other & (side == 1), fb * 0.5, fb)
        a = np.where(other, c, a)
        fa = np.where(other, fc, fa)
        side = np.where(same_b, -1, 1).astype(np.int8)
    return c


@dataclass
class PointPasses:
    """Passes of one satellite over target points: one row per pass (times are grid offsets, s)."""

    point: np.ndarray
    rise_s: np.ndarray
    culm_s: np.ndarray
    set_s: np.ndarray
    rise_clipped: np.ndarray  # pass already in progress at the start of the period
    set_clipped: np.ndarray  # pass still in progress at the end of the period
    max_sin_el: np.ndarray
    screening_misses: int = 0  # run boundaries above the mask away from the period ends (should be 0)

    @classmethod
    def empty(cls) -> PointPasses:
        z = np.zeros(0)
        zi = np.zeros(0, np.int64)
        zb = np.zeros(0, bool)
        return cls(zi, z, z, z, zb, zb, z)

    def __len__(self) -> int:
        return len(self.point)


def _reach_rad(rn: np.ndarray, mask_rad: float) -> float:
    eps = mask_rad - _VERTICAL_DEFLECTION_RAD
    arg = np.clip(_R_MIN_KM * np.cos(eps) / rn, -1.0, 1.0)
    return float(np.max(np.arccos(arg) - eps))


def passes_for_satellite(track: SatelliteTrack, g: np.ndarray, u: np.ndarray, g_unit: np.ndarray,
                         min_elevation_deg: float, block: int = 8) -> PointPasses:
    """All passes of one satellite above `min_elevation_deg` over target points (g, u: (M, 3))."""
    sec, r, v = track.seconds, track.r, track.v
    nt = len(sec)
    if nt < 2 or len(g) == 0:
        return PointPasses.empty()
    mask_rad = np.radians(min_elevation_deg)
    sin_mask = np.sin(mask_rad)
    rn = np.sqrt(np.einsum("ij,ij->i", r, r))
    s = r / rn[:, None]
    reach = _reach_rad(rn, mask_rad)
    step_angle = float(np.arccos(np.clip(np.min(np.einsum("ij,ij->i", s[1:], s[:-1])), -1.0, 1.0)))
    near_rad = reach + 1.05 * step_angle + 1e-6

    # Stage 1 (blocks) here; stage 2, exact geometry and refinement in the compiled kernel.
    nb = -(-nt // block)
    pad = nb * block - nt
    sp = np.concatenate([s, np.repeat(s[-1:], pad, axis=0)]) if pad else s
    sb = sp.reshape(nb, block, 3)
    c = sb.sum(axis=1)
    c /= np.sqrt(np.einsum("ij,ij->i", c, c))[:, None]
    rad_b = np.arccos(np.clip(np.min(np.einsum("nbj,nj->nb", sb, c), axis=1), -1.0, 1.0))
    cos_thr_b = np.cos(np.minimum(rad_b + near_rad + 1e-9, np.pi))
    revs = (sec[-1] - sec[0]) / 86400.0 * 20.0 + 2.0  # upper bound on orbits in the period
    capacity = int(len(g) * (2 * revs + 4))
    while True:
        out = allocate(capacity)
        n, misses = scan_passes(sec, r, v, s, c, cos_thr_b, block, g, u, g_unit, sin_mask,
                                float(np.cos(near_rad)), *out)
        if n >= 0:
            break
        capacity *= 2  # pragma: no cover - the bound above is generous
    pt, rise, culm, set_, rclip, sclip, smax = (a[:n] for a in out)
    return PointPasses(pt, rise, culm, set_, rclip, sclip, smax, int(misses))
