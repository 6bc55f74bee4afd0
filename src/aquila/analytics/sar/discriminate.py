"""Discrimination: which CFAR candidates are ships — by a learned model (default) or by rules.

Each candidate is described by 21 features: its contrast (peak and mean SCR, brightest 3 x 3 mean,
margin over the CFAR threshold), size and shape (pixels, length, width, aspect, fill), the clutter it
sits in (K shape of its ring, how much spikier the ring is than its 3 x 3 means — a fine-grained texture
—, distance to land), its neighbours (the brightest candidate on its row or column nearby — a sidelobe
arm — or far along a row or column — an azimuth ambiguity —, how many candidates crowd around it), what
surrounds it (the unflagged 15 x 15 window over the background: a texture bump), the group it belongs
to (the energy of the candidates within 150 m, its share of it and the strongest other one: a large dim
ship breaks into fragments that only together look like a ship, and the fragment with most of their
energy stands for it) and what a small CNN makes of its image chip (`chipnet`: the shape of the bright
pixels and of the sea around them, which no hand-made feature says). The model is a cascade of two sets of
gradient-boosted trees, trained by `tools/train_discriminator.py` on synthesized scenes (see the data card
beside it, `aquila/data/ship_discriminator.md`), shipped as arrays and evaluated here with numpy: the
*screen* scores every candidate on the first 20 features and lets only those it cannot call clutter
(P >= its cut) on to the chip scorer and the *chip trees* over all 21 — the CNN, the costly part, sees a
fraction of the candidates; at pixels finer than the chip scorer learned, the screen decides alone. The
deciding trees' probability is the candidate's confidence. The rules are the hand-set thresholds the model
replaced, kept as the fallback and the benchmark's anchor.
Candidates inside the land buffer are rejected either way.
"""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from numba import njit

from aquila.analytics.sar.chipnet import CHIP_MIN_PIXEL_M, ChipScorer, load_chipnet
from aquila.analytics.sar.targets import Candidate

__all__ = ["FEATURES", "SCREEN_FEATURES", "features", "ShipModel", "Cascade", "load_model", "discriminate",
           "MODEL_FILE", "SCREEN_FILE"]

FEATURES = ("peak_scr_db", "scr_db", "threshold_margin_db", "log_pixels", "length_m", "width_m", "aspect",
            "fill", "log_clutter_shape", "log_land_distance_m", "sidelobe_db", "ambiguity_db", "brighter_near",
            "crowd", "contrast3_db", "surround_db", "log_shape3_ratio", "log_group_energy", "group_share",
            "group_brightest_db", "chip_logit")
SCREEN_FEATURES = FEATURES[:-1]
"""The screen's features: all but the chip scorer's logit."""
MODEL_FILE = "ship_discriminator.npz"
"""The chip trees (all FEATURES)."""
SCREEN_FILE = "ship_screen.npz"
"""The screen (SCREEN_FEATURES) and its cut."""
_NONE_DB = -10.0  # "no such neighbour"


@njit(cache=True, nogil=True)
def _band_ambiguity(along: np.ndarray, across: np.ndarray, peak: np.ndarray, amb: np.ndarray) -> None:
    """Raise `amb` (dB) by each brighter candidate 60-600 px away along the same row (or column: swap the
    arguments), within 4 px across it and 600 px in all."""
    n = len(along)
    order = np.argsort(across, kind="mergesort")
    lo = 0
    for ia in range(n):
        a = order[ia]
        while across[order[lo]] < across[a] - 4.0:
            lo += 1
        ib = lo
        while ib < n and across[order[ib]] <= across[a] + 4.0:
            b = order[ib]
            ib += 1
            if b == a or peak[b] <= peak[a]:
                continue
            d_along, d_across = abs(along[b] - along[a]), abs(across[b] - across[a])
            if 60 <= d_along <= 600 and math.hypot(d_along, d_across) <= 600:
                amb[a] = max(amb[a], 10 * math.log10(peak[b] / peak[a]))


