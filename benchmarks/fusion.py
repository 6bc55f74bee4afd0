"""Benchmark: fusion of SAR detections with AIS, and NMEA decoding, each beside its anchor in the same run.

    .venv/bin/python benchmarks/fusion.py            # 10,000 detections x 1,000,000 AIS positions; 200k NMEA lines
    .venv/bin/python benchmarks/fusion.py --quick    # 1,000 x 100,000; 20k lines

Fusion: 20,000 vessels reporting every ~100 s over an hour around the image time (1 M positions) in a
4 x 4 degree box; 10,000 detections, half of them at a vessel's true image-time position displaced by
the SAR azimuth shift and noise, half dark. `aquila.analytics.fusion.fuse` (place every vessel with its
uncertainty, gate, Hungarian) against the anchor a naive pipeline would use: each vessel's last report
before the image time, nearest-neighbour within 500 m by a KD-tree, greedy. Reported: wall time and the
share of detections given the right identity.

NMEA: the shared pyais sample (778 messages) repeated to N lines; Aquila's reader (`read_nmea`: pyais per
sentence, own multi-sentence assembly, tag blocks, counting) against pyais alone (`NMEAMessage` +
`decode()` per line, no assembly of multi-sentence messages, no columns).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from aquila.analytics.ais import AisData, Vessel, read_nmea
from aquila.analytics.fusion import fuse
from aquila.constants import EARTH_MEAN_RADIUS_M

T = 1_773_914_400.0
SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "ais" / "pyais_nmea_data_sample.txt"


def synthetic(n_vessels: int, reports: int, n_det: int, seed: int = 0) -> tuple[AisData, list[dict], np.ndarray]:
    rng = np.random.default_rng(seed)
    lon0 = rng.uniform(17.0, 21.0, n_vessels)
    lat0 = rng.uniform(55.0, 59.0, n_vessels)
    speed_kn = rng.uniform(0, 15, n_vessels)
    course = rng.uniform(0, 360, n_vessels)
    v = speed_kn * 1852 / 3600
    t = T - 1800 + np.sort(rng.uniform(0, 3600, (n_vessels, reports)), axis=1)
    dt = t - T
    north = (v * np.cos(np.radians(course)))[:, None] * dt
    east = (v * np.sin(np.radians(course)))[:, None] * dt
    lat = lat0[:, None] + np.degrees(north / EARTH_MEAN_RADIUS_M)
    lon = lon0[:, None] + np.degrees(east / (EARTH_MEAN_RADIUS_M * np.cos(np.radians(lat0))[:, None]))
    mmsi = np.repeat(np.arange(200_000_000, 200_000_000 + n_vessels), reports)
    lengths = rng.uniform(20, 300, n_vessels)
    vessels = {int(m): Vessel(int(m), f"V{k}", 70, float(lengths[k])) for k, m in
               enumerate(range(200_000_000, 200_000_000 + n_vessels))}
    ais = AisData.from_columns(mmsi, t.ravel(), lat.ravel(), lon.ravel(), np.repeat(speed_kn, reports),
                               np.repeat(course, reports), vessels=vessels)
    seen = rng.choice(n_vessels, n_det // 2, replace=False)
    dets, truth = [], []
    for k in seen:  # displaced along azimuth by (R/V) x radial speed (unknown direction) plus 30 m noise
        shift = 115.0 * v[k] * rng.uniform(-1, 1)
        ang = rng.uniform(0, 2 * math.pi)
        dn, de = shift * math.cos(ang) + rng.normal(0, 30), shift * math.sin(ang) + rng.normal(0, 30)
        la = lat0[k] + math.degrees(dn / EARTH_MEAN_RADIUS_M)
        lo = lon0[k] + math.degrees(de / (EARTH_MEAN_RADIUS_M * math.cos(math.radians(lat0[k]))))
        dets.append({"lon": lo, "lat": la, "length_m": float(lengths[k] * rng.uniform(0.8, 1.2))})
        truth.append(200_000_000 + int(k))
    for _ in range(n_det - len(seen)):
        dets.append({"lon": float(rng.uniform(17, 21)), "lat": float(rng.uniform(55, 59)), "length_m": 50.0})
        truth.append(-1)
    return ais, dets, np.array(truth)


def naive(ais: AisData, dets: list[dict], time_s: float) -> np.ndarray:
    """Last report before the image time, nearest within 500 m, greedy by distance."""
    from scipy.spatial import cKDTree

    before = ais.time_s <= time_s
    m, la, lo = ais.mmsi[before], ais.lat_deg[before], ais.lon_deg[before]
    last = np.r_[m[1:] != m[:-1], True]
    m, la, lo = m[last], la[last], lo[last]
    lat0 = math.radians(57.0)
    xy = np.column_stack([np.radians(lo) * EARTH_MEAN_RADIUS_M * math.cos(lat0), np.radians(la) * EARTH_MEAN_RADIUS_M])
    dxy = np.column_stack([np.radians([d["lon"] for d in dets]) * EARTH_MEAN_RADIUS_M * math.cos(lat0),
                           np.radians([d["lat"] for d in dets]) * EARTH_MEAN_RADIUS_M])
    dist, idx = cKDTree(xy).query(dxy, distance_upper_bound=500.0)
    out = np.full(len(dets), -1)
    taken: set[int] = set()
    for k in np.argsort(dist):
        if np.isfinite(dist[k]) and idx[k] not in taken:
            taken.add(int(idx[k]))
            out[k] = int(m[idx[k]])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n_v, n_det, lines = (2_000, 1_000, 20_000) if args.quick else (20_000, 10_000, 200_000)
    ais, dets, truth = synthetic(n_v, 50, n_det)
    print(f"fusion: {len(dets)} detections x {len(ais)} AIS positions of {n_v} vessels")
    fuse(dets[:50], ais, T)  # warm-up (imports)
    for name, run in (("aquila fuse", lambda: np.array([f.mmsi if f.mmsi is not None else -1
                                                        for f in fuse(dets, ais, T).detections])),
                      ("naive last-report + nearest 500 m", lambda: naive(ais, dets, T))):
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            got = run()
            times.append(time.perf_counter() - t0)
        right = float(np.mean(got == truth))
        print(f"  {name:36s} {sorted(times)[1]:6.2f} s (median of 3)  right identity or dark: {right:.3f}")
    if not SAMPLE.exists():
        print("NMEA: ../shared/data absent, skipped")
        return
    from pyais.messages import NMEAMessage

    base = [ln for ln in SAMPLE.read_bytes().splitlines() if ln.strip()]
    text = (base * (lines // len(base) + 1))[:lines]
    print(f"NMEA: {len(text)} lines (the shared sample repeated)")
    for name, fn in (("aquila read_nmea (columns, assembly, counts)", lambda: read_nmea(text, received=None)),
                     ("pyais alone (NMEAMessage + decode per line)", lambda: _pyais(text))):
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        med = sorted(times)[1]
        print(f"  {name:46s} {med:6.2f} s  {len(text) / med / 1000:7.1f} k lines/s")
    del NMEAMessage


def _pyais(text: list[bytes]) -> int:
    from pyais.messages import NMEAMessage

    n = 0
    for ln in text:
        try:
            NMEAMessage(ln).decode()
            n += 1
        except Exception:  # noqa: BLE001 - what pyais cannot decode alone (fragments, bad lines)
            pass
    return n


if __name__ == "__main__":
    main()
