"""Ship detection in calibrated SAR backscatter: K-CFAR prescreen, clustering, discrimination.

    detect_array(image, transform, crs)       an image in memory (tests, synthetic scenes)
    detect_file(path, land_mask="auto")       a GeoTIFF/COG of any size, read in overlapping tiles

Steps, each a small module: `cfar` flags pixels above the local K-distribution threshold (at full
resolution and averaged over 3 x 3, for dim extended ships); `targets` groups them into candidates
and measures each (position, length, width, heading, peak and mean signal-to-clutter ratio); the
discrimination here rejects sidelobe arms, azimuth ambiguities, wind/rain patches and anything
within the land buffer. The scene is cut into tiles (2048 px and a margin as wide as the background
ring) processed on two threads (the kernels release the GIL); each tile keeps the candidates whose
centre lies in its core, so none is found twice. The scene itself is read whole for now (about 5
bytes per pixel with its masks); reading tiles through rasterio windows, for scenes larger than
memory, is the next step.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from aquila.analytics.sar import cfar, kdist
from aquila.analytics.sar.targets import Candidate, measure_candidates
from aquila.errors import InputError

__all__ = ["DetectorConfig", "Detections", "detect_array", "detect_file", "estimate_looks"]

_M_PER_DEG = 111_320.0


@dataclass(frozen=True)
class DetectorConfig:
    """Detector settings; the defaults suit 1-20 m pixels and ships of 20-400 m."""

    pfa: float = 1e-7
    guard_m: float = 250.0
    background_m: float = 600.0
    land_buffer_m: float | None = None  # sea this close to land is not tested: 150 m, 1 km with the coarse `auto`
    tile_px: int = 2048
    looks: float | None = None  # estimated from the scene when None
    censor_factor: float = 15.0
    min_fill: float = 0.1  # least share of the ring that must be valid sea
    workers: int = 2
    discriminate: bool = True


@dataclass
class Detections:
    """Ships found, candidates rejected (with their reason), and what the run measured."""

    ships: list[Candidate]
    rejected: list[Candidate] = field(default_factory=list)
    pixels: int = 0
    pixel_m: tuple[float, float] = (0.0, 0.0)
    looks: float = 1.0
    land_share: float = 0.0

    def as_geojson(self) -> dict[str, Any]:
        """A FeatureCollection of Points (lon/lat, EPSG:4326) with length_m, heading_deg, scr_db, confidence."""
        return {"type": "FeatureCollection", "features": [c.feature() for c in self.ships]}


def estimate_looks(x: np.ndarray, valid: np.ndarray, window: int = 8) -> float:
    """Equivalent number of looks: mean^2/variance over the most homogeneous 8 x 8 windows (90th percentile)."""
    h, w = (s // window * window for s in x.shape)
    if h == 0 or w == 0:
        return 1.0
    blocks = x[:h, :w].reshape(h // window, window, w // window, window).swapaxes(1, 2).reshape(-1, window * window)
    ok = valid[:h, :w].reshape(h // window, window, w // window, window).swapaxes(1, 2).reshape(-1, window * window)
    full = ok.all(axis=1)
    if full.sum() < 20:
        return 1.0
    b = blocks[full].astype(np.float64)
    enl = b.mean(axis=1) ** 2 / np.maximum(b.var(axis=1), 1e-30)
    return float(np.clip(np.percentile(enl, 90), 1.0, 64.0))


def _pixel_m(transform: Any, crs: Any, lat_deg: float) -> tuple[float, float]:
    """(row, column) pixel size in metres."""
    dx, dy = abs(transform.a), abs(transform.e)
    if crs is not None and getattr(crs, "is_geographic", False):
        return dy * _M_PER_DEG, dx * _M_PER_DEG * max(math.cos(math.radians(lat_deg)), 1e-3)
    return dy, dx


def _curve(looks: float, pfa: float) -> tuple[np.ndarray, np.ndarray]:
    lnu, _, _, _ = kdist._table()
    return lnu.copy(), np.log(kdist.threshold_factor(np.exp(lnu), looks, pfa))


def _block_median(x: np.ndarray, valid: np.ndarray, block: int = 64) -> np.ndarray:
    """The median of the valid pixels of each 64 x 64 block, spread back to the pixels (for censoring)."""
    h, w = x.shape
    out = np.empty((h, w), np.float32)
    for i in range(0, h, block):
        for j in range(0, w, block):
            v = x[i:i + block, j:j + block][valid[i:i + block, j:j + block]]
            out[i:i + block, j:j + block] = np.median(v) if v.size else np.inf
    return out


def _detect_tile(x: np.ndarray, valid: np.ndarray, core: tuple[int, int, int, int], px_m: tuple[float, float],
                 cfg: DetectorConfig, looks1: float, looks3: float, land_dist_m: np.ndarray
                 ) -> list[Candidate]:
    """Candidates whose centre lies in the tile's core (row0, row1, col0, col1) — tile coordinates."""
    step = min(px_m)
    guard = max(2, int(math.ceil(cfg.guard_m / step)))
    outer = guard + max(4, int(math.ceil(cfg.background_m / step)))
    censor = valid & (x < cfg.censor_factor * _block_median(x, valid))
    masks, bgs = [], []
    for k, looks in ((1, looks1), (3, looks3)):
        img = x if k == 1 else cfar.box_mean(x, valid, 3)
        ok = valid if k == 1 else valid & np.isfinite(img)
        s1, s2, n = cfar.integral_images(img, censor & ok)
        ln_nu, ln_t = _curve(looks, cfg.pfa)
        pre = float(np.exp(ln_t.min())) * 0.999
        det, bg = cfar.cfar_test(img, ok, s1, s2, n, guard, outer, looks, ln_nu, ln_t, cfg.min_fill, pre,
                                 (max(0, core[0] - 2 * guard), min(x.shape[0], core[1] + 2 * guard)),
                                 (max(0, core[2] - 2 * guard), min(x.shape[1], core[3] + 2 * guard)))
        masks.append(det)
        bgs.append(bg)
    return measure_candidates(x, masks[0] | masks[1], np.maximum(bgs[0], bgs[1]), core, px_m, land_dist_m)