@njit(cache=True, nogil=True)
def _grid(rows: np.ndarray, cols: np.ndarray, cell: float) -> tuple[float, float, int, int, np.ndarray, np.ndarray]:
    """Candidates bucketed in square cells of `cell` px: (row origin, column origin, cell rows, cell columns,
    candidate indices sorted by cell, each cell's start in them — cell k holds order[start[k]:start[k + 1]])."""
    n = len(rows)
    r0, c0 = rows.min(), cols.min()
    nr = int((rows.max() - r0) // cell) + 1
    nc = int((cols.max() - c0) // cell) + 1
    key = np.empty(n, np.int64)
    for a in range(n):
        key[a] = int((rows[a] - r0) // cell) * nc + int((cols[a] - c0) // cell)
    order = np.argsort(key, kind="mergesort")
    start = np.zeros(nr * nc + 1, np.int64)
    for a in range(n):
        start[key[a] + 1] += 1
    for k in range(nr * nc):
        start[k + 1] += start[k]
    return r0, c0, nr, nc, order, start


@njit(cache=True, nogil=True)
def _neighbours(rows: np.ndarray, cols: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """Per candidate (pixel units): sidelobe dB (a brighter one within 60 px on its row or column, +-2.5 px),
    ambiguity dB (a brighter one 60-600 px away along its row or column, +-4 px, within 600 px), brighter ones
    within 100 px, candidates within 60 px.

    Linear in the candidates, not in their pairs: the near ones from a grid of 100 px cells (3 x 3 cells
    around each), the ambiguities from two sweeps along thin bands (sorted by row, then by column)."""
    n = len(rows)
    out = np.empty((n, 4))
    amb = np.full(n, _NONE_DB)
    cell = 100.0
    r0, c0, nr, nc, order, start = _grid(rows, cols, cell)
    for a in range(n):
        ci, cj = int((rows[a] - r0) // cell), int((cols[a] - c0) // cell)
        side = _NONE_DB
        brighter = crowd = 0
        for gi in range(max(0, ci - 1), min(nr, ci + 2)):
            for gj in range(max(0, cj - 1), min(nc, cj + 2)):
                k = gi * nc + gj
                for ib in range(start[k], start[k + 1]):
                    b = order[ib]
                    if b == a:
                        continue
                    d_row, d_col = abs(rows[b] - rows[a]), abs(cols[b] - cols[a])
                    near = math.hypot(d_row, d_col)
                    if near > 100:
                        continue
                    if near <= 60:
                        crowd += 1
                    if peak[b] > peak[a]:
                        brighter += 1
                        if near <= 60 and (d_row <= 2.5 or d_col <= 2.5):
                            side = max(side, 10 * math.log10(peak[b] / peak[a]))
        out[a, 0], out[a, 2], out[a, 3] = side, brighter, crowd
    _band_ambiguity(cols, rows, peak, amb)  # along a row: within 4 rows
    _band_ambiguity(rows, cols, peak, amb)  # along a column: within 4 columns
    out[:, 1] = amb
    return out


@njit(cache=True, nogil=True)
def _groups(rows: np.ndarray, cols: np.ndarray, energy: np.ndarray, radius_px: float) -> np.ndarray:
    """Per candidate, over the candidates within `radius_px` of it: log10 of their total energy (itself
    included), its own share of it and the largest energy of another one over its own (dB; -30 when alone). A large
    ship that is dim breaks into fragments in the prescreen; together they carry the energy of a ship, the
    one with most of it stands for the ship and the others lie next to a much stronger one — while ships
    side by side (a harbour, a pair) are each about as strong as their neighbours. From a grid of
    `radius_px` cells (3 x 3 cells around each candidate), linear in the candidates."""
    n = len(rows)
    out = np.empty((n, 3))
    cell = max(radius_px, 1.0)
    r0, c0, nr, nc, order, start = _grid(rows, cols, cell)
    for a in range(n):
        ci, cj = int((rows[a] - r0) // cell), int((cols[a] - c0) // cell)
        total, other = 0.0, 0.0
        for gi in range(max(0, ci - 1), min(nr, ci + 2)):
            for gj in range(max(0, cj - 1), min(nc, cj + 2)):
                k = gi * nc + gj
                for ib in range(start[k], start[k + 1]):
                    b = order[ib]
                    if math.hypot(rows[b] - rows[a], cols[b] - cols[a]) <= radius_px:
                        total += energy[b]
                        if b != a:
                            other = max(other, energy[b])
        out[a, 0] = math.log10(max(total, 1e-9))
        out[a, 1] = energy[a] / total if total > 0 else 1.0
        out[a, 2] = 10 * math.log10(other / energy[a]) if other > 0 and energy[a] > 0 else -30.0
    return out


GROUP_RADIUS_M = 150.0
"""Fragments of one ship (up to 400 m) lie within this of its brightest one."""
GROUP_MIN_PIXEL_M = 4.0
"""Finer pixels than the model was trained on (5-20 m) get no group context: there a ship's bright, saturated
returns break into many candidates, neighbours of each other and of the ships alongside, which the context
learned at 5-20 m would call fragments (HRSID at 1 m: F1 0.13 with it, 0.87 without; docs/benchmarks.md).
Each candidate is then scored as if alone."""


def _column(cands: list[Candidate], name: str) -> np.ndarray:
    return np.fromiter((getattr(c, name) for c in cands), np.float64, len(cands))


def features(cands: list[Candidate], px_m: tuple[float, float]) -> np.ndarray:
    """(n, 21) float64 feature matrix, in the order of FEATURES (computed column by column); `chip_logit` is NaN
    where the chip scorer did not run (the trees send a missing value where training sent most candidates)."""
    n = len(cands)
    out = np.zeros((n, len(FEATURES)))
    if not n:
        return out
    col = {name: _column(cands, name) for name in ("row", "col", "peak", "pixels", "peak_scr_db", "scr_db",
                                                   "threshold_margin_db", "length_m", "width_m", "clutter_shape",
                                                   "land_distance_m", "contrast3_db", "surround_db",
                                                   "clutter_shape3", "chip_logit")}
    nb = _neighbours(col["row"], col["col"], col["peak"])
    energy = col["pixels"] * (px_m[0] * px_m[1]) * 10 ** (col["scr_db"] / 10)  # m^2: the same at any pixel size
    if min(px_m) >= GROUP_MIN_PIXEL_M:
        group = _groups(col["row"], col["col"], energy, GROUP_RADIUS_M / min(px_m))
    else:
        group = np.column_stack([np.log10(np.maximum(energy, 1e-9)), np.ones(n), np.full(n, -30.0)])
    length, width = col["length_m"], col["width_m"]
    fill = col["pixels"] * (px_m[0] * px_m[1]) / np.maximum(length * width, 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        columns = (col["peak_scr_db"], col["scr_db"], _finite(col["threshold_margin_db"], 0.0),
                   np.log10(np.maximum(col["pixels"], 1)), length, width, length / np.maximum(width, 1e-9),
                   np.minimum(fill, 10.0), np.log(_finite(col["clutter_shape"], 100.0)),
                   np.log10(np.clip(col["land_distance_m"], 1.0, 1e5)), nb[:, 0], nb[:, 1], nb[:, 2], nb[:, 3],
                   _finite(col["contrast3_db"], col["scr_db"]), _finite(col["surround_db"], 0.0),
                   np.log(_finite(col["clutter_shape3"], 100.0) / _finite(col["clutter_shape"], 100.0)),
                   group[:, 0], group[:, 1], group[:, 2], col["chip_logit"])
    for k, v in enumerate(columns):
        out[:, k] = v
    return out


def _finite(v: np.ndarray, default: float | np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(v), v, default)


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
        if self.names != FEATURES[:len(self.names)] or not self.names:
            raise ValueError(f"model features {self.names} are not the first of this detector's {FEATURES}")
        self.screen_cut = float(arrays["screen_cut"]) if "screen_cut" in arrays else math.nan
        """A screen's: candidates below it are clutter without asking the chip scorer."""

    def predict_proba(self, x: np.ndarray, workers: int = 2) -> np.ndarray:
        """P(ship) per row of `x` (n, 21: the columns of FEATURES; a model of fewer features reads the first
        ones); large batches are split over `workers` threads (the scoring releases the GIL)."""
        x = np.ascontiguousarray(x, np.float64)

        def score(part: np.ndarray) -> np.ndarray:
            return _score_trees(part, self.feature, self.threshold, self.left, self.right, self.value, self.leaf,
                                self.missing_left, self.roots, self.baseline)

        if workers < 2 or len(x) < 4096:
            raw = score(x)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=workers) as pool:
                raw = np.concatenate(list(pool.map(score, np.array_split(x, workers))))
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


class Cascade:
    """The learned discriminator: the screen's trees (SCREEN_FEATURES) on every candidate; where the screen
    cannot call a candidate clutter (P >= `screen.screen_cut`) and its pixels are ones the chip scorer learned,
    the chip scorer's logit on its chip and the chip trees (all FEATURES) decide."""

    def __init__(self, screen: ShipModel, chip_trees: ShipModel, scorer: ChipScorer | None = None) -> None:
        if screen.names != SCREEN_FEATURES or chip_trees.names != FEATURES:
            raise ValueError("a cascade needs a screen over SCREEN_FEATURES and chip trees over FEATURES")
        if not 0 < screen.screen_cut <= chip_trees.threshold_p or screen.pfa != chip_trees.pfa:
            raise ValueError("the screen's cut must lie in (0, the chip trees' threshold], both behind one prescreen")
        self.screen, self.chip_trees, self._scorer = screen, chip_trees, scorer
        self.pfa = screen.pfa

    @property
    def scorer(self) -> ChipScorer:
        return self._scorer or load_chipnet()

    def decide(self, cands: list[Candidate], feats: np.ndarray, px_m: tuple[float, float], open_sea: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """(P(ship), the threshold that decides it) per candidate; fills the chip-logit column of `feats` (and
        `chip_logit`) of the candidates the screen passes. A candidate's logit already set (training, with its
        own scorer) is used as it is; one without a chip is decided by the screen."""
        prob = self.screen.predict_proba(feats)
        cut = np.full(len(cands), self.screen.threshold_p)
        if min(px_m) < CHIP_MIN_PIXEL_M:
            return prob, cut
        cut[:] = self.chip_trees.threshold_p  # above the screen's cut: what the screen rejects stays rejected
        k_logit = FEATURES.index("chip_logit")
        passed = np.flatnonzero((prob >= self.screen.screen_cut) & open_sea)
        todo = [k for k in passed.tolist() if math.isnan(cands[k].chip_logit) and cands[k].chip is not None]
        if todo:
            logits = self.scorer.logits(np.stack([cands[k].chip for k in todo]), min(px_m), workers=2)
            for k, v in zip(todo, logits.tolist(), strict=True):
                cands[k].chip_logit = v
        has_logit = np.isfinite([cands[k].chip_logit for k in passed.tolist()]) if len(passed) else np.zeros(0, bool)
        ready = passed[has_logit]
        cut[passed[~has_logit]] = self.screen.threshold_p
        if len(ready):
            feats[ready, k_logit] = [cands[k].chip_logit for k in ready.tolist()]
            prob[ready] = self.chip_trees.predict_proba(feats[ready])
            cut[ready] = self.chip_trees.threshold_p
        return prob, cut


def _arrays(name: str) -> dict[str, np.ndarray]:
    with resources.files("aquila").joinpath("data", name).open("rb") as f:
        return dict(np.load(f, allow_pickle=False))


@lru_cache(maxsize=1)
def load_model() -> Cascade:
    """The shipped discriminator (aquila/data/ship_screen.npz, ship_discriminator.npz, ship_chipnet.onnx)."""
    return Cascade(ShipModel(_arrays(SCREEN_FILE)), ShipModel(_arrays(MODEL_FILE)))


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
    """(ships, rejected with their reason): `method` is "model" (`model`: a `Cascade`, the shipped one by
    default), "rules" or "none" (land buffer only)."""
    if not cands:
        return [], []
    feats = features(cands, px_m)
    p_ship = cut = None
    if method == "model":
        m = model or load_model()
        open_sea = np.array([c.land_distance_m >= land_buffer_m for c in cands])
        prob, cuts = m.decide(cands, feats, px_m, open_sea)
        p_ship, cut = prob.tolist(), cuts.tolist()
    ships: list[Candidate] = []
    rejected: list[Candidate] = []
    for k, c in enumerate(cands):  # candidates belong to the detector's run: scored in place
        if c.land_distance_m < land_buffer_m:
            reason = "land"
        elif p_ship is not None and cut is not None:
            reason = "" if p_ship[k] >= cut[k] else "model"
            c.confidence = round(p_ship[k], 3)
        elif method == "rules":
            reason = _rule(c, feats[k])
        else:
            reason = ""
        c.rejected = reason
        (rejected if reason else ships).append(c)
    return ships, rejected
