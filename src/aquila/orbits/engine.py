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
peak. Roots are refined by the Illinois method on cubic-Hermite interpolated SGP4 states (error
< 1 m at 60 s), so times are good to milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

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


class _Segments:
    """A batch of (grid segment, target point) pairs with cubic-Hermite states, evaluated at tau in [0, 1]."""

    def __init__(self, track: SatelliteTrack, k: np.ndarray, g: np.ndarray, u: np.ndarray) -> None:
        sec = track.seconds
        self.t0 = sec[k]
        self.h = sec[k + 1] - sec[k]
        hh = self.h[:, None]
        self.r0, self.r1 = track.r[k], track.r[k + 1]
        self.m0, self.m1 = track.v[k] * hh, track.v[k + 1] * hh
        self.g, self.u = g, u

    def subset(self, m: np.ndarray) -> _Segments:
        out = object.__new__(_Segments)
        for name in ("t0", "h", "r0", "r1", "m0", "m1", "g", "u"):
            setattr(out, name, getattr(self, name)[m])
        return out

    def eval(self, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """sin(elevation) and its derivative with respect to tau (not time)."""
        t = tau[:, None]
        t2 = t * t
        t3 = t2 * t
        p = (2 * t3 - 3 * t2 + 1) * self.r0 + (t3 - 2 * t2 + t) * self.m0 + (-2 * t3 + 3 * t2) * self.r1 \
            + (t3 - t2) * self.m1
        dp = (6 * t2 - 6 * t) * (self.r0 - self.r1) + (3 * t2 - 4 * t + 1) * self.m0 + (3 * t2 - 2 * t) * self.m1
        s, ds = sin_elevation(p, dp, self.g, self.u)
        return s, ds


def _cubic(f0: np.ndarray, d0: np.ndarray, f1: np.ndarray, d1: np.ndarray, tau: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cubic Hermite through (0, f0, d0) and (1, f1, d1): value, first and second derivative at tau."""
    t2 = tau * tau
    t3 = t2 * tau
    val = (2 * t3 - 3 * t2 + 1) * f0 + (t3 - 2 * t2 + tau) * d0 + (-2 * t3 + 3 * t2) * f1 + (t3 - t2) * d1
    der = (6 * t2 - 6 * tau) * (f0 - f1) + (3 * t2 - 4 * tau + 1) * d0 + (3 * t2 - 2 * tau) * d1
    sec = (12 * tau - 6) * (f0 - f1) + (6 * tau - 4) * d0 + (6 * tau - 2) * d1
    return val, der, sec


def _refine_root(seg: _Segments, level: float, a: np.ndarray, b: np.ndarray, fa: np.ndarray, fb: np.ndarray,
                 da: np.ndarray, db: np.ndarray) -> np.ndarray:
    """tau in [a, b] where sin(elevation) == level; f = S - level has fa*fb <= 0, tau-derivatives da, db.

    A cubic through the bracket's values and slopes gives a start good to ~1e-6 of the step;
    safeguarded Newton on the interpolated SGP4 states then converges to microseconds.
    """
    w = b - a
    # Cubic model of f on the bracket, in the bracket's own unit variable x = (tau - a) / w.
    x = np.where(np.abs(fb - fa) > 0, fa / (fa - fb), 0.5)
    for _ in range(4):
        val, der, _ = _cubic(fa, da * w, fb, db * w, x)
        x = np.clip(x - val / np.where(np.abs(der) > 1e-300, der, 1e-300), 0.0, 1.0)
    tau = a + x * w
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    rising = fb > fa
    for _ in range(3):
        s, ds = seg.eval(tau)
        f = s - level
        below = f < 0
        # keep the bracket: for a rising f the root is above tau where f < 0
        lo = np.where(below == rising, np.maximum(lo, tau), lo)
        hi = np.where(below != rising, np.minimum(hi, tau), hi)
        step = tau - f / np.where(np.abs(ds) > 1e-300, ds, 1e-300)
        tau = np.where((step >= lo) & (step <= hi), step, 0.5 * (lo + hi))
    # Newton's last step is below 1e-7 of the grid step wherever it converged; the rest (rare:
    # roots where the slope vanishes) are solved by Illinois inside the bracket they kept.
    bad = np.abs(step - tau) > 0.0
    bad |= np.abs(f) > 1e-7 * np.maximum(np.abs(ds), 1e-12)
    if bad.any():
        sb = seg.subset(bad)
        flo = sb.eval(lo[bad])[0] - level
        fhi = sb.eval(hi[bad])[0] - level
        tau[bad] = illinois(lambda t: sb.eval(t)[0] - level, lo[bad], hi[bad], flo, fhi, iterations=40)
    return tau


def _refine_peak(seg: _Segments, s0: np.ndarray, d0: np.ndarray, s1: np.ndarray, d1: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """tau in [0, 1] of the maximum of sin(elevation) (d0 > 0 >= d1), and the maximum itself."""
    x = np.clip(d0 / np.where(d0 - d1 > 0, d0 - d1, 1.0), 0.0, 1.0)
    for _ in range(4):
        _, der, sec = _cubic(s0, d0, s1, d1, x)
        x = np.clip(x - der / np.where(sec < -1e-300, sec, -1e-300), 0.0, 1.0)
    for _ in range(2):
        _, ds = seg.eval(x)
        _, _, sec = _cubic(s0, d0, s1, d1, x)
        x = np.clip(x - ds / np.where(sec < -1e-300, sec, -1e-300), 0.0, 1.0)
    s, _ = seg.eval(x)
    return x, s


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

    # Stage 1: blocks.
    nb = -(-nt // block)
    pad = nb * block - nt
    sp = np.concatenate([s, np.repeat(s[-1:], pad, axis=0)]) if pad else s
    sb = sp.reshape(nb, block, 3)
    c = sb.sum(axis=1)
    c /= np.sqrt(np.einsum("ij,ij->i", c, c))[:, None]
    rad_b = np.arccos(np.clip(np.min(np.einsum("nbj,nj->nb", sb, c), axis=1), -1.0, 1.0))
    cos_thr_b = np.cos(np.minimum(rad_b + near_rad, np.pi))
    dots = g_unit @ c.T  # (M, nb)
    tg, bk = np.nonzero(dots >= cos_thr_b[None, :])
    if len(tg) == 0:
        return PointPasses.empty()

    # Stage 2: samples of candidate blocks.
    idx = bk[:, None] * block + np.arange(block)[None, :]
    valid = idx < nt
    idx = np.minimum(idx, nt - 1)
    ds = np.einsum("kbj,kj->kb", s[idx], g_unit[tg])
    near = valid & (ds >= np.cos(near_rad))
    counts = near.sum(axis=1)
    pt = np.repeat(tg, counts)
    si = idx[near]
    if len(pt) == 0:
        return PointPasses.empty()

    # Exact geometry on near samples.
    gp, up = g[pt], u[pt]
    S, dS = sin_elevation(r[si], v[si], gp, up)
    f = S - sin_mask
    pos = f >= 0

    cons = (pt[1:] == pt[:-1]) & (si[1:] == si[:-1] + 1)
    k0 = np.flatnonzero(cons)
    k1 = k0 + 1
    p0, p1 = pos[k0], pos[k1]
    h = sec[si[k1]] - sec[si[k0]]
    f0, f1 = f[k0], f[k1]
    d0, d1 = dS[k0] * h, dS[k1] * h  # slopes per unit tau

    rise_pt: list[np.ndarray] = []
    rise_t: list[np.ndarray] = []
    rise_clip: list[np.ndarray] = []
    set_pt: list[np.ndarray] = []
    set_t: list[np.ndarray] = []
    set_clip: list[np.ndarray] = []
    cul_pt: list[np.ndarray] = []
    cul_t: list[np.ndarray] = []
    cul_s: list[np.ndarray] = []

    crossing = p0 != p1
    peak = (d0 > 0) & (d1 <= 0)
    brief = peak & ~p0 & ~p1
    inside = peak & (p0 | p1)
    need = crossing | peak
    seg_all = _Segments(track, si[k0[need]], g[pt[k0[need]]], u[pt[k0[need]]])
    pos_in_need = np.cumsum(need) - 1

    def sub(m: np.ndarray) -> _Segments:
        return seg_all.subset(pos_in_need[m])

    if crossing.any():
        m = crossing
        seg = sub(m)
        tau = _refine_root(seg, sin_mask, np.zeros(int(m.sum())), np.ones(int(m.sum())), f0[m], f1[m], d0[m], d1[m])
        t = seg.t0 + tau * seg.h
        up_ = ~p0[m]
        rise_pt.append(pt[k0[m]][up_])
        rise_t.append(t[up_])
        rise_clip.append(np.zeros(int(up_.sum()), bool))
        set_pt.append(pt[k0[m]][~up_])
        set_t.append(t[~up_])
        set_clip.append(np.zeros(int((~up_).sum()), bool))
    if inside.any():
        m = inside
        seg = sub(m)
        x, sc = _refine_peak(seg, S[k0[m]], d0[m], S[k1[m]], d1[m])
        cul_pt.append(pt[k0[m]])
        cul_t.append(seg.t0 + x * seg.h)
        cul_s.append(sc)
    if brief.any():  # passes that peak between two samples, both below the mask
        m = brief
        seg = sub(m)
        x, sc = _refine_peak(seg, S[k0[m]], d0[m], S[k1[m]], d1[m])
        up_ = sc >= sin_mask
        if up_.any():
            seg = seg.subset(up_)
            x, sc = x[up_], sc[up_]
            kk = k0[m][up_]
            fc = sc - sin_mask
            n = len(kk)
            tr = _refine_root(seg, sin_mask, np.zeros(n), x, f0[m][up_], fc, d0[m][up_], np.zeros(n))
            ts_ = _refine_root(seg, sin_mask, x, np.ones(n), fc, f1[m][up_], np.zeros(n), d1[m][up_])
            rise_pt.append(pt[kk])
            rise_t.append(seg.t0 + tr * seg.h)
            rise_clip.append(np.zeros(n, bool))
            set_pt.append(pt[kk])
            set_t.append(seg.t0 + ts_ * seg.h)
            set_clip.append(np.zeros(n, bool))
            cul_pt.append(pt[kk])
            cul_t.append(seg.t0 + x * seg.h)
            cul_s.append(sc)
    # Runs of near samples that begin or end above the mask.
    run_start = np.ones(len(pt), bool)
    run_start[1:] = ~cons
    run_end = np.ones(len(pt), bool)
    run_end[:-1] = ~cons
    misses = 0
    m = run_start & pos
    if m.any():
        ks = np.flatnonzero(m)
        misses += int(np.count_nonzero(si[ks] != 0))
        rise_pt.append(pt[ks])
        rise_t.append(sec[si[ks]])
        rise_clip.append(np.ones(len(ks), bool))
        cul_pt.append(pt[ks])
        cul_t.append(sec[si[ks]])
        cul_s.append(S[ks])
    m = run_end & pos
    if m.any():
        ke = np.flatnonzero(m)
        misses += int(np.count_nonzero(si[ke] != nt - 1))
        set_pt.append(pt[ke])
        set_t.append(sec[si[ke]])
        set_clip.append(np.ones(len(ke), bool))
        cul_pt.append(pt[ke])
        cul_t.append(sec[si[ke]])
        cul_s.append(S[ke])

    if not rise_pt:
        return PointPasses.empty()
    rp, rt, rc = (np.concatenate(x) for x in (rise_pt, rise_t, rise_clip))
    sp_, st, sc_ = (np.concatenate(x) for x in (set_pt, set_t, set_clip))
    o = np.lexsort((rt, rp))
    rp, rt, rc = rp[o], rt[o], rc[o]
    o = np.lexsort((st, sp_))
    sp_, st, sc_ = sp_[o], st[o], sc_[o]
    if len(rp) != len(sp_) or np.any(rp != sp_) or np.any(st < rt - 1e-6):
        raise RuntimeError("access engine: unmatched rise/set events (please report with the inputs)")

    # Culmination: the highest one inside each pass.
    cp, ct, cs = (np.concatenate(x) for x in (cul_pt, cul_t, cul_s))
    span = float(sec[-1]) + 10.0
    ckey = cp * span + ct
    o = np.argsort(ckey)
    ckey, ct, cs = ckey[o], ct[o], cs[o]
    lo = np.searchsorted(ckey, rp * span + rt - 1e-6, side="left")
    hi = np.searchsorted(ckey, sp_ * span + st + 1e-6, side="right")
    has = hi > lo
    if not has.all():  # pragma: no cover - every pass contains a culmination or a clipped edge
        raise RuntimeError("access engine: pass without culmination (please report with the inputs)")
    # argmax of cs within [lo, hi) per pass
    best = np.empty(len(rp), dtype=np.int64)
    single = hi - lo == 1
    best[single] = lo[single]
    for i in np.flatnonzero(~single):
        best[i] = lo[i] + int(np.argmax(cs[lo[i]:hi[i]]))
    return PointPasses(rp, rt, ct[best], st, rc, sc_, cs[best], misses)
