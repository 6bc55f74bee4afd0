"""SAR scenes from GeoTIFF/COG files, and the land mask that goes with them.

A scene must be georeferenced (a CRS and a transform) and single-band, or name its band; the land mask
is a raster file (1 = land; reprojected to the scene's grid, nearest), `auto` (the `global-land-mask`
package: the GLOBE 1 km grid, sampled every ~250 m on the scene) or `none`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aquila.errors import InputError

__all__ = ["SarScene", "read_scene", "land_for", "LAND_MASKS"]

LAND_MASKS = ("auto", "none")


@dataclass
class SarScene:
    """One band of a georeferenced raster, as float32."""

    data: np.ndarray
    transform: Any
    crs: Any
    nodata: float | None
    path: str


def read_scene(path: str | Path, band: int | None = None) -> SarScene:
    """Read `band` (1-based) of a GeoTIFF/COG; a multi-band file needs `band`."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{str(p)!r}: no such file", field="SCENE", expected="a GeoTIFF or COG of SAR backscatter")
    try:
        with warnings.catch_warnings():  # a file without georeferencing is refused below, by name
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            src = rasterio.open(p)
    except RasterioIOError:
        raise InputError(f"{p.name!r} is not a raster rasterio can read", field="SCENE",
                         expected="a GeoTIFF or COG of calibrated backscatter") from None
    with src:
        if src.count > 1 and band is None:
            raise InputError(f"{p.name!r} has {src.count} bands", field="--band",
                             expected=f"--band 1..{src.count} (e.g. the VH or HH backscatter band)")
        b = band or 1
        if not 1 <= b <= src.count:
            raise InputError(f"band {b}", field="--band", expected=f"1..{src.count}")
        if src.crs is None or src.transform.is_identity:
            raise InputError(f"{p.name!r} has no coordinate reference system", field="SCENE",
                             expected="a georeferenced raster (a CRS and a geotransform in the file)")
        if src.transform.b != 0 or src.transform.d != 0:
            raise InputError(f"{p.name!r} is rotated", field="SCENE", expected="a north-up raster (no rotation)")
        data = src.read(b, out_dtype="float32")
        return SarScene(data, src.transform, src.crs, src.nodatavals[b - 1], str(p))


def _lonlat_grid(scene: SarScene, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from rasterio.warp import transform as warp

    cc, rr = np.meshgrid(cols + 0.5, rows + 0.5)
    xs, ys = scene.transform @ (cc.ravel(), rr.ravel())
    if scene.crs.is_geographic:
        return np.asarray(xs).reshape(cc.shape), np.asarray(ys).reshape(cc.shape)
    lon, lat = warp(scene.crs, "EPSG:4326", np.asarray(xs), np.asarray(ys))
    return np.asarray(lon).reshape(cc.shape), np.asarray(lat).reshape(cc.shape)


def land_for(scene: SarScene, spec: str) -> np.ndarray:
    """Land mask (bool, the scene's shape) from a file, `auto` or `none`."""
    h, w = scene.data.shape
    if spec == "none":
        return np.zeros((h, w), bool)
    if spec == "auto":
        from global_land_mask import globe

        px_m = abs(scene.transform.e) * (111_320.0 if scene.crs.is_geographic else 1.0)
        step = max(1, int(250.0 / max(px_m, 1e-9)))
        rows, cols = np.arange(0, h, step), np.arange(0, w, step)
        lon, lat = _lonlat_grid(scene, rows, cols)
        coarse = globe.is_land(np.clip(lat, -89.99, 89.99), (lon + 180.0) % 360.0 - 180.0)
        return np.repeat(np.repeat(coarse, step, axis=0), step, axis=1)[:h, :w]
    return _land_from_file(scene, spec)


def _land_from_file(scene: SarScene, path: str) -> np.ndarray:
    import rasterio
    from rasterio.errors import RasterioIOError
    from rasterio.warp import Resampling, reproject

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path!r}", field="--land-mask", expected="a raster file (1 = land), auto or none")
    try:
        src = rasterio.open(p)
    except RasterioIOError:
        raise InputError(f"{p.name!r} is not a raster", field="--land-mask",
                         expected="a raster file (1 = land), auto or none") from None
    with src:
        if src.crs is None:
            raise InputError(f"{p.name!r} has no coordinate reference system", field="--land-mask",
                             expected="a georeferenced raster")
        out = np.zeros(scene.data.shape, np.float32)
        reproject(rasterio.band(src, 1), out, dst_transform=scene.transform, dst_crs=scene.crs,
                  resampling=Resampling.nearest, dst_nodata=0)
    if math.isnan(float(out.max(initial=0))):
        raise InputError(f"{p.name!r} holds no values", field="--land-mask", expected="1 on land, 0 at sea")
    return out > 0.5
