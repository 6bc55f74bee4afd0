"""Benchmark: Aquila's access engine beside skyfield's find_events, on the same inputs, in one run.

    .venv/bin/python benchmarks/passes.py                      # 1000 satellites x 1000 targets x 7 days
    .venv/bin/python benchmarks/passes.py --satellites 100 --targets 100 --days 1
    .venv/bin/python benchmarks/passes.py --tle ../shared/data/tle/eo-sar_2026-03-19.tle --satellites 200 \
        --targets 1000 --days 2 --end-to-end json,parquet,csv,ndjson    # also `aquila passes -o F` as a user runs it

Satellites are real-looking LEO element sets generated here (400-900 km, 30-100 deg, small e,
real drag terms); `--tle FILE` puts real element sets first. Targets are uniform on the sphere
up to 85 deg latitude; mask 10 deg. skyfield runs on a random sample of satellite-target pairs and
is extrapolated to all pairs; the sampled pairs are also compared pass by pass. Peak memory is the
largest sum of the proportional set sizes (PSS) of this process and its workers, polled
every 50 ms.

`--end-to-end FORMATS` also runs the command a user runs, `aquila passes --tle F --targets T -o out.<fmt>`
(a fresh process: parse, propagate, write), once per format, and reports its wall time, the file,
the peak memory of the process tree, and the speed-up per pair over skyfield end to end. The memory the
result costs is that peak less the peak of the same command on one target (Python, numba, pyarrow and
the workers over the same period: what any run pays), set beside the result's columnar (Arrow) size.

`--writers` times the text writers on the in-process result beside polars (strftime + write_ndjson /
write_csv, the fastest general writer here; `pip install -e '.[bench]'`), to a file in the same directory.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sgp4.api import WGS72, Satrec
from sgp4.exporter import export_tle
from skyfield.api import EarthSatellite, wgs84

from aquila.constellation.assets import GENERIC_SENSOR, Constellation, OwnerKind, Satellite
from aquila.constellation.elements import ElementSet, load_elements
from aquila.orbits.access import compute_access
from aquila.orbits.frames import timescale
from aquila.orbits.targets import TargetSet

EPOCH = datetime(2026, 3, 19, tzinfo=UTC)
MASK_DEG = 10.0


def generated(n: int, seed: int) -> list[ElementSet]:
    rng = np.random.default_rng(seed)
    epoch_1949 = (EPOCH - datetime(1949, 12, 31, tzinfo=UTC)).total_seconds() / 86400.0
    out = []
    for i in range(n):
        a = 6378.137 + rng.uniform(400, 900)
        sat = Satrec()
        sat.sgp4init(WGS72, "i", 80000 + i, epoch_1949 - rng.uniform(0, 2), rng.uniform(1e-5, 2e-4), 0.0, 0.0,
                     rng.uniform(1e-4, 0.01), math.radians(rng.uniform(0, 360)), math.radians(rng.uniform(30, 100)),
                     math.radians(rng.uniform(0, 360)), math.sqrt(398600.4418 / a**3) * 60,
                     math.radians(rng.uniform(0, 360)))
        out.append(ElementSet(80000 + i, f"GEN-{i}", sat, "generated"))
    return out


class PeakRss:
    """Largest summed memory (PSS) of this process and its children, sampled in a thread."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss(pid: int) -> int:
        """Proportional set size: pages shared after fork are counted once across the processes."""
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    @staticmethod
    def _children(pid: int) -> list[int]:
        out = []
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                out += [int(x) for x in (task / "children").read_text().split()]
            except OSError:
                pass
        return out

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(0.05):
            total = self._rss(me) + sum(self._rss(c) for c in self._children(me))
            self.peak = max(self.peak, total)

    def __enter__(self) -> PeakRss:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--satellites", type=int, default=1000)
    ap.add_argument("--targets", type=int, default=1000)
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skyfield-pairs", type=int, default=40, help="pairs timed with skyfield find_events")
    ap.add_argument("--tle", help="real element sets to put first")
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run of a minute or so (make bench)")
    ap.add_argument("--end-to-end", default="", help="formats to time through the CLI, e.g. json,parquet,csv")
    ap.add_argument("--writers", action="store_true", help="time the JSON/CSV/Parquet writers beside polars")
    ap.add_argument("--repeat", type=int, default=3, help="end-to-end runs per format (the median is reported)")
    args = ap.parse_args()
    if args.quick:
        args.satellites, args.targets, args.days, args.skyfield_pairs = 100, 200, 1.0, 10
        args.end_to_end = args.end_to_end or "json,parquet"
        args.writers = True

    sets: list[ElementSet] = load_elements(args.tle)[: args.satellites] if args.tle else []
    sets += generated(args.satellites - len(sets), seed=1)
    sats = Constellation([Satellite(e.name, e.norad_id, "T", "t", OwnerKind.NATIONAL, GENERIC_SENSOR, e)
                          for e in sets])
    rng = np.random.default_rng(2)
    lim = math.sin(math.radians(85))
    lat = np.degrees(np.arcsin(rng.uniform(-lim, lim, args.targets)))
    lon = rng.uniform(-180, 180, args.targets)
    start, end = EPOCH, EPOCH + timedelta(days=args.days)
    targets = TargetSet.from_points(lat, lon)

    # Warm the compiled kernel (cached on disk after the first run) outside the timing.
    compute_access(sats.satellites[:1], TargetSet.from_points(lat[:2], lon[:2]), start, start + timedelta(hours=2),
                   workers=1)

    with PeakRss() as mem:
        t0 = time.perf_counter()
        res = compute_access(sats, targets, start, end, min_elevation_deg=MASK_DEG, workers=args.workers)
        ours_s = time.perf_counter() - t0
    pairs = args.satellites * args.targets

    # skyfield find_events on a sample of pairs, and a pass-by-pass comparison on them.
    ts = timescale()
    t0_sf, t1_sf = ts.from_datetime(start), ts.from_datetime(end)
    idx = rng.choice(pairs, size=min(args.skyfield_pairs, pairs), replace=False)
    c = res.columns
    sf_time = 0.0
    worst = 0.0
    missed = 0
    n_events = 0
    for p in idx:
        i, j = divmod(int(p), args.targets)
        sat = EarthSatellite.from_satrec(sets[i].satrec, ts)
        site = wgs84.latlon(lat[j], lon[j])
        t = time.perf_counter()
        tt, ev = sat.find_events(site, t0_sf, t1_sf, altitude_degrees=MASK_DEG)
        sf_time += time.perf_counter() - t
        secs = (tt.tai - t0_sf.tai) * 86400.0
        rows = (c["sat"] == i) & (c["target"] == j)
        for kind, col in ((0, "start_s"), (2, "end_s")):
            for x in secs[ev == kind]:
                n_events += 1
                d = np.abs(c[col][rows] - x)
                if not len(d) or d.min() > 1.0:
                    missed += 1
                else:
                    worst = max(worst, float(d.min()))
    sf_per_pair = sf_time / len(idx)
    ours_per_pair = ours_s / pairs
    figures = {
        "satellites": args.satellites, "targets": args.targets, "days": args.days, "workers": args.workers,
        "passes": len(res), "aquila_wall_s": round(ours_s, 2), "aquila_peak_rss_gib": round(mem.peak / 2**30, 2),
        "aquila_us_per_pair": round(ours_per_pair * 1e6, 2),
        "skyfield_pairs_timed": len(idx), "skyfield_ms_per_pair": round(sf_per_pair * 1e3, 2),
        "skyfield_extrapolated_s": round(sf_per_pair * pairs, 0),
        "speedup_per_pair": round(sf_per_pair / ours_per_pair, 0),
        "sampled_events": n_events, "sampled_missed": missed, "sampled_worst_dt_s": round(worst, 3),
        "screening_misses": res.screening_misses, "sgp4_errors": len(res.errors),
    }
    table = res.to_arrow()
    figures["result_table_mb"] = round(table.nbytes / 1e6, 1)
    if args.writers:
        figures |= writers(table)
    del table
    formats = [f for f in args.end_to_end.split(",") if f]
    if formats:
        fixed = end_to_end("json", sets, lat[:1], lon[:1], start, end, 0.0, 1)  # same workers, ~1/1000 the rows
        figures["cli_fixed_peak_gib"] = fixed["peak_rss_gib"]
    for fmt in formats:
        figures[f"cli_{fmt}"] = run = end_to_end(fmt, sets, lat, lon, start, end, sf_per_pair * pairs, args.repeat)
        run["result_peak_mb"] = round((float(run["peak_rss_gib"]) - float(fixed["peak_rss_gib"])) * 2**30 / 1e6)
    w = max(len(k) for k in figures)
    for k, v in figures.items():
        print(f"{k:<{w}}  {v}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")


