"""The learned ship discriminator: shipped within bounds with its data card, scored by numpy exactly as
scikit-learn scores it, trained reproducibly, and better than the rules on scenes of a clutter family it
never saw (and on the real HRSID chips, in tests/test_sar_real.py)."""

from __future__ import annotations

import importlib.util
import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from aquila.analytics.sar.detect import DetectorConfig, detect_array
from aquila.analytics.sar.discriminate import FEATURES, MODEL_FILE, SCREEN_FEATURES, SCREEN_FILE, ShipModel, load_model
from aquila.analytics.sar.evaluate import score
from aquila.analytics.sar.synth import synthesize
from aquila.analytics.sar.training import HELD_OUT, TRAIN_FAMILIES, draw_spec, labelled_candidates, truth_points

ROOT = Path(__file__).resolve().parents[1]


def _trainer():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("train_discriminator", ROOT / "tools" / "train_discriminator.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_shipped_model_is_small_documented_and_matches_the_features() -> None:
    data = resources.files("aquila").joinpath("data")
    size = sum(len(data.joinpath(f).read_bytes()) for f in (MODEL_FILE, SCREEN_FILE, "ship_chipnet.onnx"))
    assert size < 10 * 1024 * 1024
    card = json.loads(data.joinpath("ship_discriminator.json").read_text())
    text = data.joinpath("ship_discriminator.md").read_text()
    assert "held out" in text.lower() and "failure" in text.lower()
    m = load_model()
    assert m.chip_trees.names == FEATURES and m.screen.names == SCREEN_FEATURES
    assert 1e-6 <= m.pfa <= 1e-3 and m.screen.pfa == m.chip_trees.pfa
    assert 0 < m.screen.screen_cut < m.chip_trees.threshold_p < 1 and 0 < m.screen.threshold_p < 1
    assert card["decision_threshold"] == pytest.approx(m.chip_trees.threshold_p)
    assert card["screen"]["cut"] == pytest.approx(m.screen.screen_cut)
    assert card["screen"]["decision_threshold"] == pytest.approx(m.screen.threshold_p)
    # what the card claims for the held-out families: the model at least as good as the rules
    for fam, r in card["results"]["held_out"]["model"].items():
        assert r["f1"] >= card["results"]["held_out"]["rules"][fam]["f1"], fam


def test_numpy_scoring_equals_scikit_learn_and_training_is_reproducible() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    trainer = _trainer()
    xs, ys = [], []
    for fam in TRAIN_FAMILIES[:2]:
        x, y, _, _ = labelled_candidates(synthesize(draw_spec(fam, 7, 512)), 1e-4)
        xs.append(x)
        ys.append(y)
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert y.any() and (~y).any()

    def fit() -> dict[str, np.ndarray]:
        clf = HistGradientBoostingClassifier(max_iter=40, max_leaf_nodes=7, early_stopping=False, random_state=3)
        clf.fit(x, y)
        arrays = trainer.export(clf, 1e-4, 0.5)
        arrays["_sk"] = clf.predict_proba(x)[:, 1]
        return arrays

    a, b = fit(), fit()
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    np.testing.assert_allclose(ShipModel(a).predict_proba(x), a["_sk"], atol=1e-12)


def _f1(found_ships, scene) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    r = score([{"lon": c.lon_deg, "lat": c.lat_deg} for c in found_ships], truth_points(scene), min_scr_db=6.0)
    return r["tp"], r["fp"], r["fn"]


def test_model_beats_the_rules_on_clutter_it_never_saw() -> None:
    """Pooled over held-out scenes (seeds the training script never draws), F1 for ships of SCR >= 6 dB."""
    sums = {"model": np.zeros(3), "rules": np.zeros(3)}
    for fam in HELD_OUT:
        for seed in (77_001, 77_002):
            sc = synthesize(draw_spec(fam, seed, 768))
            for method in sums:
                found = detect_array(sc.image, sc.transform, "EPSG:4326", sc.land,
                                     DetectorConfig(discriminator=method))
                sums[method] += _f1(found.ships, sc)
    f1 = {k: 2 * v[0] / (2 * v[0] + v[1] + v[2]) for k, v in sums.items()}
    assert f1["model"] > f1["rules"], f1
    assert f1["model"] >= 0.75, f1


def test_confidence_is_the_deciding_models_probability_and_the_screen_spares_the_chip_scorer() -> None:
    """On spiky sea (K shape 1.5, the most candidates): every reported ship passed the screen and was decided by
    the chip trees over its chip's logit, at or above their threshold; what the screen calls clutter never
    reached the chip scorer (no logit) and carries the screen's probability, below its cut; the chip trees'
    rejections lie below their threshold. The screen spares the scorer a real share of the candidates."""
    sc = synthesize(draw_spec(TRAIN_FAMILIES[1], 77_010, 768))
    found = detect_array(sc.image, sc.transform, "EPSG:4326", sc.land, DetectorConfig(discriminator="model"))
    m = load_model()
    assert found.ships and all(m.chip_trees.threshold_p <= c.confidence <= 1 for c in found.ships)
    assert all(np.isfinite(c.chip_logit) for c in found.ships)
    rejected = [c for c in found.rejected if c.rejected == "model"]
    screened = [c for c in rejected if np.isnan(c.chip_logit)]
    chipped = [c for c in rejected if np.isfinite(c.chip_logit)]
    assert screened and all(c.confidence < m.screen.screen_cut for c in screened)
    assert chipped and all(c.confidence < m.chip_trees.threshold_p for c in chipped)
    assert len(screened) >= 0.2 * len(rejected), (len(screened), len(rejected))
    # the screen's probability, recomputed, is what put each candidate on its side of the cut
    from aquila.analytics.sar.discriminate import features

    cands = found.ships + rejected
    p = m.screen.predict_proba(features(cands, found.pixel_m))
    assert np.array_equal(p >= m.screen.screen_cut, [np.isfinite(c.chip_logit) for c in cands])


def _neighbours_by_all_pairs(rows: np.ndarray, cols: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """The neighbour features by their definition, over every pair (the reference for the two sweeps)."""
    n = len(rows)
    out = np.empty((n, 4))
    for a in range(n):
        side = amb = -10.0
        brighter = crowd = 0
        for b in range(n):
            if b == a:
                continue
            d_row, d_col = abs(rows[b] - rows[a]), abs(cols[b] - cols[a])
            near = float(np.hypot(d_row, d_col))
            if near > 600:
                continue
            crowd += near <= 60
            if peak[b] > peak[a]:
                ratio = 10 * np.log10(peak[b] / peak[a])
                brighter += near <= 100
                if near <= 60 and (d_row <= 2.5 or d_col <= 2.5):
                    side = max(side, ratio)
                if 60 <= max(d_row, d_col) <= 600 and min(d_row, d_col) <= 4:
                    amb = max(amb, ratio)
        out[a] = side, amb, brighter, crowd
    return out


def test_neighbour_features_equal_their_definition_over_all_pairs() -> None:
    """Sidelobe arms, ambiguities along rows and columns, brighter neighbours and crowding: the two-sweep
    computation gives what every pair would, on scattered, aligned and crowded candidates."""
    from aquila.analytics.sar.discriminate import _neighbours

    rng = np.random.default_rng(8)
    for _ in range(12):
        n = int(rng.integers(1, 300))
        rows, cols = rng.uniform(0, 1500, n), rng.uniform(0, 1500, n)
        k = n // 3  # a third on shared rows or columns (ambiguities and sidelobes) and in clusters
        rows[:k // 2] = rows[0] + rng.uniform(-3, 3, k // 2)
        cols[k // 2:k] = cols[k // 2] + rng.uniform(-3, 3, k - k // 2)
        rows[k:2 * k], cols[k:2 * k] = rows[k] + rng.normal(0, 20, k), cols[k] + rng.normal(0, 20, k)
        rows, cols = np.round(rows, 1), np.round(cols, 1)
        peak = rng.lognormal(0, 1.5, n)
        assert np.allclose(_neighbours(rows, cols, peak), _neighbours_by_all_pairs(rows, cols, peak))


def _groups_by_all_pairs(rows: np.ndarray, cols: np.ndarray, energy: np.ndarray, radius_px: float) -> np.ndarray:
    """The group features by their definition, over every pair (the reference for the grid)."""
    n = len(rows)
    out = np.empty((n, 3))
    for a in range(n):
        near = np.hypot(rows - rows[a], cols - cols[a]) <= radius_px
        total = energy[near].sum()
        others = energy[near & (np.arange(n) != a)]
        out[a] = (np.log10(total), energy[a] / total,
                  10 * np.log10(others.max() / energy[a]) if len(others) else -30.0)
    return out


def test_group_features_equal_their_definition_over_all_pairs() -> None:
    """Energy within the radius, the candidate's share of it, the strongest other one: the grid gives what every
    pair would, for fragments in a line (a dim ship), clusters (a harbour) and scattered spikes, at the edge of
    the radius too."""
    from aquila.analytics.sar.discriminate import _groups

    rng = np.random.default_rng(9)
    for _ in range(12):
        n = int(rng.integers(1, 300))
        radius = float(rng.choice([3.0, 7.5, 30.0]))
        rows, cols = rng.uniform(0, 800, n), rng.uniform(0, 800, n)
        k = n // 3
        t = rng.uniform(0, 4 * radius, k)  # fragments along a line
        rows[:k], cols[:k] = rows[0] + t * 0.6, cols[0] + t * 0.8
        rows[k:2 * k], cols[k:2 * k] = rows[k] + rng.normal(0, radius, k), cols[k] + rng.normal(0, radius, k)
        if n > 3:  # one pair exactly at the radius (counted), one just beyond (not)
            rows[-2], cols[-2] = rows[-1] + radius, cols[-1]
        rows, cols = np.round(rows, 1), np.round(cols, 1)
        energy = rng.lognormal(2, 1.5, n)
        want = _groups_by_all_pairs(rows, cols, energy, radius)
        np.testing.assert_allclose(_groups(rows, cols, energy, radius), want, rtol=1e-9, atol=1e-9)


def test_group_context_is_left_out_at_pixels_finer_than_the_model_learned() -> None:
    """Below GROUP_MIN_PIXEL_M each candidate is scored as if alone (its own energy, all of it, nobody near);
    at 5-20 m a candidate beside a stronger one carries that fact."""
    from aquila.analytics.sar.discriminate import GROUP_MIN_PIXEL_M, features
    from aquila.analytics.sar.targets import Candidate

    def cand(row: float, col: float, pixels: int, scr_db: float) -> Candidate:
        return Candidate(row, col, pixels, 1.0, 0.1, scr_db + 3, scr_db, 50.0, 10.0, 0.0, 1e4)

    pair = [cand(100, 100, 40, 10.0), cand(104, 100, 4, 8.0)]
    i_e, i_s, i_b = (FEATURES.index(k) for k in ("log_group_energy", "group_share", "group_brightest_db"))
    fine = features(pair, (GROUP_MIN_PIXEL_M / 2, GROUP_MIN_PIXEL_M / 2))
    assert np.allclose(fine[:, i_s], 1.0) and np.allclose(fine[:, i_b], -30.0)
    own = np.log10(np.array([40, 4]) * (GROUP_MIN_PIXEL_M / 2) ** 2 * 10 ** (np.array([10.0, 8.0]) / 10))
    assert np.allclose(fine[:, i_e], own)
    coarse = features(pair, (10.0, 10.0))
    assert coarse[1, i_s] < 0.1 and coarse[1, i_b] > 10.0 and coarse[0, i_b] < -10.0
    assert np.allclose(coarse[:, i_e], coarse[0, i_e])
