"""The compiled CFAR prescreen (numba): a K-distribution test against a censored background ring.

The background is estimated on a grid of b x b pixel blocks (b = 4 at 10 m, more for finer pixels so
the ring stays ~30 blocks wide): one pass sums each block's valid, censored pixels (land, nodata
and pixels 15x above their 64-px block median left out, so one ship does not hide its neighbours),
then each block's ring — the blocks between a guard box (which holds the target itself, up to ~400 m
ships) and an outer box — is read in O(1) from summed-area tables of the block sums. The ring's
first two moments give the local mean and the K shape; a pixel is a detection when it exceeds
mean x t(nu) for the requested false-alarm rate. The same test runs on the image averaged over
3 x 3 pixels (dim, extended ships), with its own looks. Per pixel that is two streaming passes, so
the detector runs at memory speed; the ring is placed to within half a block (2 px at 10 m).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["box_mean", "block_median", "block_sums", "ring_thresholds", "cfar_test"]


@njit(cache=True, nogil=True, error_model="numpy")
def box_mean(x: np.ndarray, valid: np.ndarray, k: int) -> np.ndarray:
    """Mean over the k x k box around each pixel of its valid pixels (NaN where the pixel is not valid).

    Separable and streaming: each row's k-wide sums (value and count) go into a ring of k row buffers and
    an output row adds the k buffered rows; every inner loop is branch-free so it vectorizes, and the
    working memory is k rows, not a tile."""
    h, w = x.shape
    r = k // 2
    out = np.empty((h, w), np.float32)
    row_x = np.zeros(w + 2 * r, np.float32)  # one input row, zero-padded, invalid pixels as 0
    row_n = np.zeros(w + 2 * r, np.float32)
    ring_s = np.zeros((k, w), np.float32)  # horizontal sums of the last k rows (zero beyond the image)
    ring_n = np.zeros((k, w), np.float32)
    for i in range(-r, h):  # input row i + r enters the ring (zeros past the last row), output row i leaves
        a = i + r
        slot = a % k
        if a < h:
            for j in range(w):
                ok = valid[a, j]
                row_x[j + r] = x[a, j] if ok else np.float32(0.0)
                row_n[j + r] = np.float32(1.0) if ok else np.float32(0.0)
            for j in range(w):
                ring_s[slot, j] = row_x[j]
                ring_n[slot, j] = row_n[j]
            for d in range(1, k):
                for j in range(w):
                    ring_s[slot, j] += row_x[j + d]
                    ring_n[slot, j] += row_n[j + d]
        else:
            for j in range(w):
                ring_s[slot, j] = 0.0
                ring_n[slot, j] = 0.0
        if i < 0:
            continue
        for j in range(w):
            s = ring_s[0, j]
            n = ring_n[0, j]
            for q in range(1, k):
                s += ring_s[q, j]
                n += ring_n[q, j]
            out[i, j] = s / n if valid[i, j] else np.float32(np.nan)
    return out


@njit(cache=True, nogil=True)
def block_median(x: np.ndarray, valid: np.ndarray, block: int) -> np.ndarray:
    """The median of the valid pixels of each block x block block, sampled every second row and column
    (a censoring reference needs no more), inf where none is valid."""
    h, w = x.shape
    hb, wb = (h + block - 1) // block, (w + block - 1) // block
    out = np.full((hb, wb), np.inf, np.float32)
    buf = np.empty(block * block, np.float32)
    for bi in range(hb):
        for bj in range(wb):
            n = 0
            for i in range(bi * block, min(h, (bi + 1) * block), 2):
                for j in range(bj * block, min(w, (bj + 1) * block), 2):
                    if valid[i, j]:
                        buf[n] = x[i, j]
                        n += 1
            if n:
                out[bi, bj] = np.median(buf[:n])
    return out


@njit(cache=True, nogil=True)
def block_sums(x: np.ndarray, x3: np.ndarray, valid: np.ndarray, med: np.ndarray, med_block: int,
               censor_factor: float, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                      np.ndarray]:
    """Per b x b block over its valid, uncensored pixels: sum of x, of x^2, of x3^2, and the count; and over all
    its valid pixels the largest x and x3 (a block whose largest values are below any threshold the ring could
    give needs no threshold)."""
    h, w = x.shape
    hb, wb = (h + b - 1) // b, (w + b - 1) // b
    s1 = np.zeros((hb, wb))
    s2 = np.zeros((hb, wb))
    s2_3 = np.zeros((hb, wb))
    n = np.zeros((hb, wb))
    mx1 = np.zeros((hb, wb), np.float32)
    mx3 = np.zeros((hb, wb), np.float32)
    zero = np.float32(0.0)
    for i in range(h):
        bi = i // b
        mi = i // med_block
        for bj in range(wb):  # a block's share of the row, summed in registers, branch-free
            a1 = a2 = a3 = cnt = 0.0
            m1 = m3 = zero
            for j in range(bj * b, min(w, bj * b + b)):
                ok = valid[i, j]
                v = x[i, j] if ok else zero
                v3 = x3[i, j] if ok else zero
                m1 = max(m1, v)
                m3 = max(m3, v3)
                keep = ok and v < censor_factor * med[mi, j // med_block]
                vf = float(v) if keep else 0.0
                a1 += vf
                a2 += vf * vf
                a3 += float(v3) * float(v3) if keep else 0.0
                cnt += 1.0 if keep else 0.0
            s1[bi, bj] += a1
            s2[bi, bj] += a2
            s2_3[bi, bj] += a3
            n[bi, bj] += cnt
            mx1[bi, bj] = max(mx1[bi, bj], m1)
            mx3[bi, bj] = max(mx3[bi, bj], m3)
    return s1, s2, s2_3, n, mx1, mx3


@njit(cache=True, nogil=True)
def _sat(a: np.ndarray) -> np.ndarray:
    h, w = a.shape
    s = np.zeros((h + 1, w + 1))
    for i in range(h):
        acc = 0.0
        for j in range(w):
            acc += a[i, j]
            s[i + 1, j + 1] = s[i, j + 1] + acc
    return s


@njit(cache=True, nogil=True, inline="always")
def _box(t: np.ndarray, i0: int, i1: int, j0: int, j1: int) -> float:
    return t[i1, j1] - t[i0, j1] - t[i1, j0] + t[i0, j0]


@njit(cache=True, nogil=True, inline="always")
def _k_factor(m1: float, m2: float, looks: float, ln_nu: np.ndarray, ln_t: np.ndarray) -> float:
    """The K threshold multiplier t(nu) for the ring's moments (nu by the method of moments)."""
    kmax = len(ln_nu) - 1
    r = m2 / max(m1 * m1, 1e-30)
    inv = r / (1.0 + 1.0 / looks) - 1.0
    ln = min(max(-math.log(max(inv, 0.01)), ln_nu[0]), ln_nu[kmax])  # ln nu, within the table
    step = (ln_nu[kmax] - ln_nu[0]) / kmax  # the table is uniform in ln nu
    k = min(max(int((ln - ln_nu[0]) / step) + 1, 1), kmax)
    f = (ln - ln_nu[k - 1]) / (ln_nu[k] - ln_nu[k - 1])
    return math.exp((1.0 - f) * ln_t[k - 1] + f * ln_t[k])


