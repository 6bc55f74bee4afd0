"""Training and validation data for the ship discriminator: labelled CFAR candidates from synthesized scenes.

A *family* is a clutter model and sea state the scenes are drawn from; the model is trained on some
and validated on one it never saw (`HELD_OUT`). A candidate is a ship when the xView3 matching
(one-to-one, within 200 m) pairs it with a true ship; everything else the prescreen finds — speckle
and texture spikes, sidelobe arms, azimuth ambiguities, wind/rain patches, the extra fragments of a
large ship — is not. Augmentation is in the drawing: pixel size (5-20 m), looks (1-3), texture
correlation, patches, incidence and SCR vary scene by scene, reproducibly from the seed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from aquila.analytics.sar.chipnet import CHIP_MIN_PIXEL_M, ChipScorer
from aquila.analytics.sar.detect import Detections, DetectorConfig, detect_array
from aquila.analytics.sar.discriminate import features
from aquila.analytics.sar.synth import Scene, SceneSpec
from aquila.analytics.sar.targets import Candidate

__all__ = ["Family", "TRAIN_FAMILIES", "HELD_OUT", "draw_spec", "labelled_candidates", "truth_points", "score_chips",
           "labels"]


@dataclass(frozen=True)
class Family:
    name: str
    shape: float | None
    """K texture shape (None: gamma speckle, no texture)."""
    texture_px: tuple[float, float] = (3.0, 6.0)
    looks: tuple[int, ...] = (1, 1, 2)
    patches: tuple[int, int] = (0, 4)


TRAIN_FAMILIES = (Family("gamma", None), Family("K1.5", 1.5, texture_px=(1.5, 6.0)),
                  Family("K3", 3.0, texture_px=(1.5, 6.0)), Family("K10", 10.0, texture_px=(1.5, 6.0)))
HELD_OUT = (Family("K2-fine-2look", 2.0, texture_px=(1.5, 2.5), looks=(2,)),
            Family("K5-coarse-3look", 5.0, texture_px=(10.0, 14.0), looks=(3,), patches=(4, 6)))
"""Never trained on: two sea states — K shape 2 of fine texture (1.5-2.5 px) seen with exactly 2 looks, and
coarse texture (10-14 px, coarser than any training scene) with 3 looks and many patches."""


def draw_spec(family: Family, seed: int, size_px: int = 1024) -> SceneSpec:
    """One scene of `family`, its variations drawn from `seed`."""
    rng = np.random.default_rng([seed, zlib.crc32(family.name.encode())])
    px = float(rng.choice([5.0, 10.0, 10.0, 20.0]))
    return SceneSpec(seed=seed, size_px=size_px, pixel_m=px, shape=family.shape,
                     looks=int(rng.choice(family.looks)), texture_px=float(rng.uniform(*family.texture_px)),
                     ships=max(10, size_px // 20), scr_db=(0.0, 20.0),
                     length_m=(max(20.0, 2 * px), 400.0), patches=int(rng.integers(family.patches[0],
                                                                                    family.patches[1] + 1)),
                     pairs=int(rng.integers(0, 4)), anchorage=bool(rng.integers(0, 2)),
                     incidence_deg=(float(rng.uniform(18, 30)), float(rng.uniform(35, 48))))


def truth_points(scene: Any) -> list[dict[str, Any]]:
    return [{"lon": s.lon_deg, "lat": s.lat_deg, "length_m": s.length_m, "scr_db": s.scr_db} for s in scene.ships]


def score_chips(found: Detections, scorer: ChipScorer) -> None:
    """Set each candidate's `chip_logit` from its kept chip by `scorer` (a chip scorer being trained, not the
    shipped one the detector would use), in place; at pixels the detector does not score (CHIP_MIN_PIXEL_M)
    they stay NaN, as in detection."""
    if found.ships and min(found.pixel_m) >= CHIP_MIN_PIXEL_M:
        logits = scorer.logits(np.stack([c.chip for c in found.ships]), min(found.pixel_m))
        for c, v in zip(found.ships, logits.tolist(), strict=True):
            c.chip_logit = v


def labelled_candidates(scene: Scene, pfa: float, config: DetectorConfig | None = None,
                        scorer: ChipScorer | None = None
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Candidate]]:
    """(features, is_ship, SCR of the matched ship or NaN, the candidates — with their chips when `config`
    keeps them) of every candidate the prescreen finds at `pfa` outside the land buffer; `chip_logit` is
    the `scorer`'s (NaN without one)."""
    cfg = replace(config or DetectorConfig(), pfa=pfa, discriminator="none", keep_chips=(
        scorer is not None or (config is not None and config.keep_chips)))
    found = detect_array(scene.image, scene.transform, "EPSG:4326", scene.land, cfg)
    if scorer is not None:
        score_chips(found, scorer)
    cands = found.ships
    y, scr = labels(scene, cands)
    return features(cands, found.pixel_m), y, scr, cands


def labels(scene: Scene, cands: list[Candidate]) -> tuple[np.ndarray, np.ndarray]:
    """(is_ship, SCR of the matched ship or NaN) per candidate found in `scene`: the xView3 pairing, within
    200 m, one to one."""
    from scipy.optimize import linear_sum_assignment

    from aquila.analytics.geo import great_circle_m

    y = np.zeros(len(cands), bool)
    scr = np.full(len(cands), np.nan)
    truth = truth_points(scene)
    if cands and truth:
        d = great_circle_m(np.array([c.lon_deg for c in cands]), np.array([c.lat_deg for c in cands]),
                           np.array([t["lon"] for t in truth]), np.array([t["lat"] for t in truth]))
        # among a ship's fragments (a large dim ship breaks into several), the one with most of their energy
        # is the ship: it is the one a group of fragments can be told by
        energy = np.array([c.pixels * 10 ** (c.scr_db / 10) for c in cands])
        near = d <= 200.0
        most = np.max(np.where(near, energy[:, None], 0.0), axis=0)
        cost = d / 200.0 + 1.0 - energy[:, None] / np.maximum(most[None, :], 1e-30)
        rows, cols = linear_sum_assignment(np.where(near, cost, 1e12))
        for r, c in zip(rows, cols, strict=True):
            if d[r, c] <= 200.0:
                y[r] = True
                scr[r] = truth[c]["scr_db"]
    return y, scr