def _land_distance_m(land: np.ndarray, px_m: tuple[float, float]) -> np.ndarray:
    from scipy.ndimage import distance_transform_edt

    if not land.any():
        return np.full(land.shape, np.inf, np.float32)
    return distance_transform_edt(~land, sampling=px_m).astype(np.float32)


def _prepare(x: np.ndarray, db: bool, nodata: float | None) -> tuple[np.ndarray, np.ndarray]:
    x = x.astype(np.float32, copy=False)
    valid = np.isfinite(x)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        valid &= x != nodata
    if db:
        with np.errstate(over="ignore", invalid="ignore"):
            x = np.where(valid, np.power(np.float32(10.0), x / np.float32(10.0)), np.nan).astype(np.float32)
    valid &= x > 0
    return x, valid


def _discriminate(cands: list[Candidate], cfg: DetectorConfig) -> tuple[list[Candidate], list[Candidate]]:
    """Reject sidelobe arms, azimuth ambiguities, patches and near-land clutter; the rest are ships."""
    if not cands:
        return [], []
    from scipy.spatial import cKDTree

    rc = np.array([[c.row, c.col] for c in cands])
    peak = np.array([c.peak for c in cands])
    tree = cKDTree(rc)
    ships: list[Candidate] = []
    rejected: list[Candidate] = []
    for a, c in enumerate(cands):
        reason = ""
        if c.land_distance_m < _land_buffer_m(cfg):
            reason = "land"
        elif c.pixels > 40 and c.scr_db < 4.0 and c.peak_scr_db < 9.0:
            reason = "patch"
        else:
            for b in tree.query_ball_point(rc[a], 600.0):
                if b == a or peak[b] < peak[a] * 10.0:
                    continue
                d_row, d_col = abs(rc[b, 0] - rc[a, 0]), abs(rc[b, 1] - rc[a, 1])
                near = math.hypot(d_row, d_col)
                if near <= 60 and (d_row <= 2.5 or d_col <= 2.5):
                    reason = "sidelobe"
                    break
                if peak[b] >= peak[a] * 10 ** 1.5 and 60 <= max(d_row, d_col) <= 600 and min(d_row, d_col) <= 4:
                    reason = "ambiguity"
                    break
        (rejected if reason and cfg.discriminate else ships).append(replace(c, rejected=reason) if reason else c)
    return ships, rejected


