"""Fusion of SAR detections with AIS: identities, dark vessels and unseen AIS, on a synthetic scene with
simulated AIS (the truth says which ships are dark), plus the gate and the azimuth-shift allowance."""

from __future__ import annotations

import math

import numpy as np
import shapely

from aquila.analytics.ais import AisData, Vessel
from aquila.analytics.ais.simulate import simulate_ais
from aquila.analytics.fusion import FusionConfig, fuse
from aquila.analytics.sar import SceneSpec, synthesize
from aquila.analytics.sar.detect import detect_array
from aquila.analytics.sar.evaluate import score

T = 1_773_914_400.0  # 2026-03-19T10:00:00Z


def test_dark_vessels_and_unseen_ais_on_a_synthetic_scene() -> None:
    scene = synthesize(SceneSpec(seed=31, size_px=1024, scr_db=(12.0, 20.0)))  # ships the detector sees
    ais, dark = simulate_ais(scene, T, seed=1, dark_share=0.3, spoofed=3)
    found = detect_array(scene.image, scene.transform, "EPSG:4326", scene.land)
    dets = [{"lon": c.lon_deg, "lat": c.lat_deg, "length_m": c.length_m} for c in found.ships]
    w, n = scene.lonlat(0, 0)
    e, s = scene.lonlat(*scene.image.shape)
    result = fuse(dets, ais, T, shapely.box(w, s, e, n))
    # which truth ship each detection is (xView3 matching), and so whether it should be dark
    truth = [{"lon": x.lon_deg, "lat": x.lat_deg} for x in scene.ships]
    from scipy.optimize import linear_sum_assignment

    from aquila.analytics.geo import great_circle_m

    d = great_circle_m(np.array([x["lon"] for x in dets]), np.array([x["lat"] for x in dets]),
                       np.array([t["lon"] for t in truth]), np.array([t["lat"] for t in truth]))
    rows, cols = linear_sum_assignment(np.where(d < 200, d, 1e9))
    right = total = 0
    for r, c in zip(rows, cols, strict=True):
        if d[r, c] >= 200:
            continue
        total += 1
        f = result.detections[r]
        right += f.dark == (c in dark) and (f.dark or f.mmsi == 230_000_000 + c)
    assert total >= 15 and right / total >= 0.9, (right, total)
    unseen = {u["mmsi"] for u in result.unseen}
    assert {240_000_000, 240_000_001, 240_000_002} <= unseen  # spoofed positions where no ship is
    assert score(dets, truth)["recall"] > 0.8


def test_gate_and_the_azimuth_shift_of_moving_ships() -> None:
    # one vessel reporting at the image time, 10 m/s; a detection 900 m away along its track
    v_kn = 10 / (1852 / 3600)
    ais = AisData.from_columns([1], [T], [0.0], [0.0], [v_kn], [90.0], vessels={1: Vessel(1, "A", 70, 100.0)})
    away = math.degrees(900 / 6_371_008.8)
    det = [{"lon": away, "lat": 0.0, "length_m": 100.0}]
    assert fuse(det, ais, T, config=FusionConfig(range_over_velocity_s=0.0)).detections[0].dark  # no shift: too far
    # 10 m/s x 115 s = 1150 m of possible azimuth shift: the pair is allowed
    assert fuse(det, ais, T).detections[0].mmsi == 1
    # a stationary vessel 900 m away is not the detection
    still = AisData.from_columns([1], [T], [0.0], [0.0], [0.0], [90.0])
    assert fuse(det, still, T).detections[0].dark
    # one-to-one: two detections near one vessel, the nearer one gets it
    two = [{"lon": 0.0, "lat": 0.0}, {"lon": math.degrees(60 / 6_371_008.8), "lat": 0.0}]
    r = fuse(two, still, T)
    assert r.detections[0].mmsi == 1 and r.detections[1].dark


