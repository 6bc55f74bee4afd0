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

__all__ = ["score", "read_points", "SCR_BINS_DB"]

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


def score(pred: list[dict[str, Any]], truth: list[dict[str, Any]], max_distance_m: float = 200.0
          ) -> dict[str, Any]:
    """xView3-style figures for predicted vs true points."""
    from scipy.optimize import linear_sum_assignment

    pairs: list[tuple[int, int, float]] = []
    if pred and truth:
        d = great_circle_m(np.array([p["lon"] for p in pred]), np.array([p["lat"] for p in pred]),
                           np.array([t["lon"] for t in truth]), np.array([t["lat"] for t in truth]))
        cost = np.where(d <= max_distance_m, d, 1e12)
        rows, cols = linear_sum_assignment(cost)
        pairs = [(int(r), int(c), float(d[r, c])) for r, c in zip(rows, cols, strict=True) if d[r, c] <= max_distance_m]
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
            bins.append({"scr_db": [lo, hi], "truth": len(idx), "found": hit,
                         "recall": round(hit / len(idx), 4) if idx else None})
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(f1, 4), "median_match_distance_m": round(float(np.median([d for *_, d in pairs])), 1)
            if pairs else None, "median_relative_length_error": round(float(np.median(rel)), 4) if rel else None,
            "recall_by_scr": bins, "max_distance_m": max_distance_m}