def detect_array(image: np.ndarray, transform: Any, crs: Any = "EPSG:4326", land: np.ndarray | None = None,
                 config: DetectorConfig = DetectorConfig(), db: bool = False, nodata: float | None = None
                 ) -> Detections:
    """Detect ships in an in-memory image (linear sigma0 unless `db`); `land` is 1 on land, 0 at sea."""
    from rasterio.crs import CRS
    from rasterio.transform import Affine

    _check_config(config)
    tr = transform if isinstance(transform, Affine) else Affine.from_gdal(*transform)
    crs_obj = CRS.from_user_input(crs) if crs is not None else None
    x, valid = _prepare(np.asarray(image), db, nodata)
    h, w = x.shape
    lat_c = (tr @ (w / 2, h / 2))[1]
    px_m = _pixel_m(tr, crs_obj, lat_c)
    land_b = np.zeros((h, w), bool) if land is None else np.asarray(land).astype(bool)
    land_dist = _land_distance_m(land_b, px_m)
    sea = valid & (land_dist >= _land_buffer_m(config))
    looks = config.looks or estimate_looks(x, sea)
    looks3 = config.looks * 9 if config.looks else estimate_looks(cfar.box_mean(x, sea, 3), sea)
    cands: list[Candidate] = []
    t = config.tile_px
    step = min(px_m)
    pad = int(math.ceil((config.guard_m * 3 + config.background_m) / step)) + 4
    jobs = []
    for r0 in range(0, h, t):
        for c0 in range(0, w, t):
            a0, a1, b0, b1 = max(0, r0 - pad), min(h, r0 + t + pad), max(0, c0 - pad), min(w, c0 + t + pad)
            core = (r0 - a0, min(h, r0 + t) - a0, c0 - b0, min(w, c0 + t) - b0)
            jobs.append((a0, b0, x[a0:a1, b0:b1], sea[a0:a1, b0:b1], core, land_dist[a0:a1, b0:b1]))
    with ThreadPoolExecutor(max_workers=max(1, config.workers)) as pool:
        futures = [(a0, b0, pool.submit(_detect_tile, xt, vt, core, px_m, config, looks, looks3, ld))
                   for a0, b0, xt, vt, core, ld in jobs]
        for a0, b0, f in futures:
            cands += [c.shifted(a0, b0) for c in f.result()]
    cands = [c.located(tr, crs_obj) for c in cands]
    ships, rejected = _discriminate(cands, config)
    return Detections(ships, rejected, int(valid.sum()), px_m, looks, float(land_b.mean()) if land_b.size else 0.0)


def _land_buffer_m(cfg: DetectorConfig) -> float:
    """Pixels closer to land than this are not tested (the land buffer, metres)."""
    return 150.0 if cfg.land_buffer_m is None else cfg.land_buffer_m


def detect_file(path: str | Path, land_mask: str = "auto", db: bool = False, band: int | None = None,
                config: DetectorConfig = DetectorConfig()) -> Detections:
    """Detect ships in a GeoTIFF/COG: `land_mask` is a raster file (1 = land, reprojected to the scene),
    `auto` (the global-land-mask package) or `none`."""
    from aquila.analytics.sar.raster import land_for, read_scene

    scene = read_scene(path, band=band)
    land = land_for(scene, land_mask)
    if land_mask == "auto" and config.land_buffer_m is None:  # the 1 km GLOBE grid: a coast is only that sure
        config = replace(config, land_buffer_m=1000.0)
    return detect_array(scene.data, scene.transform, scene.crs, land, config, db=db, nodata=scene.nodata)


def _check_config(cfg: DetectorConfig) -> None:
    if not 1e-10 <= cfg.pfa <= 1e-2:
        raise InputError(f"{cfg.pfa}", field="pfa", expected="a false-alarm rate between 1e-10 and 1e-2")
