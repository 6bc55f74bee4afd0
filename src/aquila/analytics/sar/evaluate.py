"""Scoring detections against truth by the xView3 rules.

One-to-one matching (the Hungarian algorithm, `scipy.optimize.linear_sum_assignment`) of predicted
to true positions within 200 m (great-circle distance); precision, recall and F1 over the matches; the
median relative length error over matched pairs whose truth has a length; recall per bin of the
truth's signal-to-clutter ratio when the truth carries `scr_db` (synthetic scenes do).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from aquila.analytics.geo import great_circle_m
from aquila.errors import InputError

__all__ = ["score", "read_points", "read_instance_chip", "SCR_BINS_DB"]

SCR_BINS_DB = (-math.inf, 3.0, 6.0, 10.0, 15.0, math.inf)


def read_points(path: str | Path, field: str, ships_only: bool = False) -> list[dict[str, Any]]:
    """Point features of a GeoJSON FeatureCollection as dicts: lon, lat and the properties."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {str(p)!r} as JSON ({exc})", field=field,
                         expected="a GeoJSON FeatureCollection of Points") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InputError(f"{p.name!r} is not a FeatureCollection", field=field,
                         expected='{"type": "FeatureCollection", "features": [...]}')
    out = []
    for k, f in enumerate(doc.get("features") or []):
        g = (f or {}).get("geometry") or {}
        props = (f or {}).get("properties") or {}
        if ships_only and props.get("kind", "ship") != "ship":
            continue
        c = g.get("coordinates")
        if g.get("type") != "Point" or not isinstance(c, list) or len(c) < 2 or not all(
                isinstance(v, (int, float)) and math.isfinite(v) for v in c[:2]):
            raise InputError(f"feature {k} is not a Point with finite coordinates", source=str(p), field=field,
                             expected='{"type": "Point", "coordinates": [lon, lat]}')
        out.append({"lon": float(c[0]), "lat": float(c[1]), **props})
    return out


def score(pred: list[dict[str, Any]], truth: list[dict[str, Any]], max_distance_m: float = 200.0,
          min_scr_db: float | None = None) -> dict[str, Any]:
    """xView3-style figures for predicted vs true points. With `min_scr_db`, the figures are for the ships
    at least that bright: truth below it is matched like the rest, but a prediction on such a ship counts
    neither for nor against (as xView3 ignores what it does not score), and it is not missed either."""
    from scipy.optimize import linear_sum_assignment

    pairs: list[tuple[int, int, float]] = []
    if pred and truth:
        d = great_circle_m(np.array([p["lon"] for p in pred]), np.array([p["lat"] for p in pred]),
                           np.array([t["lon"] for t in truth]), np.array([t["lat"] for t in truth]))
        cost = np.where(d <= max_distance_m, d, 1e12)
        rows, cols = linear_sum_assignment(cost)
        pairs = [(int(r), int(c), float(d[r, c])) for r, c in zip(rows, cols, strict=True) if d[r, c] <= max_distance_m]
    if min_scr_db is not None:
        weak = {k for k, t in enumerate(truth) if float(t.get("scr_db", math.inf)) < min_scr_db}
        on_weak = {r for r, c, _ in pairs if c in weak}
        keep_t = [k for k in range(len(truth)) if k not in weak]
        keep_p = [k for k in range(len(pred)) if k not in on_weak]
        ti, pi = {k: n for n, k in enumerate(keep_t)}, {k: n for n, k in enumerate(keep_p)}
        pairs = [(pi[r], ti[c], dist) for r, c, dist in pairs if c not in weak]
        pred, truth = [pred[k] for k in keep_p], [truth[k] for k in keep_t]
    tp = len(pairs)
    fp, fn = len(pred) - tp, len(truth) - tp
    precision = tp / len(pred) if pred else (1.0 if not truth else 0.0)
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    rel = [abs(float(pred[r]["length_m"]) - float(truth[c]["length_m"])) / float(truth[c]["length_m"])
           for r, c, _ in pairs if pred[r].get("length_m") and truth[c].get("length_m")]
    found = {c for _, c, _ in pairs}
    bins = []
    if truth and all("scr_db" in t for t in truth):
        for lo, hi in zip(SCR_BINS_DB[:-1], SCR_BINS_DB[1:], strict=True):
            idx = [k for k, t in enumerate(truth) if lo <= float(t["scr_db"]) < hi]
            hit = sum(1 for k in idx if k in found)
            bins.append({"scr_db": [lo if math.isfinite(lo) else None, hi if math.isfinite(hi) else None],
                         "truth": len(idx), "found": hit,
                         "recall": round(hit / len(idx), 4) if idx else None})
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(f1, 4), "median_match_distance_m": round(float(np.median([d for *_, d in pairs])), 1)
            if pairs else None, "median_relative_length_error": round(float(np.median(rel)), 4) if rel else None,
            "recall_by_scr": bins, "max_distance_m": max_distance_m, "min_scr_db": min_scr_db}


def read_instance_chip(image_png: str | Path, mask_png: str | Path, pixel_m: float
                       ) -> tuple[np.ndarray, tuple[float, ...], list[dict[str, Any]]]:
    """An 8-bit SAR chip with an instance-id mask (HRSID's form: one RGB colour per ship), as
    (intensity, a GDAL geotransform placing it at 0,0 on a `pixel_m` grid, truth points with length_m).

    The chip's amplitude becomes intensity ((v + 0.5) / 256)^2; each instance's centre is its pixels' mean
    and its length the longer side of its bounding box (a chip carries no georeferencing: positions are
    placed on a local grid so the detector's metres and the scoring's 200 m mean something)."""
    from PIL import Image

    img = np.asarray(Image.open(image_png).convert("L"), dtype=np.float32)
    mask = np.asarray(Image.open(mask_png).convert("RGB")).astype(np.int64)
    ids = mask[..., 0] << 16 | mask[..., 1] << 8 | mask[..., 2]
    deg = pixel_m / 111_320.0  # on the equator a degree is the same both ways
    transform = (0.0, deg, 0.0, 0.0, 0.0, -deg)
    truth = []
    for k in np.unique(ids):
        if k == 0:
            continue
        rr, cc = np.nonzero(ids == k)
        if rr.size < 4:  # stray anti-aliased pixels, not a ship
            continue
        r, c = float(rr.mean()), float(cc.mean())
        length = max(int(rr.max() - rr.min()), int(cc.max() - cc.min())) + 1
        truth.append({"lon": (c + 0.5) * deg, "lat": -(r + 0.5) * deg, "length_m": length * pixel_m,
                      "row": r, "col": c})
    return ((img + 0.5) / 256.0) ** 2, transform, truth
