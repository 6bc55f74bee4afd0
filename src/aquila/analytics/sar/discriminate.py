"""Discrimination: which CFAR candidates are ships — by a learned model (default) or by rules.

Each candidate is described by 16 features: its contrast (peak and mean SCR, brightest 3 x 3 mean,
margin over the CFAR threshold), size and shape (pixels, length, width, aspect, fill), the clutter it
sits in (K shape of its ring, distance to land), its neighbours (the brightest candidate on its row
or column nearby — a sidelobe arm — or far along a row or column — an azimuth ambiguity —, how many
candidates crowd around it) and what surrounds it (the unflagged 15 x 15 window over the background:
a texture bump). The model is gradient-boosted trees trained by `tools/train_discriminator.py` on
synthesized scenes (see the data card beside it, `aquila/data/ship_discriminator.md`), shipped as
arrays and evaluated here with numpy; its probability is the candidate's confidence. The rules are
the hand-set thresholds the model replaced, kept as the fallback and the benchmark's anchor.
Candidates inside the land buffer are rejected either way.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from numba import njit

from aquila.analytics.sar.targets import Candidate

__all__ = ["FEATURES", "features", "ShipModel", "load_model", "discriminate", "MODEL_FILE"]

FEATURES = ("peak_scr_db", "scr_db", "threshold_margin_db", "log_pixels", "length_m", "width_m", "aspect",
            "fill", "log_clutter_shape", "log_land_distance_m", "sidelobe_db", "ambiguity_db", "brighter_near",
            "crowd", "contrast3_db", "surround_db")
MODEL_FILE = "ship_discriminator.npz"
_NONE_DB = -10.0  # "no such neighbour"


@njit(cache=True, nogil=True)
def _neighbours(rows: np.ndarray, cols: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """Per candidate: sidelobe dB, ambiguity dB, brighter within 100 px, candidates within 60 px (pixel units,
    neighbours within 600 px; `rows` sorted ascending)."""
    n = len(rows)
    out = np.empty((n, 4))
    lo = 0
    for a in range(n):
        while rows[lo] < rows[a] - 600.0:
            lo += 1
        side = amb = _NONE_DB
        brighter = crowd = 0
        b = lo
        while b < n and rows[b] <= rows[a] + 600.0:
            if b != a:
                d_row, d_col = abs(rows[b] - rows[a]), abs(cols[b] - cols[a])
                near = math.hypot(d_row, d_col)
                if near <= 600.0:
                    if near <= 60:
                        crowd += 1
                    if peak[b] > peak[a]:
                        ratio = 10 * math.log10(peak[b] / peak[a])
                        if near <= 100:
                            brighter += 1
                        if near <= 60 and (d_row <= 2.5 or d_col <= 2.5):
                            side = max(side, ratio)
                        if 60 <= max(d_row, d_col) <= 600 and min(d_row, d_col) <= 4:
                            amb = max(amb, ratio)
            b += 1
        out[a, 0], out[a, 1], out[a, 2], out[a, 3] = side, amb, brighter, crowd
    return out


def features(cands: list[Candidate], px_m: tuple[float, float]) -> np.ndarray:
    """(n, 16) float64 feature matrix, in the order of FEATURES."""
    n = len(cands)
    out = np.zeros((n, len(FEATURES)))
    if not n:
        return out
    rows = np.array([c.row for c in cands])
    order = np.argsort(rows, kind="stable")
    nb = np.empty((n, 4))
    nb[order] = _neighbours(rows[order], np.array([c.col for c in cands])[order],
                            np.array([c.peak for c in cands])[order])
    area_px_m2 = px_m[0] * px_m[1]
    for a, c in enumerate(cands):
        fill = c.pixels * area_px_m2 / max(c.length_m * c.width_m, 1e-9)
        out[a] = (c.peak_scr_db, c.scr_db, _finite(c.threshold_margin_db, 0.0), math.log10(max(c.pixels, 1)),
                  c.length_m, c.width_m, c.length_m / max(c.width_m, 1e-9), min(fill, 10.0),
                  math.log(_finite(c.clutter_shape, 100.0)), math.log10(min(max(c.land_distance_m, 1.0), 1e5)),
                  nb[a, 0], nb[a, 1], nb[a, 2], nb[a, 3], _finite(c.contrast3_db, c.scr_db),
                  _finite(c.surround_db, 0.0))
    return out


def _finite(v: float, default: float) -> float:
    return v if math.isfinite(v) else default


class ShipModel:
    """Gradient-boosted trees as flat arrays (from scikit-learn's HistGradientBoostingClassifier), scored
    with numpy: P(ship) = sigmoid(baseline + sum of the trees' leaf values)."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.feature = arrays["feature"].astype(np.int64)
        self.threshold = arrays["threshold"].astype(np.float64)
        self.left = arrays["left"].astype(np.int64)
        self.right = arrays["right"].astype(np.int64)
        self.value = arrays["value"].astype(np.float64)
        self.leaf = arrays["leaf"].astype(bool)
        self.missing_left = arrays["missing_left"].astype(bool)
        self.roots = arrays["roots"].astype(np.int64)
        self.baseline = float(arrays["baseline"])
        self.threshold_p = float(arrays["decision_threshold"])
        self.pfa = float(arrays["pfa"])
        """The prescreen false-alarm rate the model was trained behind."""
        self.names = tuple(str(x) for x in arrays["features"])
        if self.names != FEATURES:
            raise ValueError(f"model features {self.names} are not this detector's {FEATURES}")

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        raw = _score_trees(np.ascontiguousarray(x, np.float64), self.feature, self.threshold, self.left, self.right,
                           self.value, self.leaf, self.missing_left, self.roots, self.baseline)
        return 1.0 / (1.0 + np.exp(-raw))


@njit(cache=True, nogil=True)
def _score_trees(x: np.ndarray, feature: np.ndarray, threshold: np.ndarray, left: np.ndarray, right: np.ndarray,
                 value: np.ndarray, leaf: np.ndarray, missing_left: np.ndarray, roots: np.ndarray,
                 baseline: float) -> np.ndarray:
    """Sum of the trees' leaf values per sample (left when x <= threshold; NaN goes where training sent it)."""
    n = x.shape[0]
    raw = np.full(n, baseline)
    for i in range(n):
        acc = 0.0
        for root in roots:
            node = root
            while not leaf[node]:
                v = x[i, feature[node]]
                go_left = missing_left[node] if np.isnan(v) else v <= threshold[node]
                node = left[node] if go_left else right[node]
            acc += value[node]
        raw[i] += acc
    return raw


@lru_cache(maxsize=1)
def load_model() -> ShipModel:
    """The shipped model (aquila/data/ship_discriminator.npz)."""
    with resources.files("aquila").joinpath("data", MODEL_FILE).open("rb") as f:
        arrays = dict(np.load(f, allow_pickle=False))
    return ShipModel(arrays)


def _rule(c: Candidate, f: np.ndarray) -> str:
    if c.pixels > 40 and c.scr_db < 4.0 and c.peak_scr_db < 9.0:
        return "patch"
    if f[FEATURES.index("sidelobe_db")] >= 10.0:
        return "sidelobe"
    if f[FEATURES.index("ambiguity_db")] >= 15.0:
        return "ambiguity"
    return ""


def discriminate(cands: list[Candidate], px_m: tuple[float, float], land_buffer_m: float, method: str = "model",
                 model: Any = None) -> tuple[list[Candidate], list[Candidate]]:
    """(ships, rejected with their reason): `method` is "model", "rules" or "none" (land buffer only)."""
    if not cands:
        return [], []
    feats = features(cands, px_m)
    prob = None
    if method == "model":
        m = model or load_model()
        prob = m.predict_proba(feats)
        cut = m.threshold_p
    ships: list[Candidate] = []
    rejected: list[Candidate] = []
    for k, c in enumerate(cands):
        if c.land_distance_m < land_buffer_m:
            reason = "land"
        elif prob is not None:
            reason = "" if prob[k] >= cut else "model"
            c = replace(c, confidence=round(float(prob[k]), 3))
        elif method == "rules":
            reason = _rule(c, feats[k])
        else:
            reason = ""
        (rejected if reason else ships).append(replace(c, rejected=reason) if reason else c)
    return ships, rejected
