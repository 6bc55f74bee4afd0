"""Ship detection in calibrated SAR backscatter: K-CFAR prescreen, clustering, discrimination.

    detect_array(image, transform, crs)       an image in memory (tests, synthetic scenes)
    detect_file(path, land_mask="auto")       a GeoTIFF/COG of any size, read in overlapping tiles

Steps, each a small module: `cfar` flags pixels above the local K-distribution threshold (at full resolution
and averaged over 3 x 3, for dim extended ships); `targets` groups them into candidates and measures each
(position, length, width, heading, peak and mean signal-to-clutter ratio); the discrimination here rejects
sidelobe arms, azimuth ambiguities, wind/rain patches and anything within the land buffer; for the learned
one, each candidate's image chip is cut in its tile (kept as float16, 1.2 kB a candidate, until the
discriminator's screen has decided which ones the chip scorer needs to see). The scene is cut into tiles (5120
px on the 64-px grid of the censoring medians, with a margin as wide as the background ring or the land
buffer, so no result depends on the tiling), each read through a rasterio window with its land mask and
processed on two threads (the kernels release the GIL; at most three tiles are in memory, whatever the scene's
size); each tile keeps the candidates whose centre lies in its core, so none is found twice. The looks are
estimated once, from 9 windows spread over the scene.
One-shot commands also set `aquila.analytics.batch.tune_for_batch`.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

from aquila.analytics.sar import cfar, kdist
from aquila.analytics.sar.chipnet import CHIP_MIN_PIXEL_M
from aquila.analytics.sar.chips import cut_chips
from aquila.analytics.sar.discriminate import discriminate, load_model
from aquila.analytics.sar.landdist import distance_to_land_m
from aquila.analytics.sar.raster import ArraySource, RasterSource, SceneSource, nodata_value
from aquila.analytics.sar.targets import Candidate, locate, measure_candidates
from aquila.errors import InputError

__all__ = ["DetectorConfig", "Detections", "detect_array", "detect_file", "estimate_looks", "prescreen_pfa",
           "DISCRIMINATORS"]

DISCRIMINATORS = ("model", "rules", "none")

_M_PER_DEG = 111_320.0


@dataclass(frozen=True)
class DetectorConfig:
    """Detector settings; the defaults suit 1-20 m pixels and ships of 20-400 m."""

    pfa: float | None = None
    """Prescreen false-alarm rate; None: the discriminator's own (1e-7 with rules, the model's trained one)."""
    guard_m: float = 250.0
    background_m: float = 600.0
    land_buffer_m: float | None = None  # sea this close to land is not tested: 150 m, 1 km with the coarse `auto`
    tile_px: int = 5120
    looks: float | None = None  # estimated from the scene when None
    censor_factor: float = 15.0
    min_fill: float = 0.1  # least share of the ring that must be valid sea
    workers: int = 2
    discriminator: str = "model"
    """"model" (the learned discriminator), "rules" (hand-set thresholds) or "none" (land buffer only)."""
    keep_chips: bool = False
    """Keep each candidate's image chip on it (training the chip scorer); otherwise chips live only in their tile."""


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


