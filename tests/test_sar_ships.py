"""SAR ship detection on synthetic scenes with ground truth, the K thresholds, xView3 scoring, the CLI contract
and bad input. Figures asserted here are measured ones (docs/benchmarks.md), not aspirations: the issue's
F1 >= 0.9 at SCR >= 6 dB needs the learned discriminator that comes next."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from aquila.analytics.sar import SceneSpec, synthesize
from aquila.analytics.sar.detect import detect_array
from aquila.analytics.sar.evaluate import score
from aquila.analytics.sar.kdist import shape_from_moments, threshold_factor

RUN = [sys.executable, "-m", "aquila"]


def _truth(scene) -> list[dict]:  # type: ignore[no-untyped-def]
    return [{"lon": s.lon_deg, "lat": s.lat_deg, **asdict(s)} for s in scene.ships]


def _pred(found) -> list[dict]:  # type: ignore[no-untyped-def]
    return [{"lon": c.lon_deg, "lat": c.lat_deg, "length_m": c.length_m} for c in found.ships]


def test_synthesis_is_deterministic_and_k_distributed() -> None:
    spec = SceneSpec(seed=3, size_px=512, shape=3.0, looks=1, ships=0, pairs=0, anchorage=False, land=False,
                     patches=0)
    a, b = synthesize(spec), synthesize(spec)
    assert np.array_equal(a.image, b.image)
    x = (a.image / a.sea_mean).astype(np.float64)  # clutter over its mean: K of shape 3, one look
    assert abs(x.mean() - 1) < 0.05
    # E[I^2]/E[I]^2 = (1 + 1/L)(1 + 1/nu) = 2 * 4/3 for K clutter
    assert abs((x * x).mean() / x.mean() ** 2 - 8 / 3) / (8 / 3) < 0.08
    assert 2.0 < float(shape_from_moments(np.array([x.mean()]), np.array([(x * x).mean()]), 1.0)[0]) < 4.5


def test_k_thresholds_hold_their_false_alarm_rate_by_monte_carlo() -> None:
    rng = np.random.default_rng(0)
    n = 4_000_000
    for nu, looks in ((3.0, 1), (1.5, 1), (8.0, 4)):
        x = rng.gamma(nu, 1 / nu, n) * rng.gamma(looks, 1 / looks, n)
        for pfa in (1e-3, 1e-4):
            rate = float((x > threshold_factor(np.array([nu]), looks, pfa)[0]).mean())
            assert pfa / 1.35 < rate < pfa * 1.35, (nu, looks, pfa, rate)


def test_false_alarms_on_ship_free_sea() -> None:
    """Per 100 km^2 of open sea with wind/rain patches, 1024 x 1024 px at 10 m (104.9 km^2 each)."""
    area = 1024 * 1024 * 100 / 1e6
    for shape, most in ((None, 1.0), (3.0, 1.0), (10.0, 1.0), (1.5, 10.0)):
        s = synthesize(SceneSpec(seed=11, size_px=1024, shape=shape, ships=0, pairs=0, anchorage=False,
                                 land=False, patches=2))
        found = detect_array(s.image, s.transform, "EPSG:4326", s.land)
        assert len(found.ships) * 100 / area <= most, (shape, len(found.ships))


def test_recall_per_scr_bin_and_precision_across_clutter_families() -> None:
    tp = fp = fn = 0
    bins: dict[tuple, list[int]] = {}
    # four seeds: a seed places its ships alike in every family, so with two one anchorage ship missed in three
    # families moved the >= 15 dB bin by 5 % (61 ships)
    for seed in (20, 21, 22, 23):
        for shape in (None, 1.5, 3.0, 10.0):
            s = synthesize(SceneSpec(seed=seed, size_px=768, shape=shape))
            r = score(_pred(detect_array(s.image, s.transform, "EPSG:4326", s.land)), _truth(s))
            tp, fp, fn = tp + r["tp"], fp + r["fp"], fn + r["fn"]
            for b in r["recall_by_scr"]:
                acc = bins.setdefault(tuple(b["scr_db"]), [0, 0])
                acc[0] += b["truth"]
                acc[1] += b["found"]
    recall = {lo: found / max(truth, 1) for (lo, _), (truth, found) in bins.items()}
    assert recall[15.0] >= 0.95 and recall[10.0] >= 0.7 and recall[None] <= 0.2  # 0-3 dB ships are clutter
    assert tp / (tp + fp) >= 0.8


def test_scoring_is_one_to_one_within_200_m() -> None:
    truth = [{"lon": 19.5, "lat": 57.5, "length_m": 100.0}]
    near = 199.0 / 111_195.0  # degrees of latitude
    two = [{"lon": 19.5, "lat": 57.5 + near, "length_m": 120.0}, {"lon": 19.5, "lat": 57.5, "length_m": 90.0}]
    r = score(two, truth)
    assert (r["tp"], r["fp"], r["fn"]) == (1, 1, 0) and r["median_match_distance_m"] == 0.0
    assert r["median_relative_length_error"] == 0.1
    far = [{"lon": 19.5, "lat": 57.5 + 201.0 / 111_195.0}]
    assert score(far, truth)["tp"] == 0 and score([], truth)["recall"] == 0.0


def _aquila(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RUN, *args], capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={**os.environ, "AQUILA_DATA_DIR": str(cwd / "data")})


def test_cli_synth_detect_evaluate(tmp_path: Path) -> None:
    out = _aquila("synth", "sar", "--seed", "5", "--size", "768", "--out", "s", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    det = _aquila("detect", "ships", "s/scene.tif", "--land-mask", "s/land.tif", "-o", "d.geojson", cwd=tmp_path)
    assert det.returncode == 0, det.stderr
    doc = json.loads((tmp_path / "d.geojson").read_text())
    assert doc["type"] == "FeatureCollection" and doc["features"]
    props = doc["features"][0]["properties"]
    assert {"length_m", "heading_deg", "scr_db", "confidence"} <= set(props) and 0 <= props["confidence"] <= 1
    lon, lat = doc["features"][0]["geometry"]["coordinates"]
    assert 19.0 < lon < 20.0 and 57.0 < lat < 58.0  # EPSG:4326, around the scene's centre
    ev = _aquila("evaluate", "ships", "--pred", "d.geojson", "--truth", "s/truth.geojson", cwd=tmp_path)
    r = json.loads(ev.stdout, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))
    assert ev.returncode == 0 and r["tp"] > 0 and r["recall_by_scr"][0]["scr_db"] == [None, 3.0]
    csv_out = _aquila("detect", "ships", "s/scene.tif", "--land-mask", "s/land.tif", "-o", "d.csv", cwd=tmp_path)
    assert csv_out.returncode == 0
    assert len((tmp_path / "d.csv").read_text().splitlines()) == len(doc["features"]) + 1
    # the same scene in dB with --db finds the same ships
    import rasterio

    with rasterio.open(tmp_path / "s/scene.tif") as src:
        profile, data = src.profile, src.read(1)
    with rasterio.open(tmp_path / "db.tif", "w", **profile) as dst:
        dst.write((10 * np.log10(data)).astype("float32"), 1)
    in_db = _aquila("detect", "ships", "db.tif", "--db", "--land-mask", "s/land.tif", cwd=tmp_path)
    assert in_db.returncode == 0 and len(json.loads(in_db.stdout)["features"]) == len(doc["features"])


def test_bad_scenes_get_one_clear_line(tmp_path: Path) -> None:
    import rasterio
    from rasterio.transform import Affine

    (tmp_path / "notes.txt").write_text("not a raster")
    r = _aquila("detect", "ships", "notes.txt", cwd=tmp_path)
    assert r.returncode == 2 and "SCENE" in r.stderr and "Traceback" not in r.stderr
    two = {"driver": "GTiff", "height": 200, "width": 200, "count": 2, "dtype": "float32", "crs": "EPSG:4326",
           "transform": Affine(1e-4, 0, 19.0, 0, -1e-4, 58.0)}
    with rasterio.open(tmp_path / "two.tif", "w", **two) as f:
        f.write(np.ones((2, 200, 200), np.float32))
    r = _aquila("detect", "ships", "two.tif", "--land-mask", "none", cwd=tmp_path)
    assert r.returncode == 2 and "--band" in r.stderr
    assert _aquila("detect", "ships", "two.tif", "--band", "2", "--land-mask", "none", cwd=tmp_path).returncode == 0
    import warnings

    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(tmp_path / "nocrs.tif", "w", driver="GTiff", height=100, width=100, count=1,
                           dtype="float32") as f:
            f.write(np.ones((100, 100), np.float32), 1)
    r = _aquila("detect", "ships", "nocrs.tif", cwd=tmp_path)
    assert r.returncode == 2 and "coordinate reference system" in r.stderr
    # NaN and nodata regions, and a scene entirely on land: no crash, no ships there
    s = synthesize(SceneSpec(seed=8, size_px=512))
    img = s.image.copy()
    img[:, :256] = np.nan
    found = detect_array(img, s.transform, "EPSG:4326", s.land)
    assert all(c.col >= 256 for c in found.ships + found.rejected)
    assert detect_array(s.image, s.transform, "EPSG:4326", np.ones_like(s.land)).ships == []


def test_distance_to_land_and_box_mean_equal_scipy() -> None:
    from scipy.ndimage import distance_transform_edt, uniform_filter

    from aquila.analytics.sar.cfar import box_mean
    from aquila.analytics.sar.landdist import distance_to_land_m

    rng = np.random.default_rng(4)
    for _ in range(40):
        h, w = (int(v) for v in rng.integers(1, 70, 2))
        land = rng.random((h, w)) < rng.choice([0.002, 0.03, 0.3, 0.8])
        sy, sx = (float(v) for v in rng.uniform(0.5, 25, 2))
        cap = float(rng.uniform(1, 800))
        got = distance_to_land_m(land, (sy, sx), cap)
        if land.any():
            ref = distance_transform_edt(~land, sampling=(sy, sx))
            want = np.where(ref <= cap, ref, np.inf)
            assert np.all(np.isclose(got, want, rtol=1e-5, atol=1e-3) | (np.isinf(got) & np.isinf(want)))
        else:
            assert np.isinf(got).all()
        x = rng.random((h, w)).astype(np.float32)
        v = rng.random((h, w)) < 0.8
        k = int(rng.choice([3, 5]))
        s = uniform_filter(np.where(v, x, 0).astype(np.float64), k, mode="constant")
        n = uniform_filter(v.astype(np.float64), k, mode="constant")
        want_m = np.where(v, s / np.maximum(n, 1e-12), np.nan)
        assert np.allclose(box_mean(x, v, k), want_m, equal_nan=True, rtol=1e-4, atol=1e-6)


def test_tiles_read_from_the_file_find_what_the_whole_image_finds(tmp_path: Path) -> None:
    """Windowed reading and tiling are invisible: small tiles from the GeoTIFF, one tile in memory, same ships."""
    from dataclasses import replace

    from aquila.analytics.sar.detect import DetectorConfig, detect_file
    from aquila.analytics.sar.synth import write_scene

    s = synthesize(SceneSpec(seed=8, size_px=1024, shape=3.0, ships=40))
    paths = write_scene(s, tmp_path)
    cfg = DetectorConfig(looks=1.0)
    whole = detect_array(s.image, s.transform, "EPSG:4326", s.land, replace(cfg, tile_px=4096))
    tiled = detect_file(paths["scene"], land_mask=str(paths["land"]), config=replace(cfg, tile_px=300))
    a = sorted((round(c.row, 1), round(c.col, 1)) for c in whole.ships)
    b = sorted((round(c.row, 1), round(c.col, 1)) for c in tiled.ships)
    assert a == b and len(a) >= 20


def test_clusters_equal_scipy_closing_and_labels() -> None:
    """The sparse compiled clustering gives scipy's whole-array 5 x 5 closing + 8-connected labels, in the same
    order, on sparse speckle, dense patches, ships with gaps and pixels at the tile's edge."""
    from scipy.ndimage import binary_closing, label

    from aquila.analytics.sar.cluster import cluster_flagged

    rng = np.random.default_rng(11)
    for trial in range(60):
        h, w = (int(v) for v in rng.integers(1, 120, 2))
        f = rng.random((h, w)) < rng.choice([0.0005, 0.01, 0.05, 0.2])
        for _ in range(int(rng.integers(0, 4))):  # ship-like blobs with holes
            r, c = int(rng.integers(0, h)), int(rng.integers(0, w))
            f[r:r + int(rng.integers(1, 12)), c:c + int(rng.integers(1, 30))] |= rng.random() < 0.7
        joined = binary_closing(f, structure=np.ones((5, 5), bool)) | f
        labels, n = label(joined, structure=np.ones((3, 3), int))
        want = [set(zip(*np.nonzero((labels == k) & f), strict=True)) for k in range(1, n + 1)]
        want = [s for s in want if s]
        rr, cc, starts = cluster_flagged(f)
        got = [set(zip(rr[a:z].tolist(), cc[a:z].tolist(), strict=True)) for a, z in itertools.pairwise(starts)]
        assert [sorted(g) for g in got] == sorted([sorted(s) for s in want], key=lambda s: s[0]), trial
        assert all(list(rr[a:z] * w + cc[a:z]) == sorted(rr[a:z] * w + cc[a:z]) for a, z in itertools.pairwise(starts))


