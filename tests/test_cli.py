"""The CLI contract: JSON/CSV shapes, and one-line errors with exit code 2 for bad input."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC
from pathlib import Path

import pytest

from aquila.constellation.elements import tle_checksum

ISS = ("ISS (ZARYA)",
       "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927",
       "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537")
START, END = "2008-09-20T12:00:00Z", "2008-09-21T12:00:00Z"


def run(*args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if data_dir is not None:
        env["AQUILA_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "aquila", *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture()
def tle(tmp_path: Path) -> Path:
    p = tmp_path / "iss.tle"
    p.write_text("\n".join(ISS) + "\n")
    return p


@pytest.fixture()
def targets(tmp_path: Path) -> Path:
    p = tmp_path / "targets.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "paris", "properties": {},
         "geometry": {"type": "Point", "coordinates": [2.35, 48.85]}},
        {"type": "Feature", "properties": {"name": "baltic-box"},
         "geometry": {"type": "Polygon", "coordinates": [[[18, 56], [20, 56], [20, 57], [18, 57], [18, 56]]]}},
    ]}))
    return p


def test_passes_json_contract(tle: Path, targets: Path, tmp_path: Path) -> None:
    out = run("passes", "--tle", str(tle), "--targets", str(targets), "--start", START, "--end", END,
              "--min-elevation", "10", data_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["passes"], "the ISS passes over Paris and the Baltic within a day"
    for p in doc["passes"]:
        assert isinstance(p["norad_id"], int) and p["norad_id"] == 25544
        assert p["satellite"] == "ISS (ZARYA)"
        assert p["target"] in ("paris", "baltic-box")
        assert p["rise"].endswith("Z") and p["rise"] <= p["culmination"] <= p["set"]
        assert isinstance(p["max_elevation_deg"], float) and p["max_elevation_deg"] >= 10.0
    assert {p["target"] for p in doc["passes"]} == {"paris", "baltic-box"}


def test_passes_csv_and_output_file(tle: Path, targets: Path, tmp_path: Path) -> None:
    dest = tmp_path / "passes.csv"
    out = run("passes", "--tle", str(tle), "--targets", str(targets), "--start", START, "--end", END,
              "--format", "csv", "--output", str(dest), data_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(dest.read_text())))
    assert rows and set(rows[0]) >= {"norad_id", "satellite", "target", "rise", "culmination", "set",
                                     "max_elevation_deg"}
    assert out.stdout == ""


def test_access_and_revisit_with_builtin_constellation(targets: Path, tmp_path: Path) -> None:
    out = run("access", "--targets", str(targets), "--start", "2026-03-19T00:00:00Z", "--end",
              "2026-03-19T12:00:00Z", data_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["opportunities"] and doc["nominal_elements"] == doc["satellites"]
    o = doc["opportunities"][0]
    assert {"sensor", "min_off_nadir_deg", "best_gsd_m", "closest_approach"} <= set(o)
    png = tmp_path / "gain.png"
    out = run("revisit", "--targets", str(targets), "--start", "2026-03-19T00:00:00Z", "--end",
              "2026-03-20T00:00:00Z", "--format", "json", "--plot", str(png), data_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert {n["nation"] for n in doc["nations"]} >= {"FRA", "ITA", "DEU", "USA"}
    for n in doc["nations"]:
        assert n["pooled_worst_gap_h"] <= n["own_worst_gap_h"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_constellation_update_from_file_makes_satellites_tracked(tmp_path: Path) -> None:
    from datetime import datetime

    from sgp4.exporter import export_tle

    from aquila.constellation.builtin import BUILTIN_FACTS
    from aquila.constellation.nominal import nominal_elements

    f = BUILTIN_FACTS[0]
    es = nominal_elements(f.norad_id, f.name, datetime.now(UTC), f.altitude_km, f.inclination_deg, f.ltan_h)
    l1, l2 = export_tle(es.satrec)
    gp = tmp_path / "gp.tle"
    gp.write_text(f"{f.name}\n{l1}\n{l2}\n")
    out = run("constellation", "update", "--file", str(gp), data_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["updated"] == 1
    out = run("constellation", "show", str(f.norad_id), data_dir=tmp_path)
    assert json.loads(out.stdout)["elements"] == "tracked"
    out = run("constellation", "list", "--format", "json", data_dir=tmp_path)
    sats = json.loads(out.stdout)["satellites"]
    assert len(sats) == len(BUILTIN_FACTS)
    assert sum(s["elements"] == "tracked" for s in sats) == 1


def _bad(line: str, col: int, text: str, fix_checksum: bool = True) -> str:
    out = line[:col] + text + line[col + len(text):]
    return out[:68] + str(tle_checksum(out)) if fix_checksum else out


BAD_INPUTS = {
    "bad checksum": (lambda: "\n".join([ISS[0], ISS[1], ISS[2][:68] + "0"]), None, "checksum"),
    "truncated line": (lambda: "\n".join([ISS[0], ISS[1][:40], ISS[2]]), None, "truncated"),
    "impossible eccentricity": (lambda: "\n".join([ISS[0], ISS[1], _bad(ISS[2], 26, "9500000")]), None,
                                "eccentricity"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_tle_is_one_line_exit_2(case: str, targets: Path, tmp_path: Path) -> None:
    make, _, word = BAD_INPUTS[case]
    p = tmp_path / "bad.tle"
    p.write_text(make() + "\n")
    out = run("passes", "--tle", str(p), "--targets", str(targets), "--start", START, "--end", END,
              data_dir=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr
    assert str(p) in lines[0] and word in lines[0] and "expected" in lines[0]


@pytest.mark.parametrize("doc,word", [
    ({"type": "Feature", "geometry": {"type": "Point", "coordinates": [0, 0]}}, "FeatureCollection"),
    ({"type": "FeatureCollection", "features": [{"type": "Feature", "id": "bowtie", "geometry": {
        "type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}]}, "Self-intersection"),
    ({"type": "FeatureCollection", "features": [{"type": "Feature", "id": "far", "geometry": {
        "type": "Point", "coordinates": [200, 0]}}]}, "out of range"),
])
def test_bad_geojson_is_one_line_exit_2(doc: dict, word: str, tle: Path, tmp_path: Path) -> None:
    p = tmp_path / "t.geojson"
    p.write_text(json.dumps(doc))
    out = run("passes", "--tle", str(tle), "--targets", str(p), "--start", START, "--end", END, data_dir=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and word in lines[0] and str(p) in lines[0] and "expected" in lines[0]


@pytest.mark.parametrize("start,end,word", [
    ("2008-09-21T00:00:00Z", "2008-09-20T00:00:00Z", "--end"),
    ("2008-01-01T00:00:00Z", "2018-01-01T00:00:00Z", "days"),
    ("yesterday", "2008-09-20T00:00:00Z", "--start"),
])
def test_bad_time_window_is_one_line_exit_2(start: str, end: str, word: str, tle: Path, targets: Path,
                                            tmp_path: Path) -> None:
    out = run("passes", "--tle", str(tle), "--targets", str(targets), "--start", start, "--end", end,
              data_dir=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and word in lines[0] and "expected" in lines[0] and "Traceback" not in out.stderr


def test_stale_elements_warn_but_run(tle: Path, targets: Path, tmp_path: Path) -> None:
    out = run("passes", "--tle", str(tle), "--targets", str(targets), "--start", "2008-10-20T00:00:00Z",
              "--end", "2008-10-20T06:00:00Z", data_dir=tmp_path)
    assert out.returncode == 0
    assert "warning" in out.stderr and "days old" in out.stderr and "ISS (ZARYA)" in out.stderr
    json.loads(out.stdout)
