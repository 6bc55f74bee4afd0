"""The compiled CFAR prescreen (numba): a K-distribution test against a censored background ring.

For each pixel the background is the ring between a guard box (half-size `guard`, which holds the
target itself, up to ~400 m ships) and an outer box (half-size `outer`), read in O(1) from integral
images of the valid, censored pixels (land, nodata and very bright pixels are left out, so one ship
does not hide its neighbours). The ring's first two moments give the local mean and the K shape;
a pixel is a detection when it exceeds mean x t(nu) for the requested false-alarm rate. The same
test runs on the image averaged over 3 x 3 pixels (dim, extended ships), with its own looks.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["box_mean", "integral_images", "cfar_test"]


@njit(cache=True, nogil=True)
def box_mean(x: np.ndarray, valid: np.ndarray, k: int) -> np.ndarray:
    """Mean over the k x k box around each pixel of its valid pixels (NaN where none is valid)."""
    h, w = x.shape
    r = k // 2
    s = np.zeros((h + 1, w + 1))
    n = np.zeros((h + 1, w + 1))
    for i in range(h):
        acc = 0.0
        cnt = 0.0
        for j in range(w):
            if valid[i, j]:
                acc += x[i, j]
                cnt += 1.0
            s[i + 1, j + 1] = s[i, j + 1] + acc
            n[i + 1, j + 1] = n[i, j + 1] + cnt
    out = np.empty((h, w), np.float32)
    for i in range(h):
        i0, i1 = max(0, i - r), min(h, i + r + 1)
        for j in range(w):
            j0, j1 = max(0, j - r), min(w, j + r + 1)
            c = n[i1, j1] - n[i0, j1] - n[i1, j0] + n[i0, j0]
            out[i, j] = (s[i1, j1] - s[i0, j1] - s[i1, j0] + s[i0, j0]) / c if c > 0 and valid[i, j] else np.nan
    return out


@njit(cache=True, nogil=True)
def integral_images(x: np.ndarray, use: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Summed-area tables of x, x^2 and the count, over the pixels where `use` is true."""
    h, w = x.shape
    s1 = np.zeros((h + 1, w + 1))
    s2 = np.zeros((h + 1, w + 1))
    n = np.zeros((h + 1, w + 1))
    for i in range(h):
        a1 = 0.0
        a2 = 0.0
        c = 0.0
        for j in range(w):
            if use[i, j]:
                v = float(x[i, j])
                a1 += v
                a2 += v * v
                c += 1.0
            s1[i + 1, j + 1] = s1[i, j + 1] + a1
            s2[i + 1, j + 1] = s2[i, j + 1] + a2
            n[i + 1, j + 1] = n[i, j + 1] + c
    return s1, s2, n


@njit(cache=True, nogil=True, inline="always")
def _box(t: np.ndarray, i0: int, i1: int, j0: int, j1: int) -> float:
    return t[i1, j1] - t[i0, j1] - t[i1, j0] + t[i0, j0]


@njit(cache=True, nogil=True)
def cfar_test(x: np.ndarray, valid: np.ndarray, s1: np.ndarray, s2: np.ndarray, n: np.ndarray, guard: int,
              outer: int, looks: float, ln_nu: np.ndarray, ln_t: np.ndarray, min_fill: float,
              pre_factor: float, rows: tuple[int, int], cols: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(detected mask, background mean) over the tile's `rows` x `cols` core; background mean is 0 where
    the pixel was not tested. `ln_t(ln_nu)` is the threshold curve for this looks and Pfa."""
    h, w = x.shape
    det = np.zeros((h, w), np.bool_)
    bg = np.zeros((h, w), np.float32)
    ring_full = (2 * outer + 1) ** 2 - (2 * guard + 1) ** 2
    kmax = len(ln_nu) - 1
    for i in range(rows[0], rows[1]):
        o0, o1 = max(0, i - outer), min(h, i + outer + 1)
        g0, g1 = max(0, i - guard), min(h, i + guard + 1)
        for j in range(cols[0], cols[1]):
            if not valid[i, j]:
                continue
            p0, p1 = max(0, j - outer), min(w, j + outer + 1)
            q0, q1 = max(0, j - guard), min(w, j + guard + 1)
            cnt = _box(n, o0, o1, p0, p1) - _box(n, g0, g1, q0, q1)
            if cnt < min_fill * ring_full or cnt < 16:
                continue
            m1 = (_box(s1, o0, o1, p0, p1) - _box(s1, g0, g1, q0, q1)) / cnt
            v = x[i, j]
            if v <= pre_factor * m1:  # cheap prescreen: no K threshold is below pre_factor x mean
                continue
            m2 = (_box(s2, o0, o1, p0, p1) - _box(s2, g0, g1, q0, q1)) / cnt
            r = m2 / max(m1 * m1, 1e-30)
            inv = r / (1.0 + 1.0 / looks) - 1.0
            nu = 1.0 / max(inv, 0.01)
            ln = np.log(min(max(nu, np.exp(ln_nu[0])), np.exp(ln_nu[kmax])))
            k = 1
            while k < kmax and ln_nu[k] < ln:
                k += 1
            f = (ln - ln_nu[k - 1]) / (ln_nu[k] - ln_nu[k - 1])
            t = np.exp((1.0 - f) * ln_t[k - 1] + f * ln_t[k])
            bg[i, j] = m1
            if v > t * m1:
                det[i, j] = True
    return det, bg