def test_cfar_test_lists_the_flagged_pixels_row_major() -> None:
    """The prescreen's pixel lists are the mask's pixels in np.nonzero's order, sparse or (past the lists'
    capacity) dense."""
    from aquila.analytics.sar.cfar import cfar_test

    rng = np.random.default_rng(5)
    for share in (1e-4, 0.02, 0.6):
        x = rng.random((300, 280)).astype(np.float32)
        x3 = rng.random((300, 280)).astype(np.float32)
        valid = rng.random((300, 280)) < 0.9
        b = 4
        thr = np.full((75, 70), 1.0 - share, np.float32)
        mean = rng.random((75, 70)).astype(np.float32) - 0.05
        det, rr, cc = cfar_test(x, x3, valid, thr, thr, mean, b, (3, 290), (0, 275))
        want = valid & ((x > 1 - share) | (x3 > 1 - share)) & (np.repeat(np.repeat(mean, b, 0), b, 1)[:300, :280] > 0)
        want[:3], want[290:], want[:, 275:] = False, False, False
        assert np.array_equal(det, want)
        wr, wc = np.nonzero(want)
        assert np.array_equal(rr, wr) and np.array_equal(cc, wc)


def test_batch_settings_take_on_glibc() -> None:
    """The one-shot commands keep freed memory in the process (glibc's mallopt) and a small GDAL cache; run in a
    child so this test process keeps its own allocator settings."""
    code = ("import os, platform; from aquila.analytics.batch import tune_for_batch; ok = tune_for_batch(); "
            "print(ok, os.environ['GDAL_CACHEMAX'], platform.libc_ver()[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={k: v for k, v in os.environ.items() if k != "GDAL_CACHEMAX"}).stdout.split()
    assert out[1] == "256"
    assert out[0] == str(out[2] == "glibc")
