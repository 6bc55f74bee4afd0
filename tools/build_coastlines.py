"""Build `src/aquila/data/coastlines.npz`: coastlines at 0.1 deg for maps, from the `global-land-mask` grid.

    .venv/bin/pip install global-land-mask==1.0.0 && .venv/bin/python tools/build_coastlines.py

The 1 km land mask (GLOBE, NOAA) is reduced to 0.1 deg cells (land if most of the cell is land) and
contoured at the land/sea edge; the lines (lon, lat degrees) ship with Aquila so maps draw coasts
offline, without the 1 GB mask at run time.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from global_land_mask import globe  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "src" / "aquila" / "data" / "coastlines.npz"
CELL = 12  # 1/120 deg mask cells per 0.1 deg


def main() -> None:
    mask = globe._mask  # (lat 21600 from -90 up, lon 43200 from -180)
    h, w = mask.shape[0] // CELL, mask.shape[1] // CELL
    frac = mask[: h * CELL, : w * CELL].reshape(h, CELL, w, CELL).mean(axis=(1, 3))
    lat = np.linspace(-90 + 0.05, 90 - 0.05, h)
    lon = np.linspace(-180 + 0.05, 180 - 0.05, w)
    if globe._lat[0] > globe._lat[-1]:  # the mask runs north to south
        frac, lat = frac[::-1], lat
    cs = plt.contour(lon, lat, frac, levels=[0.5])
    lines = [seg for seg in cs.allsegs[0] if len(seg) >= 8]  # drop specks
    xy = np.concatenate(lines).astype(np.float32)
    offsets = np.cumsum([0] + [len(s) for s in lines]).astype(np.int64)
    np.savez_compressed(OUT, xy=xy.round(3), offsets=offsets)
    print(f"{len(lines)} lines, {len(xy)} vertices -> {OUT} ({OUT.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
