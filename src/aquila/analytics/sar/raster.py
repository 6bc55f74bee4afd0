"""SAR scenes as sources of windows: a GeoTIFF/COG read window by window, or an array in memory.

A scene must be georeferenced (a CRS and a transform) and single-band, or name its band; the land mask
is a raster file (1 = land; reprojected to each window's grid, nearest), `auto` (the `global-land-mask`
package: the GLOBE 1 km grid, sampled every ~250 m on the scene) or `none`. Reading by windows keeps
memory bounded by the tile size, whatever the scene's size.
"""

from __future__ import annotations

import math
import threading
import warnings
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from aquila.errors import InputError

__all__ = ["SceneSource", "RasterSource", "ArraySource", "LAND_MASKS", "DRIVER", "nodata_value"]

LAND_MASKS = ("auto", "none")
DRIVER = "GTiff"
"""The only format opened (COGs are GeoTIFFs): a VRT or any other GDAL format could name other files on the
host, which an uploaded asset must never reach."""


class SceneSource(Protocol):
    """A scene's grid and its windows (rows r0:r1, columns c0:c1): backscatter as float32, land as bool."""

    shape: tuple[int, int]
    transform: Any
    crs: Any
    nodata: float | None

    def read(self, r0: int, r1: int, c0: int, c1: int) -> tuple[np.ndarray, np.ndarray]: ...

    def close(self) -> None: ...