def writers(table: object) -> dict[str, object]:
    """Aquila's writers beside polars on the same table, each to a file (median of 3)."""
    import statistics

    import polars as pl

    from aquila.orbits.export import write_table

    def polars_write(fmt: str, path: Path) -> None:
        df = pl.from_arrow(table)
        assert isinstance(df, pl.DataFrame)
        times = [n for n, t in df.schema.items() if isinstance(t, pl.Datetime)]
        df = df.with_columns([pl.col(n).dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ") for n in times])
        with path.open("wb") as f:
            df.write_csv(f) if fmt == "csv" else df.write_ndjson(f) if fmt == "ndjson" else df.write_parquet(
                f, compression="zstd")

    def ours(fmt: str, path: Path) -> None:
        with path.open("wb") as f:
            write_table(table, fmt, f, key="passes", meta={})  # type: ignore[arg-type]

    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory(dir=".") as d:
        for fmt in ("json", "ndjson", "csv", "parquet"):
            for who, fn in (("aquila", ours), ("polars", polars_write)):
                if who == "polars" and fmt == "json":
                    continue  # polars' JSON writer is ~5x slower than its NDJSON one: NDJSON is the fair anchor
                path = Path(d) / f"w.{fmt}"
                times = []
                for _ in range(3):
                    t = time.perf_counter()
                    fn(fmt, path)
                    times.append(time.perf_counter() - t)
                out[f"write_{fmt}_{who}_s"] = round(statistics.median(times), 2)
    return out


def end_to_end(fmt: str, sets: list[ElementSet], lat: np.ndarray, lon: np.ndarray, start: datetime, end: datetime,
               skyfield_s: float, repeat: int) -> dict[str, object]:
    """`aquila passes ... -o out.<fmt>` in a fresh process, as a user runs it (median of `repeat` runs: this
    VM's disk and page faults vary by tens of percent from run to run)."""
    import statistics

    walls, peaks = [], []
    with tempfile.TemporaryDirectory() as d:
        tle, aoi, out = Path(d) / "sats.tle", Path(d) / "aoi.geojson", Path(d) / f"out.{fmt}"
        tle.write_text("".join(f"{e.name}\n" + "\n".join(export_tle(e.satrec)) + "\n" for e in sets))
        aoi.write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": f"p{k}", "properties": {},
             "geometry": {"type": "Point", "coordinates": [float(lon[k]), float(lat[k])]}} for k in range(len(lat))]}))
        cmd = [sys.executable, "-m", "aquila", "passes", "--tle", str(tle), "--targets", str(aoi), "--start",
               start.isoformat(), "--end", end.isoformat(), "--min-elevation", str(MASK_DEG), "-o", str(out),
               "--allow-stale"]
        env = {**os.environ, "AQUILA_DATA_DIR": str(Path(d) / "data")}
        for _ in range(repeat):
            out.unlink(missing_ok=True)
            with PeakRss() as mem:
                t = time.perf_counter()
                done = subprocess.run(cmd, capture_output=True, text=True, env=env)
                walls.append(time.perf_counter() - t)
            peaks.append(mem.peak)
            if done.returncode != 0:
                raise SystemExit(done.stderr)
        wall = statistics.median(walls)
        return {"wall_s": round(wall, 2), "runs_s": [round(w, 2) for w in walls],
                "file_mb": round(out.stat().st_size / 1e6, 1),
                "peak_rss_gib": round(statistics.median(peaks) / 2**30, 2),
                "speedup_per_pair_vs_skyfield": round(skyfield_s / wall, 0)}


if __name__ == "__main__":
    main()
