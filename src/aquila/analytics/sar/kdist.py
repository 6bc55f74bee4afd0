"""K-distribution thresholds: how far above the local mean a pixel must be for a false-alarm rate Pfa.

Sea clutter intensity is modelled as K-distributed: gamma texture of shape nu (mean 1) times gamma
speckle of L looks. The shape is estimated locally by the method of moments,

    E[I^2] / E[I]^2 = (1 + 1/L) (1 + 1/nu)   =>   1/nu = (m2 / m1^2) / (1 + 1/L) - 1,

so a spiky, heavy-tailed patch (small nu) gets a higher threshold than smooth sea: the threshold
follows the local tail, where a fixed multiplier tuned on gamma clutter gives ~25 false alarms per
MPix on K clutter of shape 3 (NOTES). Thresholds come from a table (`aquila/data/kcfar_table.npz`,
made by `tools/build_kcfar_table.py`) interpolated in (ln nu, ln L, log10 Pfa).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np

__all__ = ["threshold_factor", "shape_from_moments", "NU_MIN", "NU_MAX"]

NU_MIN, NU_MAX = 0.3, 100.0


@lru_cache(maxsize=1)
def _table() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    with resources.files("aquila").joinpath("data/kcfar_table.npz").open("rb") as f:
        d = np.load(f)
        return np.log(d["nu"]), np.log(d["looks"]), d["log10_pfa"], d["log_t"].astype(np.float64)


def shape_from_moments(m1: np.ndarray, m2: np.ndarray, looks: float) -> np.ndarray:
    """Texture shape nu from the first two moments of intensity (clipped to the table's 0.3..100)."""
    r = m2 / np.maximum(m1 * m1, 1e-30)
    inv = r / (1.0 + 1.0 / looks) - 1.0
    return np.clip(1.0 / np.maximum(inv, 1.0 / NU_MAX), NU_MIN, NU_MAX)


@lru_cache(maxsize=16)
def _slice(log10_pfa: float) -> np.ndarray:
    """The (nu, L) plane of ln t at one Pfa (linear in log10 Pfa between the table's planes)."""
    _, _, pf, lt = _table()
    x = float(np.clip(log10_pfa, pf.min(), pf.max()))
    k = int(np.clip(np.searchsorted(-pf, -x), 1, len(pf) - 1))
    f = (x - pf[k - 1]) / (pf[k] - pf[k - 1])
    out: np.ndarray = (1 - f) * lt[:, :, k - 1] + f * lt[:, :, k]
    return out


def threshold_factor(nu: np.ndarray, looks: float, pfa: float) -> np.ndarray:
    """t / mean such that P(I > t) = pfa for K clutter of shape `nu` and `looks` looks (vectorised in nu)."""
    lnu, lL, _, _ = _table()
    plane = _slice(float(np.log10(pfa)))
    x = np.clip(np.log(np.asarray(nu, dtype=np.float64)), lnu[0], lnu[-1])
    y = float(np.clip(np.log(looks), lL[0], lL[-1]))
    i = np.clip(np.searchsorted(lnu, x) , 1, len(lnu) - 1)
    j = int(np.clip(np.searchsorted(lL, y), 1, len(lL) - 1))
    fx = (x - lnu[i - 1]) / (lnu[i] - lnu[i - 1])
    fy = (y - lL[j - 1]) / (lL[j] - lL[j - 1])
    v = ((1 - fx) * ((1 - fy) * plane[i - 1, j - 1] + fy * plane[i - 1, j])
         + fx * ((1 - fy) * plane[i, j - 1] + fy * plane[i, j]))
    out: np.ndarray = np.exp(v)
    return out
