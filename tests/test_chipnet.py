"""The chip scorer: chips cut where the candidate is, blank off the open sea; the shipped ONNX scorer tells ship
chips from clutter chips on a sea state it never saw; the export equals PyTorch's own logits (when the training
extra is installed); batches on two threads give what one gives."""

from __future__ import annotations

import importlib.util
import math
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from aquila.analytics.sar.chipnet import CHIPNET_FILE, load_chipnet
from aquila.analytics.sar.chips import CHIP_PX, cut_chips
from aquila.analytics.sar.detect import DetectorConfig, detect_array
from aquila.analytics.sar.discriminate import load_model
from aquila.analytics.sar.synth import synthesize
from aquila.analytics.sar.training import HELD_OUT, draw_spec, labelled_candidates, labels

ROOT = Path(__file__).resolve().parents[1]


def test_a_chip_is_centred_on_its_candidate_in_db_over_its_background_and_blank_off_sea() -> None:
    x = np.ones((100, 100), np.float32)
    x[50, 60] = 100.0
    x[40:45, 55:57] = 1e6  # would read 35 dB (the clip), but it is land
    sea = np.ones_like(x, bool)
    sea[40:45, 55:57] = False
    chips = cut_chips(x, sea, np.array([50.2, 1.0]), np.array([59.8, 98.6]), np.array([2.0, 0.5]))
    assert chips.shape == (2, CHIP_PX, CHIP_PX) and chips.dtype == np.float32
    h = CHIP_PX // 2
    assert chips[0, h, h] == pytest.approx(10 * math.log10(100 / 2.0), abs=1e-4)
    assert chips[0, h - 1, h] == pytest.approx(10 * math.log10(1 / 2.0), abs=1e-4)
    assert np.all(chips[0, h - 10:h - 5, h - 5:h - 3] == 0.0)  # land reads the background, 0 dB
    # at the corner: off the image reads 0 dB, on it 10 log10(1 / 0.5)
    assert np.all(chips[1, :h - 1, :] == 0.0) and np.all(chips[1, :, h + 2:] == 0.0)
    assert chips[1, h, h] == pytest.approx(10 * math.log10(2.0), abs=1e-4)
    assert cut_chips(x, sea, np.zeros(0), np.zeros(0), np.zeros(0)).shape == (0, CHIP_PX, CHIP_PX)


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    r = np.empty(len(s))
    r[np.argsort(s)] = np.arange(len(s))
    n1, n0 = int(y.sum()), int((~y).sum())
    return float((r[y].sum() - n1 * (n1 - 1) / 2) / (n1 * n0))


def test_the_shipped_chip_scorer_tells_ships_from_clutter_on_a_sea_it_never_saw() -> None:
    """Candidates of held-out scenes (seeds training never draws), every one the prescreen finds: the chip
    logit alone ranks ships above the rest (AUC; chance is 0.5, the trees' own features reach ~0.97)."""
    assert len(resources.files("aquila").joinpath("data", CHIPNET_FILE).read_bytes()) < 10 * 1024 * 1024
    ys, logits = [], []
    for fam in HELD_OUT:
        sc = synthesize(draw_spec(fam, 77_020, 768))
        found = detect_array(sc.image, sc.transform, "EPSG:4326", sc.land, DetectorConfig(keep_chips=True))
        cands = [c for c in found.ships + found.rejected if math.isfinite(c.chip_logit)]  # the screen passed them
        assert cands and all(c.chip is not None and c.chip.dtype == np.float32 for c in cands)
        direct = load_chipnet().logits(np.stack([c.chip for c in cands]), min(found.pixel_m))
        np.testing.assert_allclose(direct, [c.chip_logit for c in cands], atol=1e-5)  # what the detector used
        _, y, _, lab = labelled_candidates(sc, load_model().pfa, DetectorConfig(keep_chips=True), load_chipnet())
        ys.append(y)
        logits.append([c.chip_logit for c in lab])
    y, s = np.concatenate(ys), np.concatenate(logits)
    assert y.sum() > 20 and (~y).sum() > 20
    assert _auc(y, s) >= 0.9


