"""Benchmark: ship detection at scale, as a user runs it — `aquila detect ships` on a large GeoTIFF, wall time and
peak memory of the process, beside the plain CA-CFAR anchor on the same scene.

    .venv/bin/python benchmarks/ships_scale.py                   # 8192^2 (67 MPix) and 20480^2 (419 MPix) scenes
    .venv/bin/python benchmarks/ships_scale.py --sizes 4096      # quicker

A scene is a mosaic of one synthesized 2048 x 2048 K-clutter scene (shape 3, ships, a coast unless --open-sea) as a
tiled, deflate-compressed GeoTIFF with its land mask (what `aquila synth sar` writes, repeated): the
detector's work per pixel is what matters, not the variety. Timed: the whole CLI process (start-up,
reading by windows, land mask, detection, discrimination, GeoJSON out; the process started as `python -c`
that runs `aquila`'s entry point, to read its peak RSS as it exits). The anchor (scipy
`uniform_filter` mean + k std, connected components) needs the scene in memory as float64 and is run
in-process on scenes up to 67 MPix (its own memory grows ~40 bytes per pixel).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from aquila.analytics.sar import SceneSpec, synthesize

ROOT = Path(__file__).resolve().parents[1]


def mosaic(out: Path, size: int, coast: bool = True) -> tuple[Path, Path]:
    import rasterio
    from rasterio.transform import Affine
    from rasterio.windows import Window

    base = synthesize(SceneSpec(seed=3, size_px=2048, shape=3.0, ships=100, land=coast))
    x0, dx, _, y0, _, dy = base.transform
    prof = {"driver": "GTiff", "height": size, "width": size, "count": 1, "crs": "EPSG:4326",
            "transform": Affine(dx, 0, x0, 0, dy, y0), "tiled": True, "blockxsize": 512, "blockysize": 512,
            "compress": "deflate", "zlevel": 1}
    tag = "" if coast else "_sea"
    scene, land = out / f"scene_{size}{tag}.tif", out / f"land_{size}{tag}.tif"
    with rasterio.open(scene, "w", dtype="float32", **prof) as f, rasterio.open(land, "w", dtype="uint8",
                                                                                **prof) as g:
        for r in range(0, size, 2048):
            for c in range(0, size, 2048):
                h, w = min(2048, size - r), min(2048, size - c)
                f.write(base.image[:h, :w], 1, window=Window(c, r, w, h))
                g.write(base.land[:h, :w].astype(np.uint8), 1, window=Window(c, r, w, h))
    return scene, land


_PEAK = ("import atexit, sys\n"
         "def peak():\n"
         "    for line in open('/proc/self/status'):\n"
         "        if line.startswith('VmHWM:'):\n"
         "            sys.stderr.write(f'peak {line.split()[1]} kB\\n')\n"
         "atexit.register(peak)\n"
         "from aquila.cli.main import main\n"
         "sys.argv = ['aquila', *sys.argv[1:]]\n"
         "main()\n")
"""Runs the CLI and reports the process's own peak RSS (VmHWM) as it exits: the kernel's ru_maxrss of a child
started by vfork counts the parent's memory at exec (this script holds a scene in memory for the anchor)."""


def run_cli(scene: Path, land: Path, out: Path) -> tuple[float, float, str]:
    """(wall s, peak RSS GiB of the process, its summary line)."""
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", _PEAK, "detect", "ships", str(scene), "--land-mask", str(land),
                        "-o", str(out)], capture_output=True, text=True, env={**os.environ})
    wall = time.perf_counter() - t0
    if p.returncode:
        raise SystemExit(p.stderr)
    lines = p.stderr.strip().splitlines()
    peak = int(lines[-1].split()[1]) / 1024 / 1024
    return wall, peak, lines[-2]


def anchor(scene: Path, land: Path) -> float:
    import rasterio

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from ships import ca_cfar

    t0 = time.perf_counter()
    with rasterio.open(scene) as f, rasterio.open(land) as g:
        x, m, tr = f.read(1), g.read(1), f.transform
    ca_cfar(x, m, tr.to_gdal(), 13.0)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[8192, 20480])
    ap.add_argument("--dir", type=Path, help="where to write the scenes (default: a temporary directory)")
    ap.add_argument("--open-sea", action="store_true", help="mosaic a scene without coast (no land to buffer)")
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="aquila-ships-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    # the CLI compiles nothing on the clock: numba's cache is warmed by a first small run
    small, small_land = mosaic(work, 1024)
    run_cli(small, small_land, work / "warm.geojson")
    for size in args.sizes:
        scene, land = mosaic(work, size, coast=not args.open_sea)
        os.sync()  # a user's scene is on disk already: its write-back must not run on the clock
        mpix = size * size / 1e6
        walls = []
        for _ in range(3):
            wall, peak, line = run_cli(scene, land, work / f"ships_{size}.geojson")
            walls.append(wall)
        wall = sorted(walls)[1]  # the median of 3
        print(f"{size}^2 = {mpix:.0f} MPix: aquila detect ships {wall:.2f} s = {mpix / wall:.1f} MPix/s end to end, "
              f"peak RSS {peak:.2f} GiB  [{line}]")
        if mpix <= 70:
            a = anchor(scene, land)
            print(f"    CA-CFAR anchor (in process, read + filter + components): {a:.2f} s = {mpix / a:.1f} MPix/s")
        for p in (scene, land):
            p.unlink()


if __name__ == "__main__":
    main()