def _enl(x: np.ndarray, valid: np.ndarray, window: int = 8) -> np.ndarray:
    """mean^2/variance of each fully valid window x window block."""
    h, w = (s // window * window for s in x.shape)
    if h == 0 or w == 0:
        return np.zeros(0)
    blocks = x[:h, :w].reshape(h // window, window, w // window, window).swapaxes(1, 2).reshape(-1, window * window)
    ok = valid[:h, :w].reshape(h // window, window, w // window, window).swapaxes(1, 2).reshape(-1, window * window)
    b = blocks[ok.all(axis=1)].astype(np.float64)
    return np.asarray(b.mean(axis=1) ** 2 / np.maximum(b.var(axis=1), 1e-30)) if len(b) else np.zeros(0)


def estimate_looks(x: np.ndarray, valid: np.ndarray, window: int = 8) -> float:
    """Equivalent number of looks: mean^2/variance over the most homogeneous 8 x 8 windows (90th percentile)."""
    return _looks_of(_enl(x, valid, window))


def _looks_of(enl: np.ndarray) -> float:
    return 1.0 if enl.size < 20 else float(np.clip(np.percentile(enl, 90), 1.0, 64.0))


def _pixel_m(transform: Any, crs: Any, lat_deg: float) -> tuple[float, float]:
    """(row, column) pixel size in metres."""
    dx, dy = math.hypot(transform.a, transform.d), math.hypot(transform.b, transform.e)  # rotated grids too
    if crs is not None and getattr(crs, "is_geographic", False):
        return dy * _M_PER_DEG, dx * _M_PER_DEG * max(math.cos(math.radians(lat_deg)), 1e-3)
    return dy, dx


def _curve(looks: float, pfa: float) -> tuple[np.ndarray, np.ndarray]:
    lnu, _, _, _ = kdist._table()
    if not np.allclose(np.diff(lnu), lnu[1] - lnu[0]):  # the compiled lookup indexes it directly
        raise AssertionError("the K threshold table must be uniform in ln nu (tools/build_kcfar_table.py)")
    return lnu.copy(), np.log(kdist.threshold_factor(np.exp(lnu), looks, pfa))


def _ring(px_m: tuple[float, float], cfg: DetectorConfig) -> tuple[int, int, int, int]:
    """(guard px, outer px, block px, min ring count): the ring's geometry at this pixel size."""
    step = min(px_m)
    guard = max(2, int(math.ceil(cfg.guard_m / step)))
    outer = guard + max(4, int(math.ceil(cfg.background_m / step)))
    b = max(4, int(math.ceil(outer / 32)))
    g_blk, o_blk = int(math.ceil(guard / b)), int(math.ceil(outer / b))
    ring_px = ((2 * o_blk + 1) ** 2 - (2 * g_blk + 1) ** 2) * b * b
    return g_blk, o_blk, b, max(16, int(cfg.min_fill * ring_px))


def _detect_tile(x: np.ndarray, valid: np.ndarray, core: tuple[int, int, int, int], px_m: tuple[float, float],
                 cfg: DetectorConfig, looks1: float, looks3: float, land_dist_m: np.ndarray
                 ) -> list[Candidate]:
    """Candidates whose centre lies in the tile's core (row0, row1, col0, col1) — tile coordinates."""
    g_blk, o_blk, b, min_count = _ring(px_m, cfg)
    guard = g_blk * b
    x3 = cfar.box_mean(x, valid, 3)
    med = cfar.block_median(x, valid, 64)
    s1, s2, s2_3, n, mx1, mx3 = cfar.block_sums(x, x3, valid, med, 64, cfg.censor_factor, b)
    ln_nu, ln_t1 = _curve(looks1, prescreen_pfa(cfg))
    _, ln_t3 = _curve(looks3, prescreen_pfa(cfg))
    thr1, thr3, mean, shape, shape3 = cfar.ring_thresholds(s1, s2, s2_3, n, mx1, mx3, g_blk, o_blk, float(min_count),
                                                   looks1, looks3, ln_nu, ln_t1, ln_t3)
    det, rr, cc = cfar.cfar_test(x, x3, valid, thr1, thr3, mean, b,
                         (max(0, core[0] - 2 * guard), min(x.shape[0], core[1] + 2 * guard)),
                         (max(0, core[2] - 2 * guard), min(x.shape[1], core[3] + 2 * guard)))
    cands = measure_candidates(x, det, mean, core, px_m, land_dist_m, (thr1, shape, b, x3, shape3), (rr, cc))
    scored = cfg.discriminator == "model" and min(px_m) >= CHIP_MIN_PIXEL_M
    if cands and (scored or cfg.keep_chips):  # chips are cut from the tile's pixels: the tile does not outlive it
        chips = cut_chips(x, valid, np.array([c.row for c in cands]), np.array([c.col for c in cands]),
                          np.array([c.background for c in cands]))
        if not cfg.keep_chips:  # until the screen has decided which to score: half the memory, <= 0.02 dB off
            chips = chips.astype(np.float16)
        for c, chip in zip(cands, chips, strict=True):
            c.chip = chip
    return cands


@njit(cache=True, nogil=True)
def _prepare(raw: np.ndarray, land: np.ndarray, land_dist: np.ndarray, nodata: np.float32, has_nodata: bool, db: bool,
             buffer_m: float, core: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray, int, int]:
    """One pass: (backscatter, linear, NaN where not valid; sea = valid, not land, beyond the land buffer;
    valid pixels in the core; land pixels in the core). Valid: finite, not nodata (given as float32, so it
    compares as the pixels do), above 0 (after dB -> linear)."""
    h, w = raw.shape
    x = np.empty((h, w), np.float32)
    sea = np.empty((h, w), np.bool_)
    nan = np.float32(np.nan)
    ten = np.float32(10.0)
    buf = np.float32(buffer_m)
    for i in range(h):
        for j in range(w):
            v = raw[i, j]
            if db:
                v = ten ** (v / ten)
            ok = np.isfinite(v) and v > 0 and not (has_nodata and raw[i, j] == nodata)
            x[i, j] = v if ok else nan
            sea[i, j] = ok and not land[i, j] and land_dist[i, j] >= buf
    n_valid = n_land = 0
    for i in range(core[0], core[1]):
        for j in range(core[2], core[3]):
            n_valid += 0 if np.isnan(x[i, j]) else 1
            n_land += 1 if land[i, j] else 0
    return x, sea, n_valid, n_land


def _prepare_tile(src: SceneSource, win: tuple[int, int, int, int], db: bool, nodata: float | None,
                  px_m: tuple[float, float], buffer_m: float, core: tuple[int, int, int, int] | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """(backscatter, sea = valid and beyond the land buffer, distance to land m, valid and land pixels in the
    `core` (tile coordinates; the whole window when None)) of one window."""
    raw, land = src.read(*win)
    land_dist = distance_to_land_m(land, px_m, buffer_m + 2 * max(px_m))
    has_nodata = nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata))
    core = core or (0, raw.shape[0], 0, raw.shape[1])
    x, sea, n_valid, n_land = _prepare(raw.astype(np.float32, copy=False), np.ascontiguousarray(land, np.bool_),
                                       land_dist, np.float32(nodata if has_nodata else 0.0), has_nodata, db,
                                       float(buffer_m), core)
    return x, sea, land_dist, n_valid, n_land


def _sample_looks(src: SceneSource, db: bool, nodata: float | None, px_m: tuple[float, float],
                  buffer_m: float) -> tuple[float, float]:
    """Looks of the scene and of its 3 x 3 mean, from 9 windows of 512 px spread over it (the whole scene
    when it is small)."""
    h, w = src.shape
    if h * w <= 4_000_000:
        wins = [(0, h, 0, w)]
    else:
        rs = np.linspace(0, max(0, h - 512), 3).astype(int)
        cs = np.linspace(0, max(0, w - 512), 3).astype(int)
        wins = [(int(r), min(h, int(r) + 512), int(c), min(w, int(c) + 512)) for r in rs for c in cs]
    e1, e3 = [], []
    for win in wins:
        x, sea, _, _, _ = _prepare_tile(src, win, db, nodata, px_m, buffer_m)
        e1.append(_enl(x, sea))
        e3.append(_enl(cfar.box_mean(x, sea, 3), sea))
    return _looks_of(np.concatenate(e1)), _looks_of(np.concatenate(e3))


def _scan(src: SceneSource, config: DetectorConfig, db: bool) -> Detections:
    """Detect over the scene in overlapping tiles read one by one: memory follows the tile, not the scene."""
    from rasterio.crs import CRS
    from rasterio.transform import Affine

    _check_config(config)
    tr = src.transform if isinstance(src.transform, Affine) else Affine.from_gdal(*src.transform)
    crs = src.crs if src.crs is None or isinstance(src.crs, CRS) else CRS.from_user_input(src.crs)
    h, w = src.shape
    px_m = _pixel_m(tr, crs, (tr @ (w / 2, h / 2))[1])
    buffer_m = _land_buffer_m(config)
    nodata = nodata_value(src.nodata)
    if config.looks:
        looks, looks3 = config.looks, config.looks * 9
    else:
        looks, looks3 = _sample_looks(src, db, nodata, px_m, buffer_m)
    g_blk, o_blk, b, _ = _ring(px_m, config)
    # tiles and their margins on the 64-px grid of the censoring medians (and so of the ring's blocks): a
    # pixel's statistics do not depend on which tile it is read in
    align = 64 * b // math.gcd(64, b)
    pad = max((2 * g_blk + o_blk + 2) * b + 64,  # the tested margin around a core, and its ring
              int(math.ceil(buffer_m / min(px_m))) + 2)
    pad = -(-pad // align) * align
    t = max(align, config.tile_px // align * align)

    def tile(r0: int, c0: int) -> tuple[list[Candidate], int, int]:
        a0, a1, b0, b1 = max(0, r0 - pad), min(h, r0 + t + pad), max(0, c0 - pad), min(w, c0 + t + pad)
        core = (r0 - a0, min(h, r0 + t) - a0, c0 - b0, min(w, c0 + t) - b0)
        x, sea, land_dist, n_valid, land_px = _prepare_tile(src, (a0, a1, b0, b1), db, nodata, px_m, buffer_m, core)
        cands = _detect_tile(x, sea, core, px_m, config, looks, looks3, land_dist)
        return [c.shifted(a0, b0) for c in cands], n_valid, land_px

    cands: list[Candidate] = []
    pixels = land_px = 0
    starts = [(r0, c0) for r0 in range(0, h, t) for c0 in range(0, w, t)]
    workers = max(1, config.workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: list[Any] = []
        for r0, c0 in starts:
            pending.append(pool.submit(tile, r0, c0))
            while len(pending) > workers or (pending and (r0, c0) == starts[-1]):  # <= workers + 1 in memory
                found, px, lp = pending.pop(0).result()
                cands += found
                pixels += px
                land_px += lp
    locate(cands, tr, crs)
    ships, rejected = discriminate(cands, px_m, buffer_m, config.discriminator)
    if not config.keep_chips:
        for c in cands:
            c.chip = None
    return Detections(ships, rejected, pixels, px_m, looks, land_px / max(1, h * w))


def detect_array(image: np.ndarray, transform: Any, crs: Any = "EPSG:4326", land: np.ndarray | None = None,
                 config: DetectorConfig = DetectorConfig(), db: bool = False, nodata: float | None = None
                 ) -> Detections:
    """Detect ships in an in-memory image (linear sigma0 unless `db`); `land` is 1 on land, 0 at sea."""
    return _scan(ArraySource(image, transform, crs, land, nodata), config, db)


def _land_buffer_m(cfg: DetectorConfig) -> float:
    """Pixels closer to land than this are not tested (the land buffer, metres)."""
    return 150.0 if cfg.land_buffer_m is None else cfg.land_buffer_m


def detect_file(path: str | Path, land_mask: str = "auto", db: bool = False, band: int | None = None,
                config: DetectorConfig = DetectorConfig()) -> Detections:
    """Detect ships in a GeoTIFF/COG, read in tiles: `land_mask` is a raster file (1 = land, reprojected to
    the scene), `auto` (the global-land-mask package) or `none`."""
    if land_mask == "auto" and config.land_buffer_m is None:  # the 1 km GLOBE grid: a coast is only that sure
        config = replace(config, land_buffer_m=1000.0)
    src = RasterSource(path, band, land_mask)
    try:
        return _scan(src, config, db)
    finally:
        src.close()


def prescreen_pfa(cfg: DetectorConfig) -> float:
    """The prescreen's false-alarm rate: the configured one, else the discriminator's own."""
    if cfg.pfa is not None:
        return cfg.pfa
    return load_model().pfa if cfg.discriminator == "model" else 1e-7


def _check_config(cfg: DetectorConfig) -> None:
    if cfg.discriminator not in DISCRIMINATORS:
        raise InputError(f"{cfg.discriminator!r}", field="discriminator", expected=" or ".join(DISCRIMINATORS))
    if cfg.pfa is not None and not 1e-10 <= cfg.pfa <= 1e-2:
        raise InputError(f"{cfg.pfa}", field="pfa", expected="a false-alarm rate between 1e-10 and 1e-2")
