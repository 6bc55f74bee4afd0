"""Train Aquila's ship discriminator and write it, with its data card, into the package.

    .venv/bin/pip install -e '.[train]'
    .venv/bin/python tools/train_discriminator.py              # the shipped model (about 20 min on 2 cores)
    .venv/bin/python tools/train_discriminator.py --quick --out /tmp/m   # a small one, to try the script

Three models, the cascade of `aquila.analytics.sar.discriminate`: first the chip scorer (a small CNN on
candidates' image chips, PyTorch, `tools/train_chipnet.py`, exported to `ship_chipnet.onnx`) on scenes of its
own; then, on other scenes, the *screen* (trees over every feature but the chip logit, on every candidate;
`ship_screen.npz`) and the *chip trees* (all features, the last the chip scorer's logit, on the candidates the
screen passes; `ship_discriminator.npz`) — scenes the scorer never saw, so the trees learn how far to trust
it. The screen's cut is the highest of SCREEN_CUTS that still passes SCREEN_KEEP of the validation scenes'
ship candidates of SCR >= 6 dB; the chip trees learn from the training candidates the screen would pass,
judged out of fold (a screen fitted without the candidate's scene), as at detection. Reproducible from
`--seed`: the scenes (`aquila.analytics.sar.training`), the scorer (seeded, deterministic kernels), the trees
(HistGradientBoostingClassifier, fixed random_state, no early stopping), the cut and the decision thresholds
(each the one that maximises F1 for ships of SCR >= 6 dB on the in-family validation scenes: the screen's
alone, as it decides at pixels the chip scorer did not learn, the chip trees' behind the screen) all follow
from it. The trees are exported as flat arrays scored by numpy in `aquila.analytics.sar.discriminate`; each
export is checked against its trainer's own outputs (scikit-learn's probabilities, PyTorch's logits).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from aquila.analytics.sar.chipnet import CHIPNET_FILE, ChipScorer
from aquila.analytics.sar.detect import DetectorConfig, detect_array
from aquila.analytics.sar.discriminate import (
    FEATURES,
    MODEL_FILE,
    SCREEN_FEATURES,
    SCREEN_FILE,
    Cascade,
    ShipModel,
    discriminate,
)
from aquila.analytics.sar.evaluate import score
from aquila.analytics.sar.synth import synthesize
from aquila.analytics.sar.training import (
    HELD_OUT,
    TRAIN_FAMILIES,
    Family,
    draw_spec,
    labelled_candidates,
    labels,
    score_chips,
    truth_points,
)

ROOT = Path(__file__).resolve().parents[1]


def export(clf: Any, pfa: float, threshold: float, names: tuple[str, ...] = FEATURES) -> dict[str, np.ndarray]:
    """HistGradientBoostingClassifier (binary, fitted on the columns `names`) -> flat node arrays."""
    feats, thr, left, right, value, leaf, miss, roots = [], [], [], [], [], [], [], []
    offset = 0
    for per_class in clf._predictors:
        nodes = per_class[0].nodes
        roots.append(offset)
        feats.append(nodes["feature_idx"].astype(np.int32))
        thr.append(nodes["num_threshold"].astype(np.float64))
        left.append(nodes["left"].astype(np.int32) + offset)
        right.append(nodes["right"].astype(np.int32) + offset)
        value.append(nodes["value"].astype(np.float64))
        leaf.append(nodes["is_leaf"].astype(bool))
        miss.append(nodes["missing_go_to_left"].astype(bool))
        offset += len(nodes)
    return {"feature": np.concatenate(feats), "threshold": np.concatenate(thr), "left": np.concatenate(left),
            "right": np.concatenate(right), "value": np.concatenate(value), "leaf": np.concatenate(leaf),
            "missing_left": np.concatenate(miss), "roots": np.array(roots, np.int32),
            "baseline": np.array(float(np.ravel(clf._baseline_prediction)[0])),
            "decision_threshold": np.array(threshold), "pfa": np.array(pfa), "features": np.array(names)}


def scenes(families: tuple[Family, ...], seeds: range, size: int) -> list[tuple[str, Any]]:
    return [(f.name, synthesize(draw_spec(f, s, size))) for f in families for s in seeds]


def table(data: list[tuple[str, Any]], pfa: float, scorer: ChipScorer) -> dict[str, Any]:
    xs, ys, scrs, groups = [], [], [], []
    for k, (_, sc) in enumerate(data):
        x, y, scr, _ = labelled_candidates(sc, pfa, scorer=scorer)
        xs.append(x)
        ys.append(y)
        scrs.append(scr)
        groups.append(np.full(len(y), k))
    return {"x": np.concatenate(xs), "y": np.concatenate(ys), "scr": np.concatenate(scrs),
            "scene": np.concatenate(groups)}


def chip_table(families: tuple[Family, ...], seeds: range, size: int, pfa: float) -> dict[str, np.ndarray]:
    """Chips, their pixel size and label, of every candidate of the scenes (the chip scorer's training set;
    each scene synthesized, cut and dropped in turn)."""
    chips, px, ys = [], [], []
    for sc in (synthesize(draw_spec(f, s, size)) for f in families for s in seeds):
        found = detect_array(sc.image, sc.transform, "EPSG:4326", sc.land,
                             DetectorConfig(pfa=pfa, discriminator="none", keep_chips=True))
        chips += [c.chip for c in found.ships]
        px.append(np.full(len(found.ships), min(found.pixel_m)))
        ys.append(labels(sc, found.ships)[0])
    return {"chips": np.stack(chips), "px": np.concatenate(px), "y": np.concatenate(ys)}


def detections(data: list[tuple[str, Any]], config: DetectorConfig, scorer: ChipScorer | None = None
               ) -> list[tuple[str, Any, Any]]:
    """(family, scene, what the detector found, with the `scorer`'s chip logits) per scene."""
    out = []
    for name, sc in data:
        found = detect_array(sc.image, sc.transform, "EPSG:4326", sc.land,
                             replace(config, keep_chips=scorer is not None))
        if scorer is not None:
            score_chips(found, scorer)
        out.append((name, sc, found))
    return out


def scene_f1(found: list[tuple[str, Any, Any]], model: Any = None) -> dict[str, dict[str, float]]:
    """Per family: F1, precision, recall for ships of SCR >= 6 dB, pooled over its scenes (`model`: a `Cascade`
    or `ScreenAlone`, applied to the candidates found without discrimination)."""
    pooled: dict[str, list[int]] = {}
    for name, sc, det in found:
        ships = det.ships
        if model is not None:
            ships, _ = discriminate(det.ships, det.pixel_m, 150.0, "model", model)
        pred = [{"lon": c.lon_deg, "lat": c.lat_deg} for c in ships]
        s = score(pred, truth_points(sc), min_scr_db=6.0)
        t = pooled.setdefault(name, [0, 0, 0])
        t[0] += s["tp"]
        t[1] += s["fp"]
        t[2] += s["fn"]
    out = {}
    for name, (tp, fp, fn) in pooled.items():
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        out[name] = {"f1": round(2 * p * r / (p + r), 4) if p + r else 0.0, "precision": round(p, 4),
                     "recall": round(r, 4), "tp": tp, "fp": fp, "fn": fn}
    return out


SCREEN_CUTS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1)
SCREEN_KEEP = 0.975
"""The screen passes at least this share of the validation scenes' ship candidates (SCR >= 6 dB)."""
FOLDS = 5


