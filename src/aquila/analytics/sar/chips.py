"""Image chips around candidates: what the learned chip scorer looks at.

A chip is `CHIP_PX` x `CHIP_PX` pixels of the image around a candidate's centre, in dB over the
candidate's background (the ring mean its SCR is measured against), clipped to [-15, 35] dB; pixels
that are not open sea (invalid, land, inside the land buffer, off the image) read 0 dB — the
background — so a chip carries the target's shape and its surroundings, not the calibration or the coast.
Cut in the detector's own tiles, from the pixels the prescreen saw, so training and detection see the
same chips.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["CHIP_PX", "cut_chips"]

CHIP_PX = 24
"""Chip side in pixels (120-480 m at the 5-20 m pixels the scorer is trained on)."""
_LO_DB, _HI_DB = -15.0, 35.0


@njit(cache=True, nogil=True)
def _cut(x: np.ndarray, sea: np.ndarray, rows: np.ndarray, cols: np.ndarray, bg: np.ndarray, size: int,
         lo: float, hi: float) -> np.ndarray:
    n = len(rows)
    h, w = x.shape
    out = np.zeros((n, size, size), np.float32)
    half = size // 2
    for k in range(n):
        r0 = int(math.floor(rows[k] + 0.5)) - half
        c0 = int(math.floor(cols[k] + 0.5)) - half
        inv = 1.0 / bg[k] if bg[k] > 0 else 0.0
        for i in range(size):
            r = r0 + i
            if r < 0 or r >= h:
                continue
            for j in range(size):
                c = c0 + j
                if c < 0 or c >= w or not sea[r, c]:
                    continue
                v = x[r, c] * inv
                if v > 0 and np.isfinite(v):
                    out[k, i, j] = min(max(10.0 * math.log10(v), lo), hi)
    return out


def cut_chips(x: np.ndarray, sea: np.ndarray, rows: np.ndarray, cols: np.ndarray, background: np.ndarray
              ) -> np.ndarray:
    """(n, CHIP_PX, CHIP_PX) float32 chips around (rows, cols) of `x` (linear backscatter, tile coordinates),
    in dB over each `background`; not-sea pixels (`sea` False) and pixels off the tile read 0 dB."""
    if len(rows) == 0:
        return np.zeros((0, CHIP_PX, CHIP_PX), np.float32)
    return _cut(x, sea, np.asarray(rows, np.float64), np.asarray(cols, np.float64),
                np.asarray(background, np.float64), CHIP_PX, _LO_DB, _HI_DB)
