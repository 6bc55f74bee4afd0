"""Synthetic SAR scenes with ground truth, for tests, training, benchmarks and the demo.

A scene is calibrated backscatter (linear sigma0) on a lon/lat grid:

    sea    = mean(incidence) * texture * speckle
    texture: correlated gamma of shape `shape` (mean 1): with speckle this is K-distributed clutter,
             heavy-tailed for small shapes (1.5), nearly gamma for large ones (10+)
    speckle: gamma of `looks` looks (exponential for single look)
    mean:  sigma0 falling with incidence across the range axis (columns), -0.25 dB/deg from 20 to 45 deg

plus land (coasts and islands, bright and rough, with strong point scatterers), wind and rain patches
(smooth regions of +2..+7 dB), and ships: 20-400 m extended targets made of a few fluctuating
scatterers, each ship's mean pixel intensity `scr_db` above the local sea mean. Bright ships carry a
sidelobe cross (sinc^2 along range and azimuth, first sidelobe -13 dB) and azimuth ambiguities
(ghosts displaced along azimuth, -20..-26 dB). Some ships come in close pairs and an anchorage cluster.

Everything follows from the seed: the same seed gives the same scene, byte for byte.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Ship", "Distractor", "Scene", "SceneSpec", "synthesize", "ship_footprint", "write_scene"]

_M_PER_DEG = 111_320.0


@dataclass(frozen=True)
class Ship:
    """A true ship: its centre (pixel and lon/lat), size, heading and signal-to-clutter ratio."""

    row: float
    col: float
    lon_deg: float
    lat_deg: float
    length_m: float
    width_m: float
    heading_deg: float
    scr_db: float
    group: str = "single"  # single | pair | anchorage


@dataclass(frozen=True)
class Distractor:
    """Something bright that is not a ship: a sidelobe arm, an azimuth ambiguity, a wind or rain patch."""

    kind: str
    row: float
    col: float
    lon_deg: float
    lat_deg: float


@dataclass(frozen=True)
class SceneSpec:
    """What to make. `shape` is the K texture shape (None: pure gamma speckle, no texture)."""

    seed: int = 0
    size_px: int = 1024
    pixel_m: float = 10.0
    centre_lon_deg: float = 19.5
    centre_lat_deg: float = 57.5
    shape: float | None = 3.0
    looks: int = 1
    texture_px: float = 4.0
    ships: int = 30
    scr_db: tuple[float, float] = (0.0, 20.0)
    length_m: tuple[float, float] = (20.0, 400.0)
    land: bool = True
    patches: int = 2
    pairs: int = 2
    anchorage: bool = True
    incidence_deg: tuple[float, float] = (20.0, 45.0)


@dataclass
class Scene:
    """Image (linear sigma0, float32), land mask (1 = land), the geotransform and the truth."""

    spec: SceneSpec
    image: np.ndarray
    land: np.ndarray
    sea_mean: np.ndarray
    transform: tuple[float, float, float, float, float, float]  # GDAL order: x0, dx, 0, y0, 0, dy
    ships: list[Ship] = field(default_factory=list)
    distractors: list[Distractor] = field(default_factory=list)

    def lonlat(self, row: float, col: float) -> tuple[float, float]:
        x0, dx, _, y0, _, dy = self.transform
        return x0 + (col + 0.5) * dx, y0 + (row + 0.5) * dy


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """Zero-mean, unit-variance Gaussian noise correlated over ~sigma_px."""
    from scipy.ndimage import gaussian_filter

    z = gaussian_filter(rng.standard_normal(shape), sigma_px, mode="wrap")
    return (z - z.mean()) / (z.std() + 1e-12)


def _gamma_texture(rng: np.random.Generator, shape: tuple[int, int], nu: float, sigma_px: float) -> np.ndarray:
    """Correlated gamma texture of shape nu and mean 1 (Gaussian copula: correlated normals -> gamma quantiles)."""
    from scipy.special import gammaincinv, ndtr

    u = np.clip(ndtr(_smooth_noise(rng, shape, sigma_px)), 1e-7, 1 - 1e-7)
    return (gammaincinv(nu, u) / nu).astype(np.float32)


def _land(rng: np.random.Generator, n: int) -> np.ndarray:
    """A coast entering from one side, and a few islands."""
    from scipy.ndimage import binary_opening

    yy, xx = np.mgrid[0:n, 0:n] / n
    side = rng.integers(4)
    d = [xx, 1 - xx, yy, 1 - yy][side]
    coast = d + 0.06 * _smooth_noise(rng, (n, n), n / 30) < rng.uniform(0.12, 0.22)
    islands = np.zeros((n, n), bool)
    for _ in range(rng.integers(1, 4)):
        cy, cx = rng.uniform(0.25, 0.75, 2)
        r = rng.uniform(0.02, 0.05)
        islands |= np.hypot(yy - cy, xx - cx) + 0.01 * _smooth_noise(rng, (n, n), n / 60) < r
    return binary_opening(coast | islands, iterations=2)


def ship_footprint(length_px: float, width_px: float, heading_deg: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(drow, dcol, along, inside) on the square grid around an oriented ship's centre: the pixels of its
    rectangle are `inside`; `along` is each pixel's offset along the hull (px)."""
    half_l, half_w = max(length_px / 2, 0.5), max(width_px / 2, 0.5)
    r = int(math.ceil(math.hypot(half_l, half_w))) + 1
    dr, dc = np.mgrid[-r:r + 1, -r:r + 1]
    h = math.radians(heading_deg)
    along = -dr * math.cos(h) + dc * math.sin(h)  # heading clockwise from north (row axis points south)
    across = dr * math.sin(h) + dc * math.cos(h)
    inside = (np.abs(along) <= half_l + 0.5) & (np.abs(across) <= half_w + 0.5)
    if not inside.any():
        inside[r, r] = True
    return dr, dc, along, inside