class ScreenAlone:
    """The screen deciding by itself, as it does at pixels the chip scorer did not learn (for its threshold)."""

    def __init__(self, screen: ShipModel) -> None:
        self.screen = screen

    def decide(self, cands: list[Any], feats: np.ndarray, px_m: Any, open_sea: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        return self.screen.predict_proba(feats), np.full(len(cands), self.screen.threshold_p)


def fit_trees(x: np.ndarray, y: np.ndarray, seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    clf = HistGradientBoostingClassifier(max_iter=400, learning_rate=0.05, max_leaf_nodes=31, min_samples_leaf=20,
                                         l2_regularization=1.0, early_stopping=False, random_state=seed)
    return clf.fit(x, y)


def out_of_fold(x: np.ndarray, y: np.ndarray, scene: np.ndarray, seed: int) -> np.ndarray:
    """Each candidate's screen probability from a screen fitted without its scene's fold (what the screen says of
    scenes it never saw, as at detection — in-sample probabilities flatter the training ships)."""
    out = np.empty(len(y))
    fold = scene % FOLDS
    for k in range(FOLDS):
        out[fold == k] = fit_trees(x[fold != k], y[fold != k], seed).predict_proba(x[fold == k])[:, 1]
    return out


def best_threshold(found: list[tuple[str, Any, Any]], arrays: dict[str, np.ndarray], make: Any) -> tuple[float, float]:
    """(mean validation F1, threshold): the decision threshold of 0.20-0.80 that maximises the mean F1."""
    best = (0.0, 0.5)
    for cut in np.arange(0.2, 0.85, 0.05):
        arrays["decision_threshold"] = np.array(round(float(cut), 2))
        f = scene_f1(found, make(ShipModel(arrays)))
        best = max(best, (float(np.mean([v["f1"] for v in f.values()])), round(float(cut), 2)))
    arrays["decision_threshold"] = np.array(best[1])
    return best


def main() -> None:
    from train_chipnet import train_chipnet  # tools/, beside this script

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scenes", type=int, default=50, help="training scenes per family")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--pfa", type=float, default=1e-4, help="the prescreen the model works behind")
    ap.add_argument("--out", type=Path, default=ROOT / "src" / "aquila" / "data")
    ap.add_argument("--chip-scenes", type=int, default=100, help="the chip scorer's training scenes per family")
    ap.add_argument("--chip-epochs", type=int, default=12)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.scenes, args.size, args.chip_scenes, args.chip_epochs = 2, 512, 2, 1
    t0 = time.time()
    base = 1000 * (args.seed + 1)
    ct = chip_table(TRAIN_FAMILIES, range(base + 6000, base + 6000 + args.chip_scenes), args.size, args.pfa)
    print(f"chip scorer: {len(ct['y'])} chips, {int(ct['y'].sum())} ships ({time.time() - t0:.0f} s)")
    onnx_model, chip_card = train_chipnet(ct["chips"], ct["px"], ct["y"], args.seed, args.chip_epochs)
    scorer = ChipScorer(onnx_model)
    train = scenes(TRAIN_FAMILIES, range(base, base + args.scenes), args.size)
    val = scenes(TRAIN_FAMILIES, range(base + 500, base + 500 + max(1, args.scenes // 3)), args.size)
    held = scenes(HELD_OUT, range(base + 900, base + 900 + max(1, args.scenes // 3)), args.size)
    print(f"{len(train)} training, {len(val)} validation, {len(held)} held-out scenes ({time.time() - t0:.0f} s)")
    tr = table(train, args.pfa, scorer)
    print(f"{len(tr['y'])} training candidates, {int(tr['y'].sum())} ships ({time.time() - t0:.0f} s)")
    n_screen = len(SCREEN_FEATURES)
    screen_clf = fit_trees(tr["x"][:, :n_screen], tr["y"], args.seed)
    screen_arrays = export(screen_clf, args.pfa, 0.5, SCREEN_FEATURES)
    va = table(val, args.pfa, scorer)
    p_screen = ShipModel(screen_arrays).predict_proba(va["x"])
    np.testing.assert_allclose(p_screen, screen_clf.predict_proba(va["x"][:, :n_screen])[:, 1], atol=1e-9)
    strong = va["y"] & (va["scr"] >= 6.0)
    cut = max(c for c in SCREEN_CUTS if c == SCREEN_CUTS[0] or (p_screen[strong] >= c).mean() >= SCREEN_KEEP)
    screen_arrays["screen_cut"] = np.array(cut)
    oof = out_of_fold(tr["x"][:, :n_screen], tr["y"], tr["scene"], args.seed)
    passed = oof >= cut
    print(f"screen cut {cut}: passes {(p_screen[strong] >= cut).mean():.4f} of the validation ships >= 6 dB, "
          f"{(p_screen >= cut).mean():.3f} of their candidates; {int(passed.sum())} training candidates "
          f"({int(tr['y'][passed].sum())} ships) for the chip trees ({time.time() - t0:.0f} s)")
    clf = fit_trees(tr["x"][passed], tr["y"][passed], args.seed)
    arrays = export(clf, args.pfa, 0.5)
    np.testing.assert_allclose(ShipModel(arrays).predict_proba(va["x"]), clf.predict_proba(va["x"])[:, 1], atol=1e-9)
    # the decision thresholds: best F1 (SCR >= 6 dB) on the validation scenes, the screen's alone first
    raw = DetectorConfig(pfa=args.pfa, discriminator="none")
    val_found = detections(val, raw, scorer)
    screen_best = best_threshold(val_found, screen_arrays, ScreenAlone)
    best = best_threshold(val_found, arrays, lambda m: Cascade(ShipModel(screen_arrays), m, scorer))
    model = Cascade(ShipModel(screen_arrays), ShipModel(arrays), scorer)
    alone = ScreenAlone(ShipModel(screen_arrays))
    print(f"decision thresholds: screen alone {screen_best[1]} (validation F1 {screen_best[0]:.3f}), chip trees "
          f"{best[1]} ({best[0]:.3f})")
    rules = DetectorConfig(discriminator="rules")
    held_found = detections(held, raw, scorer)
    results = {"validation": {"model": scene_f1(val_found, model), "screen_alone": scene_f1(val_found, alone),
                              "rules": scene_f1(detections(val, rules))},
               "held_out": {"model": scene_f1(held_found, model), "screen_alone": scene_f1(held_found, alone),
                            "rules": scene_f1(detections(held, rules))}}
    ho = table(held, args.pfa, scorer)
    p1 = model.screen.predict_proba(ho["x"])
    prob = np.where(p1 >= cut, model.chip_trees.predict_proba(ho["x"]), p1)  # the cascade's, every chip scored
    calib = []
    for lo in np.arange(0, 1.0, 0.2):
        m = (prob >= lo) & (prob < lo + 0.2 + (1e-9 if lo >= 0.8 else 0))
        calib.append({"p": [round(float(lo), 1), round(float(lo + 0.2), 1)], "n": int(m.sum()),
                      "ships": round(float(ho["y"][m].mean()), 3) if m.any() else None})
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out / MODEL_FILE, **arrays)
    np.savez_compressed(args.out / SCREEN_FILE, **screen_arrays)
    (args.out / CHIPNET_FILE).write_bytes(onnx_model)
    size_kb = sum((args.out / f).stat().st_size for f in (MODEL_FILE, SCREEN_FILE)) / 1024
    card = {"seed": args.seed, "pfa": args.pfa, "size_px": args.size, "scenes_per_family": args.scenes,
            "train_families": [asdict(f) for f in TRAIN_FAMILIES], "held_out": [asdict(f) for f in HELD_OUT],
            "train_candidates": int(len(tr["y"])), "train_ships": int(tr["y"].sum()),
            "screen": {"trees": int(len(screen_arrays["roots"])), "cut": cut,
                       "decision_threshold": screen_best[1],
                       "validation_ships_passed": round(float((p_screen[strong] >= cut).mean()), 4),
                       "validation_candidates_passed": round(float((p_screen >= cut).mean()), 4)},
            "chip_trees_candidates": int(passed.sum()), "chip_trees_ships": int(tr["y"][passed].sum()),
            "trees": int(len(arrays["roots"])), "decision_threshold": best[1], "model_kb": round(size_kb, 1),
            "chip_scorer": {**chip_card, "scenes_per_family": args.chip_scenes,
                            "onnx_kb": round(len(onnx_model) / 1024, 1)},
            "results": results, "calibration_held_out": calib, "minutes": round((time.time() - t0) / 60, 1)}
    (args.out / "ship_discriminator.json").write_text(json.dumps(card, indent=1) + "\n")
    print(json.dumps(results, indent=1))
    print(f"wrote {MODEL_FILE}, {SCREEN_FILE} ({size_kb:.0f} kB), {CHIPNET_FILE} and ship_discriminator.json "
          f"in {args.out} in {(time.time() - t0) / 60:.1f} min")


if __name__ == "__main__":
    main()
