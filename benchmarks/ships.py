"""Benchmark: Aquila's ship detector beside a plain two-parameter CA-CFAR, on the same synthetic scenes.

    .venv/bin/python benchmarks/ships.py            # 4 clutter families x 2 seeds, 2048 px scenes at 10 m
    .venv/bin/python benchmarks/ships.py --quick    # 1024 px, one seed

The anchor is the textbook detector (NOTES): background mean and standard deviation over a square
window by `scipy.ndimage.uniform_filter`, a pixel detected when above mean + k * std, connected
components as targets, k chosen once so that it gives about one false alarm per 100 km^2 on gamma
(speckle-only) sea — a fixed multiplier, as the NOTES warn. Both are scored by the xView3 rules
(`aquila evaluate ships`): F1 and precision overall, recall for ships of SCR >= 6 dB. Speed is MPix/s of detection in
process (the scene already in memory), after one warm-up call compiles the kernels.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict

import numpy as np

from aquila.analytics.sar import SceneSpec, synthesize
from aquila.analytics.sar.detect import detect_array
from aquila.analytics.sar.evaluate import score

SHAPES = (None, 1.5, 3.0, 10.0)


def ca_cfar(image: np.ndarray, land: np.ndarray, transform: tuple, k: float, window_px: int = 61) -> list[dict]:
    """Plain CA-CFAR: mean + k std over a window (uniform_filter), connected components, centroids."""
    from scipy.ndimage import center_of_mass, label, uniform_filter

    x = np.where(land > 0, 0.0, image).astype(np.float64)
    m = uniform_filter(x, window_px)
    s = np.sqrt(np.maximum(uniform_filter(x * x, window_px) - m * m, 0))
    det = (x > m + k * s) & (land == 0)
    lab, n = label(det, structure=np.ones((3, 3)))
    x0, dx, _, y0, _, dy = transform
    out = []
    for r, c in center_of_mass(det, lab, range(1, n + 1)) if n else []:
        out.append({"lon": x0 + (c + 0.5) * dx, "lat": y0 + (r + 0.5) * dy})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.size, args.seeds = 1024, 1
    warm = synthesize(SceneSpec(seed=0, size_px=256))
    detect_array(warm.image, warm.transform, "EPSG:4326", warm.land)
    free = synthesize(SceneSpec(seed=99, size_px=1024, shape=None, ships=0, pairs=0, anchorage=False, land=False))
    area_100km2 = free.image.size * 100 / 1e6 / 100
    k_anchor = next(k for k in np.arange(3.0, 40.0, 0.5)
                    if len(ca_cfar(free.image, free.land, free.transform, k)) <= area_100km2)
    print(f"CA-CFAR k = {k_anchor:g} (<= 1 false alarm per 100 km^2 on ship-free gamma sea)")
    rows = []
    for shape in SHAPES:
        for seed in range(args.seeds):
            s = synthesize(SceneSpec(seed=100 + seed, size_px=args.size, shape=shape, ships=args.size // 20))
            truth = [{"lon": x.lon_deg, "lat": x.lat_deg, **asdict(x)} for x in s.ships]
            strong = [t for t in truth if t["scr_db"] >= 6]
            t0 = time.perf_counter()
            found = detect_array(s.image, s.transform, "EPSG:4326", s.land)
            ours_s = time.perf_counter() - t0
            pred = [{"lon": c.lon_deg, "lat": c.lat_deg, "length_m": c.length_m} for c in found.ships]
            t0 = time.perf_counter()
            anchor = ca_cfar(s.image, s.land, s.transform, k_anchor)
            anchor_s = time.perf_counter() - t0
            mpix = s.image.size / 1e6
            rows.append({"shape": shape or "gamma", "seed": seed, "ships": len(truth),
                         "aquila_f1": score(pred, truth)["f1"], "aquila_recall_6db": score(pred, strong)["recall"],
                         "aquila_mpix_s": round(mpix / ours_s, 1),
                         "ca_cfar_f1": score(anchor, truth)["f1"],
                         "ca_cfar_recall_6db": score(anchor, strong)["recall"],
                         "ca_cfar_mpix_s": round(mpix / anchor_s, 1),
                         "aquila_precision": score(pred, truth)["precision"],
                         "ca_cfar_precision": score(anchor, truth)["precision"]})
    keys = list(rows[0])
    print("  ".join(keys))
    for r in rows:
        print("  ".join(str(r[k]) for k in keys))


if __name__ == "__main__":
    main()