@njit(cache=True, nogil=True)
def ring_thresholds(s1: np.ndarray, s2: np.ndarray, s2_3: np.ndarray, n: np.ndarray, mx1: np.ndarray,
                    mx3: np.ndarray, guard: int, outer: int, min_count: float, looks1: float, looks3: float,
                    ln_nu: np.ndarray, ln_t1: np.ndarray, ln_t3: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per block: (threshold for x, threshold for the 3 x 3 mean, ring mean, K shape, K shape of the 3 x 3
    mean); inf / 0 / NaN where the ring holds fewer than `min_count` usable pixels. `guard` and `outer` are
    half-sizes in blocks. The two shapes tell texture correlation apart: averaging 3 x 3 leaves a coarse
    texture's shape as it is and makes a fine one (a few pixels) look smooth.

    The thresholds (a logarithm and two exponentials) and the 3 x 3 shape are only worked out for blocks
    whose largest x or x3 (`mx1`, `mx3`) reaches the least threshold the table allows; elsewhere they stay
    inf (NaN), which tests the same (no pixel there could pass) at a tenth of the cost."""
    hb, wb = s1.shape
    t1, t2, t3, tn = _sat(s1), _sat(s2), _sat(s2_3), _sat(n)
    low1 = math.exp(ln_t1.min()) * (1.0 - 1e-5)  # below every interpolated factor, float32 rounding included
    low3 = math.exp(ln_t3.min()) * (1.0 - 1e-5)
    thr1 = np.full((hb, wb), np.inf, np.float32)
    thr3 = np.full((hb, wb), np.inf, np.float32)
    mean = np.zeros((hb, wb), np.float32)
    shape = np.full((hb, wb), np.nan, np.float32)
    shape3 = np.full((hb, wb), np.nan, np.float32)
    for i in range(hb):
        o0, o1 = max(0, i - outer), min(hb, i + outer + 1)
        g0, g1 = max(0, i - guard), min(hb, i + guard + 1)
        for j in range(wb):
            p0, p1 = max(0, j - outer), min(wb, j + outer + 1)
            q0, q1 = max(0, j - guard), min(wb, j + guard + 1)
            cnt = _box(tn, o0, o1, p0, p1) - _box(tn, g0, g1, q0, q1)
            if cnt < min_count:
                continue
            m1 = (_box(t1, o0, o1, p0, p1) - _box(t1, g0, g1, q0, q1)) / cnt
            if m1 <= 0:
                continue
            m2 = (_box(t2, o0, o1, p0, p1) - _box(t2, g0, g1, q0, q1)) / cnt
            mean[i, j] = m1
            shape[i, j] = 1.0 / max(m2 / max(m1 * m1, 1e-30) / (1.0 + 1.0 / looks1) - 1.0, 0.01)
            if mx1[i, j] < low1 * m1 and mx3[i, j] < low3 * m1:
                continue
            m2_3 = (_box(t3, o0, o1, p0, p1) - _box(t3, g0, g1, q0, q1)) / cnt
            thr1[i, j] = _k_factor(m1, m2, looks1, ln_nu, ln_t1) * m1
            thr3[i, j] = _k_factor(m1, m2_3, looks3, ln_nu, ln_t3) * m1
            shape3[i, j] = 1.0 / max(m2_3 / max(m1 * m1, 1e-30) / (1.0 + 1.0 / looks3) - 1.0, 0.01)
    return thr1, thr3, mean, shape, shape3


@njit(cache=True, nogil=True)
def cfar_test(x: np.ndarray, x3: np.ndarray, valid: np.ndarray, thr1: np.ndarray, thr3: np.ndarray,
              mean: np.ndarray, b: int, rows: tuple[int, int], cols: tuple[int, int]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The detected mask over `rows` x `cols` and its pixels (rows, cols; row-major): a valid pixel with a
    usable ring is detected when it, or its 3 x 3 mean, is above its block's threshold (its background mean
    is its block's `mean`)."""
    h, w = x.shape
    det = np.zeros((h, w), np.bool_)
    cap = max(4096, (rows[1] - rows[0]) * (cols[1] - cols[0]) // 256)  # flagged pixels are rare (~1e-4)
    rr = np.empty(cap, np.int64)
    cc = np.empty(cap, np.int64)
    n = 0
    for i in range(rows[0], rows[1]):
        bi = i // b
        for j in range(cols[0], cols[1]):
            if not valid[i, j]:
                continue
            bj = j // b
            if mean[bi, bj] <= 0:
                continue
            if x[i, j] > thr1[bi, bj] or x3[i, j] > thr3[bi, bj]:
                det[i, j] = True
                if n < cap:
                    rr[n] = i
                    cc[n] = j
                n += 1
    if n <= cap:
        return det, rr[:n], cc[:n]
    rr = np.empty(n, np.int64)  # more than the lists hold (a bright patch): gather them from the mask
    cc = np.empty(n, np.int64)
    k = 0
    for i in range(rows[0], rows[1]):
        for j in range(cols[0], cols[1]):
            if det[i, j]:
                rr[k] = i
                cc[k] = j
                k += 1
    return det, rr, cc