def test_real_ais_identities_come_back() -> None:
    """MarineCadastre positions: detections made where 30 real vessels are (50 m off), and 5 where none is."""
    from aquila.analytics.ais import read_ais
    from aquila.analytics.ais.tracks import positions_at
    from conftest import shared_path

    ais = read_ais(shared_path("ais", "noaa_marinecadastre_2023-01-01_sample.csv"))
    t = float(np.median(ais.time_s))
    placed = positions_at(ais, t, max_gap_s=600)
    rng = np.random.default_rng(4)
    pick = rng.choice(len(placed), size=min(30, len(placed)), replace=False)
    off = np.degrees(50 / 6_371_008.8)
    dets = [{"lon": float(placed.lon_deg[k]) + off, "lat": float(placed.lat_deg[k])} for k in pick]
    dets += [{"lon": -40.0 - k, "lat": 0.0} for k in range(5)]  # mid-Atlantic: nobody reports there
    r = fuse(dets, ais, t)
    got = [f.mmsi for f in r.detections]
    assert got[:len(pick)] == [int(placed.mmsi[k]) for k in pick] and got[len(pick):] == [None] * 5


def test_cli_fuse(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json
    import os
    import subprocess
    import sys

    det = tmp_path / "d.geojson"
    det.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [19.5, 57.5]}, "properties": {"length_m": 90}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [19.9, 57.9]}, "properties": {}}]}))
    ais = tmp_path / "a.jsonl"
    ais.write_text(json.dumps({"mmsi": 7, "time": "2026-03-19T09:59:00Z", "lat": 57.5, "lon": 19.5, "sog_kn": 0,
                               "name": "HERE", "length_m": 95}) + "\n" +
                   json.dumps({"mmsi": 8, "time": "2026-03-19T10:00:00Z", "lat": 57.7, "lon": 19.7, "sog_kn": 0})
                   + "\n")
    foot = tmp_path / "f.geojson"
    foot.write_text(json.dumps({"type": "Polygon", "coordinates": [[[19, 57], [20, 57], [20, 58], [19, 58],
                                                                     [19, 57]]]}))
    run = [sys.executable, "-m", "aquila", "fuse", "--detections", str(det), "--ais", str(ais), "--time",
           "2026-03-19T10:00:00Z", "--footprint", str(foot)]
    out = subprocess.run(run, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    first, second, unseen = doc["features"]
    assert first["properties"]["ais"]["mmsi"] == 7 and first["properties"]["ais"]["name"] == "HERE"
    assert second["properties"]["dark"] is True and unseen["properties"]["kind"] == "ais-unseen"
    assert unseen["properties"]["mmsi"] == 8 and "1 dark" in out.stderr
    (tmp_path / "empty.nmea").write_text("\n")
    bad = subprocess.run([*run[:7], str(tmp_path / "empty.nmea"), *run[8:]], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "--ais" in bad.stderr and "empty" in bad.stderr


def test_length_model_agrees_with_real_sar_ais_matches() -> None:
    """Global Fishing Watch's RADARSAT-2 detections matched to AIS (../shared/data/detections): the SAR lengths
    scatter around the AIS ones as the fusion's length term assumes — at least 90 % within 3 sigma. (The
    dark share itself, 86 of 493, needs the AIS tracks the paper matched against, which the data lacks.)"""
    import csv

    from aquila.analytics.fusion import length_term
    from conftest import shared_path

    with open(shared_path("detections", "all_detections_and_vessels.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    pairs = np.array([(float(r["sar_length"]), float(r["gfw_length"])) for r in rows
                      if r["ssvid"] and r["sar_length"] and r["gfw_length"]])
    assert len(pairs) == 407 and len({r["detect_id"] for r in rows if not r["ssvid"]}) == 86
    term = length_term(pairs[:, 0], pairs[:, 1])
    assert float(np.mean(term <= 9.0)) >= 0.9 and float(np.median(term)) < 1.0
