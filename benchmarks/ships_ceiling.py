"""How high could any detector's F1 go on the benchmark's scenes? A clairvoyant reference for `ships.py`.

    .venv/bin/python benchmarks/ships_ceiling.py                      # K 1.5 and K 3, seeds 100-101, 2048^2
    .venv/bin/python benchmarks/ships_ceiling.py --families gamma K1.5 K3 K10 --seeds 2

The same scenes as `benchmarks/ships.py` (same families, seeds and size). The reference detector is told what
no real one knows: each ship's exact footprint (its rectangle at its heading, from the synthesizer) and the
true local sea mean. For each ship of SCR >= 6 dB it takes three statistics over its footprint — the mean of
image / sea mean, the brightest pixel, the brightest 3 x 3 mean — and, for each, counts the false alarms the
same statistic with the same footprint would raise at that value over the scene's sea (off land, 150 m from
the coast, away from every ship and its sidelobes and ambiguities; one alarm per footprint area). A ship is
*within reach* at a budget of B false alarms per scene when its best statistic (chosen after the fact, per
ship) stays within B. The ceiling is the best F1 over budgets, with precision = reached / (reached + B x
scenes). It is generous (a threshold per ship, the best of three statistics per ship, the footprint known);
it is not a proof — a detector using a statistic none of the three approximates could in principle pass it.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.ndimage import distance_transform_edt, uniform_filter
from scipy.signal import fftconvolve

from aquila.analytics.sar.synth import Scene, ship_footprint, synthesize
from aquila.analytics.sar.training import HELD_OUT, TRAIN_FAMILIES, draw_spec

BUDGETS = (0.5, 1, 2, 3, 5, 7, 10, 15, 20, 30)
COAST_M = 150.0


def _clutter_mask(s: Scene, sea: np.ndarray) -> np.ndarray:
    """Sea that holds neither a ship (to 300 m beyond its half length) nor a sidelobe arm or ambiguity."""
    px = s.spec.pixel_m
    far = np.ones_like(sea)
    yy, xx = np.mgrid[: sea.shape[0], : sea.shape[1]]
    spots = [(sh.row, sh.col, sh.length_m / 2 + 300) for sh in s.ships]
    spots += [(d.row, d.col, 400.0) for d in s.distractors if d.kind in ("sidelobe", "ambiguity")]
    for r, c, radius_m in spots:
        k = int(radius_m / px) + 1
        a0, a1, b0, b1 = max(0, int(r) - k), int(r) + k + 1, max(0, int(c) - k), int(c) + k + 1
        far[a0:a1, b0:b1] &= np.hypot(yy[a0:a1, b0:b1] - r, xx[a0:a1, b0:b1] - c) * px > radius_m
    return sea & far


def ship_reach(s: Scene) -> np.ndarray:
    """Per ship of SCR >= 6 dB: (scr_db, length_m, false alarms per scene of its best statistic, of each)."""
    px = s.spec.pixel_m
    z = (s.image / s.sea_mean).astype(np.float64)
    sea = ~s.land.astype(bool)
    sea &= distance_transform_edt(sea) * px > COAST_M
    clutter = _clutter_mask(s, sea)
    zc = np.where(sea, z, 0.0)
    m3 = uniform_filter(zc, 3)
    ok3 = uniform_filter(clutter.astype(np.float64), 3) > 0.999
    z1_sorted, z3_sorted = np.sort(zc[clutter]), np.sort(m3[ok3])
    n_sea = float(sea.sum())
    rows = []
    for sh in s.ships:
        if sh.scr_db < 6:
            continue
        _, _, _, inside = ship_footprint(sh.length_m / px, sh.width_m / px, sh.heading_deg)
        k = inside.astype(np.float64)
        n_px, h = k.sum(), k.shape[0] // 2
        r0, c0 = int(round(sh.row)), int(round(sh.col))
        win = (slice(r0 - h, r0 + h + 1), slice(c0 - h, c0 + h + 1))
        t_mean = float((z[win] * k).sum() / n_px)
        t_peak = float((z[win] * k).max())
        t_peak3 = float((m3[win] * k).max())
        means = fftconvolve(zc, k[::-1, ::-1], mode="same") / n_px
        whole = fftconvolve(clutter.astype(np.float64), k, mode="same") > n_px - 0.5  # footprint all clutter
        fa_mean = float(((means >= t_mean) & whole).sum()) / n_px * n_sea / max(1.0, float(whole.sum()))
        fa_peak = (len(z1_sorted) - np.searchsorted(z1_sorted, t_peak)) * n_sea / len(z1_sorted)
        fa_peak3 = (len(z3_sorted) - np.searchsorted(z3_sorted, t_peak3)) / 9 * n_sea / len(z3_sorted)
        rows.append((sh.scr_db, sh.length_m, min(fa_mean, fa_peak, fa_peak3), fa_mean, fa_peak, fa_peak3))
    return np.array(rows).reshape(-1, 6)


def ceiling(reach: np.ndarray, scenes: int) -> tuple[float, float, float, float]:
    """(F1, precision, recall, budget per scene) of the best budget."""
    best = (0.0, 0.0, 0.0, 0.0)
    for b in BUDGETS:
        r = float(np.mean(reach[:, 2] <= b))
        tp = r * len(reach)
        p = tp / (tp + b * scenes) if tp else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        best = max(best, (f, p, r, float(b)))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--families", nargs="+", default=["K1.5", "K3"])
    ap.add_argument("--seeds", type=int, default=2, help="scenes per family, seeds 100.. (as ships.py)")
    ap.add_argument("--size", type=int, default=2048)
    args = ap.parse_args()
    fams = {f.name: f for f in TRAIN_FAMILIES + HELD_OUT}
    print("family  ships>=6dB  ceiling_f1  ceiling_p  ceiling_r  at_fa_per_scene  "
          "reach_6-10dB  reach_10-15dB  reach_15+dB  mean_only_r  peak_only_r  peak3_only_r  (reach at <= 3 FA/scene)")
    for name in args.families:
        reach = np.concatenate([ship_reach(synthesize(draw_spec(fams[name], 100 + k, args.size)))
                                for k in range(args.seeds)])
        f, p, r, b = ceiling(reach, args.seeds)
        bins = [np.mean(reach[(reach[:, 0] >= lo) & (reach[:, 0] < hi), 2] <= 3) for lo, hi in
                ((6, 10), (10, 15), (15, 99))]  # the bins of `aquila evaluate ships`
        alone = [np.mean(reach[:, j] <= 3) for j in (3, 4, 5)]
        print(f"{name:<8}{len(reach):>10}{f:>12.3f}{p:>11.3f}{r:>11.3f}{b:>17g}"
              + "".join(f"{v:>13.3f}" for v in bins) + "".join(f"{v:>13.3f}" for v in alone))


if __name__ == "__main__":
    main()