def _lonlat(transform: Any, crs: Any, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from rasterio.warp import transform as warp

    cc, rr = np.meshgrid(cols + 0.5, rows + 0.5)
    xs, ys = transform @ (cc.ravel(), rr.ravel())
    if crs.is_geographic:
        return np.asarray(xs).reshape(cc.shape), np.asarray(ys).reshape(cc.shape)
    lon, lat = warp(crs, "EPSG:4326", np.asarray(xs), np.asarray(ys))
    return np.asarray(lon).reshape(cc.shape), np.asarray(lat).reshape(cc.shape)


def _auto_land(transform: Any, crs: Any, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    from global_land_mask import globe

    px_m = math.hypot(transform.b, transform.e) * (111_320.0 if crs.is_geographic else 1.0)
    step = max(1, int(250.0 / max(px_m, 1e-9)))
    rows, cols = np.arange(r0, r1, step), np.arange(c0, c1, step)
    lon, lat = _lonlat(transform, crs, rows, cols)
    coarse = globe.is_land(np.clip(lat, -89.99, 89.99), (lon + 180.0) % 360.0 - 180.0)
    return np.repeat(np.repeat(coarse, step, axis=0), step, axis=1)[:r1 - r0, :c1 - c0]


def _open_land(path: str) -> Any:
    import rasterio
    from rasterio.errors import RasterioIOError

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path!r}", field="--land-mask", expected="a raster file (1 = land), auto or none")
    try:
        src = rasterio.open(p, driver=DRIVER)
    except RasterioIOError:
        raise InputError(f"{p.name!r} is not a GeoTIFF", field="--land-mask",
                         expected="a GeoTIFF (1 = land), auto or none") from None
    if src.crs is None:
        src.close()
        raise InputError(f"{p.name!r} has no coordinate reference system", field="--land-mask",
                         expected="a georeferenced raster")
    return src


def _file_land(src: Any, transform: Any, crs: Any, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    import rasterio
    from rasterio.warp import Resampling, reproject
    from rasterio.windows import Window
    from rasterio.windows import transform as window_transform

    lt = src.transform
    if src.crs == crs and lt.almost_equals(transform, precision=1e-12):  # the scene's own grid: a window
        out_b = np.zeros((r1 - r0, c1 - c0), bool)
        ra, rb, ca, cb = max(r0, 0), min(r1, src.height), max(c0, 0), min(c1, src.width)
        if ra < rb and ca < cb:
            block = src.read(1, window=Window(ca, ra, cb - ca, rb - ra))
            out_b[ra - r0:rb - r0, ca - c0:cb - c0] = block > 0.5 if block.dtype.kind == "f" else block > 0
        return out_b
    if src.crs == crs and lt.b == lt.d == 0 and transform.b == transform.d == 0:
        # same CRS, both north-up: nearest neighbour is an index per row and per column (no warp)
        rows = np.floor((transform.f + (np.arange(r0, r1) + 0.5) * transform.e - lt.f) / lt.e).astype(np.int64)
        cols = np.floor((transform.c + (np.arange(c0, c1) + 0.5) * transform.a - lt.c) / lt.a).astype(np.int64)
        out_b = np.zeros((r1 - r0, c1 - c0), bool)
        rin, cin = (rows >= 0) & (rows < src.height), (cols >= 0) & (cols < src.width)
        if rin.any() and cin.any():
            ra, rb = int(rows[rin].min()), int(rows[rin].max()) + 1
            ca, cb = int(cols[cin].min()), int(cols[cin].max()) + 1
            block = src.read(1, window=Window(ca, ra, cb - ca, rb - ra), out_dtype="float32")
            sub = np.nan_to_num(block[np.ix_(rows[rin] - ra, cols[cin] - ca)], nan=0.0) > 0.5
            out_b[np.ix_(rin, cin)] = sub
        return out_b
    out = np.zeros((r1 - r0, c1 - c0), np.float32)
    reproject(rasterio.band(src, 1), out, dst_transform=window_transform(Window(c0, r0, c1 - c0, r1 - r0), transform),
              dst_crs=crs, resampling=Resampling.nearest, dst_nodata=0)
    return np.nan_to_num(out, nan=0.0) > 0.5


class RasterSource:
    """One band of a GeoTIFF/COG and its land mask, read window by window (thread-safe)."""

    def __init__(self, path: str | Path, band: int | None = None, land_mask: str = "auto") -> None:
        import rasterio
        from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

        p = Path(path)
        if not p.is_file():
            raise InputError(f"{str(p)!r}: no such file", field="SCENE",
                             expected="a GeoTIFF or COG of SAR backscatter")
        try:
            with warnings.catch_warnings():  # a file without georeferencing is refused below, by name
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                src = rasterio.open(p, driver=DRIVER)
        except RasterioIOError:
            raise InputError(f"{p.name!r} is not a GeoTIFF", field="SCENE",
                             expected="a GeoTIFF or COG of calibrated backscatter") from None
        try:
            if src.count > 1 and band is None:
                raise InputError(f"{p.name!r} has {src.count} bands", field="--band",
                                 expected=f"--band 1..{src.count} (e.g. the VH or HH backscatter band)")
            self.band = band or 1
            if not 1 <= self.band <= src.count:
                raise InputError(f"band {self.band}", field="--band", expected=f"1..{src.count}")
            if src.crs is None or src.transform.is_identity:
                raise InputError(f"{p.name!r} has no coordinate reference system", field="SCENE",
                                 expected="a georeferenced raster (a CRS and a geotransform in the file)")
            self.land_mask = land_mask
            self._land = _open_land(land_mask) if land_mask not in LAND_MASKS else None
        except BaseException:
            src.close()
            raise
        self._src = src
        self.shape = (src.height, src.width)
        self.transform = src.transform
        self.crs = src.crs
        self.nodata = src.nodatavals[self.band - 1]
        self.path = str(p)
        # a GDAL dataset handle is not to be read from two threads at once: one pair of handles per thread,
        # so tiles decompress in parallel
        self._local = threading.local()
        self._local.handles = (src, self._land)
        self._opened: list[Any] = []
        self._lock = threading.Lock()

    def _handles(self) -> tuple[Any, Any]:
        h = getattr(self._local, "handles", None)
        if h is None:
            import rasterio

            h = (rasterio.open(self.path, driver=DRIVER),
                 rasterio.open(self.land_mask, driver=DRIVER) if self._land is not None else None)
            self._local.handles = h
            with self._lock:
                self._opened.append(h)
        return h

    def read(self, r0: int, r1: int, c0: int, c1: int) -> tuple[np.ndarray, np.ndarray]:
        from rasterio.windows import Window

        src, land_src = self._handles()
        x = src.read(self.band, window=Window(c0, r0, c1 - c0, r1 - r0), out_dtype="float32")
        if self.land_mask == "none":
            land = np.zeros(x.shape, bool)
        elif self.land_mask == "auto":
            land = _auto_land(self.transform, self.crs, r0, r1, c0, c1)
        else:
            land = _file_land(land_src, self.transform, self.crs, r0, r1, c0, c1)
        return x, land

    def close(self) -> None:
        for src, land in [(self._src, self._land), *self._opened]:
            src.close()
            if land is not None:
                land.close()


class ArraySource:
    """An image in memory (and its land mask, 1 = land) as a source of windows."""

    def __init__(self, image: np.ndarray, transform: Any, crs: Any, land: np.ndarray | None = None,
                 nodata: float | None = None) -> None:
        self._x = np.asarray(image)
        if self._x.ndim != 2:
            raise InputError(f"an array of shape {self._x.shape}", field="image", expected="a 2-D array")
        self._land = None if land is None else np.asarray(land)
        if self._land is not None and self._land.shape != self._x.shape:
            raise InputError(f"land mask of shape {self._land.shape}", field="land",
                             expected=f"the image's shape {self._x.shape}")
        self.shape = (int(self._x.shape[0]), int(self._x.shape[1]))
        self.transform = transform
        self.crs = crs
        self.nodata = nodata

    def read(self, r0: int, r1: int, c0: int, c1: int) -> tuple[np.ndarray, np.ndarray]:
        x = self._x[r0:r1, c0:c1].astype(np.float32, copy=False)
        land = np.zeros(x.shape, bool) if self._land is None else self._land[r0:r1, c0:c1].astype(bool)
        return x, land

    def close(self) -> None:
        pass


def nodata_value(nodata: Any) -> float | None:
    """A usable nodata value (None for none or NaN: NaN pixels are invalid anyway)."""
    if nodata is None:
        return None
    v = float(nodata)
    return None if math.isnan(v) else v