def _ship_pixels(rng: np.random.Generator, length_px: float, width_px: float, heading_deg: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(drow, dcol, weight) of an oriented ship: a rectangle of a few fluctuating scatterers, mean weight 1."""
    dr, dc, along, inside = ship_footprint(length_px, width_px, heading_deg)
    half_l = max(length_px / 2, 0.5)
    n_scat = max(2, int(length_px / 3))
    centres = rng.uniform(-half_l, half_l, n_scat)
    amp = rng.exponential(1.0, n_scat)  # Swerling-like fluctuation of each scatterer
    w = np.zeros(dr.shape)
    for c, a in zip(centres, amp, strict=True):
        w += a * np.exp(-0.5 * ((along - c) / max(1.0, half_l / n_scat)) ** 2)
    w = np.where(inside, 0.3 + w, 0.0)
    sel = w > 0
    weights = w[sel] / w[sel].mean()
    return dr[sel], dc[sel], weights


def synthesize(spec: SceneSpec = SceneSpec()) -> Scene:
    """Make the scene `spec` describes (deterministic in its seed)."""
    rng = np.random.default_rng(spec.seed)
    n = int(spec.size_px)
    if not 64 <= n <= 20_000:
        raise ValueError(f"size_px must be 64..20000, not {n}")
    inc = np.linspace(*spec.incidence_deg, n)
    mean_db = -15.0 - 0.25 * (inc - spec.incidence_deg[0])
    sea_mean = np.tile((10 ** (mean_db / 10)).astype(np.float32), (n, 1))
    patches: list[tuple[float, float, str]] = []
    yy, xx = np.mgrid[0:n, 0:n]
    for _ in range(spec.patches):
        cy, cx = rng.uniform(0.15 * n, 0.85 * n, 2)
        ry, rx = rng.uniform(0.05 * n, 0.15 * n, 2)
        gain_db = rng.uniform(2.0, 7.0)
        bump = np.exp(-0.5 * (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2) ** 2)
        sea_mean *= (10 ** (gain_db * bump / 10)).astype(np.float32)
        patches.append((cy, cx, "wind" if gain_db < 4.5 else "rain"))
    texture = _gamma_texture(rng, (n, n), spec.shape, spec.texture_px) if spec.shape else np.ones((n, n), np.float32)
    speckle = rng.gamma(spec.looks, 1.0 / spec.looks, (n, n)).astype(np.float32)
    image = sea_mean * texture * speckle
    land = _land(rng, n) if spec.land else np.zeros((n, n), bool)
    if land.any():
        land_tex = _gamma_texture(rng, (n, n), 1.0, 2.0) * rng.gamma(spec.looks, 1.0 / spec.looks, (n, n))
        image = np.where(land, np.float32(10 ** (-8 / 10)) * land_tex, image).astype(np.float32)
        k = np.flatnonzero(land.ravel())
        bright = rng.choice(k, size=min(len(k), n * n // 4000 + 1), replace=False)
        image.ravel()[bright] *= np.float32(10 ** 2.5)  # buildings, harbour cranes

    dlat = spec.pixel_m / _M_PER_DEG
    dlon = spec.pixel_m / (_M_PER_DEG * math.cos(math.radians(spec.centre_lat_deg)))
    transform = (spec.centre_lon_deg - n / 2 * dlon, dlon, 0.0, spec.centre_lat_deg + n / 2 * dlat, 0.0, -dlat)
    scene = Scene(spec, image, land.astype(np.uint8), sea_mean, transform)
    for cy, cx, kind in patches:
        scene.distractors.append(Distractor(kind, cy, cx, *scene.lonlat(cy, cx)))

    from scipy.ndimage import distance_transform_edt

    sea_dist = distance_transform_edt(~land) if land.any() else np.full((n, n), float(n))
    margin = 12 + int(450 / spec.pixel_m)

    def free(r: float, c: float, clearance_px: float) -> bool:
        if not (margin <= r < n - margin and margin <= c < n - margin) or sea_dist[int(r), int(c)] < clearance_px:
            return False
        return all(math.hypot(r - s.row, c - s.col) > 4 + (s.length_m / spec.pixel_m) for s in scene.ships)

    placements: list[tuple[float, float, str]] = []
    tries = 0
    while len(placements) < spec.ships and tries < 50 * spec.ships:
        tries += 1
        r, c = rng.uniform(margin, n - margin, 2)
        placements.append((r, c, "single"))
    # close pairs (50-150 m apart) and an anchorage (5-8 ships in a few km, near the coast)
    extra: list[tuple[float, float, str]] = []
    for _ in range(spec.pairs):
        r, c = rng.uniform(margin, n - margin, 2)
        a = rng.uniform(0, 2 * math.pi)
        d = rng.uniform(50, 150) / spec.pixel_m + 8
        extra += [(r, c, "pair"), (r + d * math.sin(a), c + d * math.cos(a), "pair")]
    if spec.anchorage:
        r0, c0 = rng.uniform(margin, n - margin, 2)
        for _ in range(int(rng.integers(5, 9))):
            extra.append((r0 + rng.normal(0, 25), c0 + rng.normal(0, 25), "anchorage"))
    for r, c, group in placements + extra:
        length = float(np.exp(rng.uniform(*np.log(spec.length_m))))
        if group != "single":
            length = min(length, 150.0)
        if not free(r, c, 6 + length / spec.pixel_m):
            continue
        width = length / rng.uniform(5.5, 8.0)
        heading = float(rng.uniform(0, 360))
        scr_db = float(rng.uniform(*spec.scr_db))
        dr, dc, w = _ship_pixels(rng, length / spec.pixel_m, width / spec.pixel_m, heading)
        rr, cc = (int(round(r)) + dr), (int(round(c)) + dc)
        local = float(sea_mean[int(r), int(c)])
        target = local * 10 ** (scr_db / 10) * w * rng.gamma(spec.looks, 1.0 / spec.looks, len(w))
        image[rr, cc] = np.maximum(image[rr, cc], target.astype(np.float32))
        ship = Ship(round(float(r), 2), round(float(c), 2), *scene.lonlat(r, c), round(length, 1),
                    round(width, 1), round(heading, 1), round(scr_db, 2), group)
        scene.ships.append(ship)
        peak_db = scr_db + 10 * math.log10(float(w.max()))
        if peak_db > 17:
            _sidelobes(scene, rng, int(round(r)), int(round(c)), local * 10 ** (peak_db / 10))
        if scr_db > 14 and rng.uniform() < 0.7:
            _ambiguity(scene, rng, rr, cc, target)
    return scene


def _sidelobes(scene: Scene, rng: np.random.Generator, r: int, c: int, peak: float) -> None:
    """A sinc^2 cross through the brightest point, along range (row) and azimuth (column)."""
    n = scene.image.shape[0]
    arm = 40
    k = np.arange(1, arm + 1)
    lobes = (np.sinc(k + 0.5) ** 2 / np.sinc(0.0) ** 2) * peak * 10 ** (rng.uniform(-1, 1) / 10)
    for sign in (-1, 1):
        rows = np.clip(r + sign * k, 0, n - 1)
        cols = np.clip(c + sign * k, 0, n - 1)
        scene.image[rows, c] = np.maximum(scene.image[rows, c], lobes.astype(np.float32))
        scene.image[r, cols] = np.maximum(scene.image[r, cols], lobes.astype(np.float32))
    scene.distractors.append(Distractor("sidelobe", float(r), float(c), *scene.lonlat(r, c)))


def _ambiguity(scene: Scene, rng: np.random.Generator, rr: np.ndarray, cc: np.ndarray, target: np.ndarray) -> None:
    """Ghosts of a bright ship displaced along azimuth (rows here), 20-26 dB down."""
    n = scene.image.shape[0]
    shift = int(rng.uniform(120, 260))
    for sign in (-1, 1):
        r2 = rr + sign * shift
        if r2.min() < 0 or r2.max() >= n or scene.land[r2, cc].any():
            continue
        ghost = target * 10 ** (-rng.uniform(20, 26) / 10)
        scene.image[r2, cc] = np.maximum(scene.image[r2, cc], ghost.astype(np.float32))
        rm, cm = float(r2.mean()), float(cc.mean())
        scene.distractors.append(Distractor("ambiguity", rm, cm, *scene.lonlat(rm, cm)))


def write_scene(scene: Scene, out_dir: str | Path) -> dict[str, Path]:
    """scene.tif (float32 sigma0, EPSG:4326), land.tif (uint8), truth.geojson (ships and distractors)."""
    import rasterio
    from rasterio.transform import Affine

    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    x0, dx, _, y0, _, dy = scene.transform
    profile: dict[str, Any] = {"driver": "GTiff", "height": scene.image.shape[0], "width": scene.image.shape[1],
                               "count": 1, "crs": "EPSG:4326", "transform": Affine(dx, 0, x0, 0, dy, y0),
                               "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "deflate"}
    paths = {"scene": d / "scene.tif", "land": d / "land.tif", "truth": d / "truth.geojson"}
    with rasterio.open(paths["scene"], "w", dtype="float32", **profile) as f:
        f.write(scene.image, 1)
        f.update_tags(units="sigma0 (linear)", seed=str(scene.spec.seed))
    with rasterio.open(paths["land"], "w", dtype="uint8", **profile) as f:
        f.write(scene.land, 1)
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [s.lon_deg, s.lat_deg]},
              "properties": {"kind": "ship", **asdict(s)}} for s in scene.ships]
    feats += [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [x.lon_deg, x.lat_deg]},
               "properties": asdict(x)} for x in scene.distractors]
    paths["truth"].write_text(json.dumps({"type": "FeatureCollection", "features": feats,
                                          "aquila:scene": asdict(scene.spec)}, indent=1) + "\n")
    return paths