def test_chips_outlive_detection_only_when_kept_and_rules_cut_none() -> None:
    """Without `keep_chips` the detector holds each chip as float16 until the discriminator has decided and
    drops it then; the decisions equal those made from float32 chips (logits within 0.02, the same ships)."""
    sc = synthesize(draw_spec(HELD_OUT[0], 77_021, 512))
    found = detect_array(sc.image, sc.transform, "EPSG:4326", sc.land, DetectorConfig())
    assert found.ships and all(c.chip is None and math.isfinite(c.chip_logit) for c in found.ships)
    assert all(c.chip is None for c in found.rejected)
    kept = detect_array(sc.image, sc.transform, "EPSG:4326", sc.land, DetectorConfig(keep_chips=True))
    assert [(c.row, c.col) for c in kept.ships] == [(c.row, c.col) for c in found.ships]
    np.testing.assert_allclose([c.chip_logit for c in kept.ships], [c.chip_logit for c in found.ships], atol=0.02)
    rules = detect_array(sc.image, sc.transform, "EPSG:4326", sc.land, DetectorConfig(discriminator="rules"))
    assert all(c.chip is None and math.isnan(c.chip_logit) for c in rules.ships + rules.rejected)


def test_the_scorer_refuses_chips_of_another_size() -> None:
    with pytest.raises(ValueError, match="24"):
        load_chipnet().logits(np.zeros((3, 16, 16), np.float32), 10.0)


def test_the_onnx_export_equals_pytorch_and_training_is_reproducible() -> None:
    pytest.importorskip("torch", reason="the training extra: pip install -e '.[train]'")
    spec = importlib.util.spec_from_file_location("train_chipnet", ROOT / "tools" / "train_chipnet.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sc = synthesize(draw_spec(HELD_OUT[1], 77_022, 512))
    found = detect_array(sc.image, sc.transform, "EPSG:4326", sc.land,
                         DetectorConfig(pfa=1e-4, discriminator="none", keep_chips=True))
    chips = np.stack([c.chip for c in found.ships])
    y = labels(sc, found.ships)[0]
    px = np.full(len(y), min(found.pixel_m))
    a, card = mod.train_chipnet(chips, px, y, seed=5, epochs=1, width=4)  # checks ONNX against torch itself
    b, _ = mod.train_chipnet(chips, px, y, seed=5, epochs=1, width=4)
    assert a == b and card["chips"] == len(y)


def test_pixels_finer_than_the_scorer_learned_are_left_to_the_screen() -> None:
    """The same scene said to have 2 m pixels: no chip is scored (CHIP_MIN_PIXEL_M), the screen decides alone —
    every candidate gets its probability, the ships at or above the screen's own threshold."""
    from rasterio.transform import Affine

    from aquila.analytics.sar.chipnet import CHIP_MIN_PIXEL_M

    assert CHIP_MIN_PIXEL_M > 2.0
    sc = synthesize(draw_spec(HELD_OUT[1], 77_023, 512))
    found = detect_array(sc.image, Affine(2.0, 0.0, 500_000.0, 0.0, -2.0, 6_400_000.0), "EPSG:32633", sc.land,
                         DetectorConfig())
    scored = found.ships + [c for c in found.rejected if c.rejected == "model"]
    assert found.ships and all(math.isnan(c.chip_logit) and 0 <= c.confidence <= 1 for c in scored)
    screen = load_model().screen
    assert all(c.confidence >= screen.threshold_p for c in found.ships)
    assert all(c.confidence < screen.threshold_p for c in scored if c not in found.ships)


def test_two_threads_score_as_one() -> None:
    rng = np.random.default_rng(4)
    chips = rng.normal(0, 6, (2500, CHIP_PX, CHIP_PX)).astype(np.float32)
    one = load_chipnet().logits(chips, 10.0)
    np.testing.assert_array_equal(load_chipnet().logits(chips, 10.0, workers=2), one)
    np.testing.assert_allclose(load_chipnet().logits(chips.astype(np.float16), 10.0), one, atol=0.05)
