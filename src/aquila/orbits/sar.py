"""Side-looking SAR imaging geometry: a target is imaged near zero Doppler, on the radar's look side.

A SAR images a target as its beam sweeps past it: at zero Doppler (closest approach, the line of
sight perpendicular to the velocity in the Earth-fixed frame) for a stripmap/TOPS radar such as
Sentinel-1's, or within a squint range around it for an agile spotlight satellite that steers its
beam fore and aft. So an opportunity exists when, at the zero-Doppler instant of a pass,

* the incidence at the target (from its local vertical) is inside the sensor's band,
* the look angle is inside the field of regard (off nadir), and
* the target is on a side the radar can look to (right of the ground track for Sentinel-1 and most
  SAR; left, or both where the operator can roll).

The opportunity's times are the dwell around that instant: while the squint angle stays within
`squint_max_deg` (agile satellites), or `DWELL_S` either side for a radar that cannot squint. A
pass whose broadside incidence is outside the band is *not* an opportunity, even if a squinted
line of sight before or after would cross the band (which an optical-style field of regard would
count twice).
"""

from __future__ import annotations

import math

import numpy as np

from aquila.constellation.assets import Satellite
from aquila.orbits.engine import PointPasses, SatelliteTrack, illinois, sin_elevation

__all__ = ["sar_windows", "DWELL_S", "right_of_track", "squint_sin"]

DWELL_S = 1.0
"""Half the dwell of a radar that cannot squint: the beam's along-track footprint takes about a
second to pass a point (e.g. Sentinel-1 IW: ~0.3 deg azimuth beam at ~850 km slant, 7 km/s)."""


def _los(track: SatelliteTrack, t: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Line of sight (target - satellite), satellite position and Earth-fixed velocity at offsets t."""
    p, v = track.state_at(t)
    return g - p, p, v


def squint_sin(d: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Sine of the squint angle: the line of sight's component along the velocity (+ ahead, - behind)."""
    return np.einsum("ij,ij->i", d, v) / (np.linalg.norm(d, axis=1) * np.linalg.norm(v, axis=1))


def right_of_track(d: np.ndarray, p: np.ndarray, v: np.ndarray) -> np.ndarray:
    """True where the line of sight points to the right of the ground track (nadir x velocity side)."""
    nadir = -p / np.linalg.norm(p, axis=1)[:, None]
    return np.einsum("ij,ij->i", d, np.cross(nadir, v)) > 0


def sar_windows(sat: Satellite, track: SatelliteTrack, pp: PointPasses, g: np.ndarray, u: np.ndarray,
                el_floor_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(pass index, window start, window end, zero-Doppler time) of each side-looking SAR opportunity."""
    sensor = sat.sensor
    pid = np.arange(len(pp))
    rise, set_ = pp.rise_s.copy(), pp.set_s.copy()
    gp = g[pp.point]

    def doppler(t: np.ndarray, ids: np.ndarray) -> np.ndarray:  # > 0 approaching, < 0 receding
        d, _, v = _los(track, t, gp[ids])
        return np.einsum("ij,ij->i", d, v)

    fa, fb = doppler(rise, pid), doppler(set_, pid)
    bracketed = (fa > 0) & (fb < 0)  # a pass cut by the period's start or end may not contain it
    pid, rise, set_, fa, fb = pid[bracketed], rise[bracketed], set_[bracketed], fa[bracketed], fb[bracketed]
    t0 = illinois(lambda t: doppler(t, pid), rise, set_, fa, fb, iterations=30) if len(pid) else rise

    d, p, v = _los(track, t0, gp[pid])
    s_el, _ = sin_elevation(p, v, gp[pid], u[pp.point[pid]])
    incidence = 90.0 - np.degrees(np.arcsin(np.clip(s_el, -1.0, 1.0)))
    pn = np.linalg.norm(p, axis=1)
    off_nadir = np.degrees(np.arccos(np.clip(-np.einsum("ij,ij->i", p, d) / (pn * np.linalg.norm(d, axis=1)),
                                             -1.0, 1.0)))
    ok = (incidence >= sensor.min_incidence_deg) & (incidence <= sensor.max_incidence_deg)
    ok &= (off_nadir <= sensor.max_off_nadir_deg) & (90.0 - incidence >= el_floor_deg)
    right = right_of_track(d, p, v)
    if sat.look_side == "right":
        ok &= right
    elif sat.look_side == "left":
        ok &= ~right
    pid, rise, set_, t0 = pid[ok], rise[ok], set_[ok], t0[ok]

    squint = sat.squint_max_deg or 0.0
    if squint <= 0.0 or not len(pid):
        return pid, np.maximum(t0 - DWELL_S, rise), np.minimum(t0 + DWELL_S, set_), t0
    limit = math.sin(math.radians(squint))

    def ahead(t: np.ndarray, ids: np.ndarray) -> np.ndarray:  # >= 0 while the squint is within the limit
        dd, _, vv = _los(track, t, gp[ids])
        return limit - np.abs(squint_sin(dd, vv))

    lo, hi = rise.copy(), set_.copy()
    f_lo, f_hi, f0 = ahead(rise, pid), ahead(set_, pid), ahead(t0, pid)
    m = f_lo < 0
    if m.any():
        lo[m] = illinois(lambda t: ahead(t, pid[m]), rise[m], t0[m], f_lo[m], f0[m])
    m = f_hi < 0
    if m.any():
        hi[m] = illinois(lambda t: ahead(t, pid[m]), t0[m], set_[m], f0[m], f_hi[m])
    return pid, lo, hi, t0
