"""Compiled inner loop of the access engine (numba): screen, evaluate and refine in one pass.

For one satellite and every target point it walks the candidate blocks in time order, keeps the
grid samples within reach (+ one step), evaluates the exact sine of the elevation and its rate on
them, and turns sign changes into passes on the spot: rises and sets by safeguarded Newton on
cubic-Hermite interpolated SGP4 states, culminations (and passes that peak between two samples)
by Newton on the elevation rate. No large temporaries are built; memory is O(passes).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["scan_passes", "allocate"]

_TOL_TAU = 1e-10  # convergence in units of the grid step (6 ns at 60 s)


@njit(cache=True, nogil=True, inline="always")
def _hermite_s(r, v, k, h, gx, gy, gz, ux, uy, uz, tau):
    """sin(elevation) and its derivative per unit tau at tau in grid segment k."""
    t2 = tau * tau
    t3 = t2 * tau
    h00 = 2 * t3 - 3 * t2 + 1
    h10 = (t3 - 2 * t2 + tau) * h
    h01 = -2 * t3 + 3 * t2
    h11 = (t3 - t2) * h
    d00 = 6 * t2 - 6 * tau
    d10 = (3 * t2 - 4 * tau + 1) * h
    d11 = (3 * t2 - 2 * tau) * h
    px = h00 * r[k, 0] + h10 * v[k, 0] + h01 * r[k + 1, 0] + h11 * v[k + 1, 0] - gx
    py = h00 * r[k, 1] + h10 * v[k, 1] + h01 * r[k + 1, 1] + h11 * v[k + 1, 1] - gy
    pz = h00 * r[k, 2] + h10 * v[k, 2] + h01 * r[k + 1, 2] + h11 * v[k + 1, 2] - gz
    qx = d00 * (r[k, 0] - r[k + 1, 0]) + d10 * v[k, 0] + d11 * v[k + 1, 0]
    qy = d00 * (r[k, 1] - r[k + 1, 1]) + d10 * v[k, 1] + d11 * v[k + 1, 1]
    qz = d00 * (r[k, 2] - r[k + 1, 2]) + d10 * v[k, 2] + d11 * v[k + 1, 2]
    rho = math.sqrt(px * px + py * py + pz * pz)
    s = (px * ux + py * uy + pz * uz) / rho
    rdot = (px * qx + py * qy + pz * qz) / rho
    ds = (qx * ux + qy * uy + qz * uz) / rho - s * rdot / rho
    return s, ds


@njit(cache=True, nogil=True)
def _root(r, v, k, h, gx, gy, gz, ux, uy, uz, level, a, b, fa, fb, da, db):
    """tau in [a, b] where sin(elevation) == level (fa = f(a), fb = f(b) of opposite signs; da, db slopes)."""
    w = b - a
    # start: root of the cubic through the bracket's values and slopes
    x = fa / (fa - fb) if fa != fb else 0.5
    for _ in range(4):
        x2 = x * x
        x3 = x2 * x
        val = (2 * x3 - 3 * x2 + 1) * fa + (x3 - 2 * x2 + x) * da * w + (-2 * x3 + 3 * x2) * fb + (x3 - x2) * db * w
        der = (6 * x2 - 6 * x) * (fa - fb) + (3 * x2 - 4 * x + 1) * da * w + (3 * x2 - 2 * x) * db * w
        if der == 0.0:
            break
        x = min(1.0, max(0.0, x - val / der))
    tau = a + x * w
    lo, hi = a, b
    rising = fb > fa
    for _ in range(60):
        s, ds = _hermite_s(r, v, k, h, gx, gy, gz, ux, uy, uz, tau)
        f = s - level
        if (f < 0) == rising:
            lo = tau
        else:
            hi = tau
        nxt = tau - f / ds if ds != 0.0 else 0.5 * (lo + hi)
        if not (lo <= nxt <= hi):
            nxt = 0.5 * (lo + hi)
        if abs(nxt - tau) < _TOL_TAU or hi - lo < _TOL_TAU:
            return nxt
        tau = nxt
    return tau


@njit(cache=True, nogil=True)
def _peak(r, v, k, h, gx, gy, gz, ux, uy, uz, s0, d0, s1, d1):
    """tau in [0, 1] of the maximum of sin(elevation) given d0 > 0 >= d1, and the maximum."""
    lo, hi = 0.0, 1.0
    x = d0 / (d0 - d1) if d0 != d1 else 0.5
    for _ in range(4):  # maximum of the cubic model
        der = (6 * x * x - 6 * x) * (s0 - s1) + (3 * x * x - 4 * x + 1) * d0 + (3 * x * x - 2 * x) * d1
        sec = (12 * x - 6) * (s0 - s1) + (6 * x - 4) * d0 + (6 * x - 2) * d1
        if sec >= 0.0:
            break
        x = min(1.0, max(0.0, x - der / sec))
    for _ in range(60):  # Newton on the exact rate with a finite-difference curvature, bracketed
        s, ds = _hermite_s(r, v, k, h, gx, gy, gz, ux, uy, uz, x)
        if ds > 0:
            lo = x
        else:
            hi = x
        e = 1e-4
        xe = x + e if x + e <= 1.0 else x - e
        _, dse = _hermite_s(r, v, k, h, gx, gy, gz, ux, uy, uz, xe)
        curv = (dse - ds) / (xe - x)
        nxt = x - ds / curv if curv < 0.0 else 0.5 * (lo + hi)
        if not (lo <= nxt <= hi):
            nxt = 0.5 * (lo + hi)
        if abs(nxt - x) < 1e-9 or hi - lo < 1e-9:
            x = nxt
            break
        x = nxt
    s, _ = _hermite_s(r, v, k, h, gx, gy, gz, ux, uy, uz, x)
    return x, s


@njit(cache=True, nogil=True, inline="always")
def _emit(out, n, j, rise, culm, set_, rclip, sclip, smax):
    """Write one pass at row n of the output arrays; returns the next row, or -1 when full."""
    o_pt, o_rise, o_culm, o_set, o_rclip, o_sclip, o_smax = out
    if n >= o_pt.shape[0]:
        return -1
    o_pt[n], o_rise[n], o_culm[n], o_set[n] = j, rise, culm, set_
    o_rclip[n], o_sclip[n], o_smax[n] = rclip, sclip, smax
    return n + 1


@njit(cache=True, nogil=True, inline="always")
def _close_run(out, n, j, rise, rclip, best_t, best_s, sec, prev, ps):
    """A run of near samples ended above the mask at sample `prev`: the pass ends there.

    That is the period end (the set is clipped) or, anywhere else, a screening miss (counted).
    Returns (next row or -1, misses added).
    """
    last = prev == sec.shape[0] - 1
    if ps > best_s:
        best_s, best_t = ps, sec[prev]
    return _emit(out, n, j, rise, best_t, sec[prev], rclip, last, best_s), (0 if last else 1)


@njit(cache=True, nogil=True)
def scan_passes(sec, r, v, s_unit, centres, cos_thr_b, block, g, u, g_unit, sin_mask, cos_near,
                o_pt, o_rise, o_culm, o_set, o_rclip, o_sclip, o_smax):
    """Fill the output arrays with every pass; returns (count, screening misses), count -1 on overflow."""
    nt = sec.shape[0]
    nb = centres.shape[0]
    out = (o_pt, o_rise, o_culm, o_set, o_rclip, o_sclip, o_smax)
    n = 0
    misses = 0
    for j in range(g.shape[0]):
        gx, gy, gz = g[j, 0], g[j, 1], g[j, 2]
        ux, uy, uz = u[j, 0], u[j, 1], u[j, 2]
        ex, ey, ez = g_unit[j, 0], g_unit[j, 1], g_unit[j, 2]
        prev = -10  # previous near sample
        ps = 0.0
        pd = 0.0  # its sin(elevation) and rate per second
        in_pass = False
        rise = 0.0
        rclip = False
        best_t = 0.0
        best_s = -2.0
        for b in range(nb):
            if centres[b, 0] * ex + centres[b, 1] * ey + centres[b, 2] * ez < cos_thr_b[b]:
                continue
            i_end = min((b + 1) * block, nt)
            for i in range(b * block, i_end):
                if s_unit[i, 0] * ex + s_unit[i, 1] * ey + s_unit[i, 2] * ez < cos_near:
                    continue
                # exact sin(elevation) and rate at sample i
                px = r[i, 0] - gx
                py = r[i, 1] - gy
                pz = r[i, 2] - gz
                rho = math.sqrt(px * px + py * py + pz * pz)
                s = (px * ux + py * uy + pz * uz) / rho
                rdot = (px * v[i, 0] + py * v[i, 1] + pz * v[i, 2]) / rho
                d = (v[i, 0] * ux + v[i, 1] * uy + v[i, 2] * uz) / rho - s * rdot / rho
                f = s - sin_mask
                if prev >= 0 and i != prev + 1:
                    # the previous run ended: a pass still open there ends at its last sample
                    if in_pass:
                        n, miss = _close_run(out, n, j, rise, rclip, best_t, best_s, sec, prev, ps)
                        misses += miss
                        if n < 0:
                            return -1, misses
                        in_pass = False
                if prev >= 0 and i == prev + 1:
                    k = prev
                    hk = sec[k + 1] - sec[k]
                    f0 = ps - sin_mask
                    d0 = pd * hk
                    d1 = d * hk
                    if f0 < 0 <= f:
                        tau = _root(r, v, k, hk, gx, gy, gz, ux, uy, uz, sin_mask, 0.0, 1.0, f0, f, d0, d1)
                        in_pass = True
                        rise = sec[k] + tau * hk
                        rclip = False
                        best_s = -2.0
                    if d0 > 0 >= d1:
                        x, sm = _peak(r, v, k, hk, gx, gy, gz, ux, uy, uz, ps, d0, s, d1)
                        if f0 >= 0 or f >= 0:
                            if sm > best_s:
                                best_s, best_t = sm, sec[k] + x * hk
                        elif sm >= sin_mask:  # a pass that peaks between two samples
                            fm = sm - sin_mask
                            t_r = _root(r, v, k, hk, gx, gy, gz, ux, uy, uz, sin_mask, 0.0, x, f0, fm, d0, 0.0)
                            t_s = _root(r, v, k, hk, gx, gy, gz, ux, uy, uz, sin_mask, x, 1.0, fm, f, 0.0, d1)
                            n = _emit(out, n, j, sec[k] + t_r * hk, sec[k] + x * hk, sec[k] + t_s * hk, False,
                                      False, sm)
                            if n < 0:
                                return -1, misses
                    if f0 >= 0 > f:
                        tau = _root(r, v, k, hk, gx, gy, gz, ux, uy, uz, sin_mask, 0.0, 1.0, f0, f, d0, d1)
                        n = _emit(out, n, j, rise, best_t, sec[k] + tau * hk, rclip, False, best_s)
                        if n < 0:
                            return -1, misses
                        in_pass = False
                elif f >= 0:
                    # a run that starts above the mask: a pass in progress at the period start
                    in_pass = True
                    rise = sec[i]
                    rclip = i == 0
                    misses += 0 if i == 0 else 1
                    best_s, best_t = s, sec[i]
                prev = i
                ps = s
                pd = d
        if in_pass:  # the last run ended above the mask: at the period end, or a screening miss
            n, miss = _close_run(out, n, j, rise, rclip, best_t, best_s, sec, prev, ps)
            misses += miss
            if n < 0:
                return -1, misses
    return n, misses


def allocate(capacity: int) -> tuple[np.ndarray, ...]:
    """Output arrays for `scan_passes`: point, rise, culmination, set, clipped flags, max sin(elevation)."""
    return (np.empty(capacity, np.int64), np.empty(capacity), np.empty(capacity), np.empty(capacity),
            np.empty(capacity, np.bool_), np.empty(capacity, np.bool_), np.empty(capacity))
