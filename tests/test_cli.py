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


def test_stale_elements_warn_in_one_line_judged_at_the_period_end(tle: Path, targets: Path, tmp_path: Path) -> None:
    # epoch 2008-09-20 12:25: 6.5 days old at this period's start, 7.5 at its end -> a warning
    out = run("passes", "--tle", str(tle), "--targets", str(targets), "--start", "2008-09-27T00:00:00Z",
              "--end", "2008-09-28T00:00:00Z", data_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stderr.splitlines() if "warning" in ln]
    assert len(lines) == 1 and "7.5 days old" in lines[0] and "ISS (ZARYA)" in lines[0]
    json.loads(out.stdout)
    verbose = run("passes", "--tle", str(tle), "--targets", str(targets), "--start", "2008-09-27T00:00:00Z",
                  "--end", "2008-09-28T00:00:00Z", "-v", data_dir=tmp_path)
    assert "epoch 2008-09-20" in verbose.stderr


def test_elements_past_the_age_limit_are_refused_unless_allowed(tle: Path, targets: Path, tmp_path: Path) -> None:
    args = ("passes", "--tle", str(tle), "--targets", str(targets), "--start", "2026-03-19T00:00:00Z",
            "--end", "2026-03-19T06:00:00Z")
    out = run(*args, data_dir=tmp_path)  # a 2008 element set run for 2026
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "ISS (ZARYA) (25544)" in out.stderr and "--allow-stale" in out.stderr
    allowed = run(*args, "--allow-stale", data_dir=tmp_path)
    assert allowed.returncode == 0 and "days old" in allowed.stderr
    json.loads(allowed.stdout)


def test_the_same_satellite_twice_counts_once_with_its_newest_elements(tle: Path, targets: Path,
                                                                        tmp_path: Path) -> None:
    older = tmp_path / "older.tle"  # the same ISS a day earlier (epoch day 263 instead of 264)
    line1 = ISS[1].replace("08264.51782528", "08263.51782528")
    older.write_text("\n".join([ISS[0], line1[:68] + str(tle_checksum(line1[:68])), ISS[2]]) + "\n")
    out = run("passes", "--tle", str(older), "--tle", str(tle), "--targets", str(targets), "--start", START,
              "--end", END, data_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("duplicate element set") == 1
    doc = json.loads(out.stdout)
    assert doc["satellites"] == 1
    single = json.loads(run("passes", "--tle", str(tle), "--targets", str(targets), "--start", START, "--end", END,
                            data_dir=tmp_path).stdout)
    assert doc["passes"] == single["passes"]  # the newest (the file's own) elements were used


def test_selection_by_owner_case_norad_name_and_sensor(tmp_path: Path, targets: Path) -> None:
    common = ("access", "--targets", str(targets), "--start", "2026-03-19T00:00:00Z", "--end",
              "2026-03-19T12:00:00Z", "--format", "json")
    by_owner = json.loads(run(*common, "--owner", "fra", data_dir=tmp_path).stdout)
    assert by_owner["opportunities"] and {o["owner"] for o in by_owner["opportunities"]} == {"FRA"}
    sar = json.loads(run(*common, "--sensor", "sar", data_dir=tmp_path).stdout)
    assert sar["opportunities"] and {o["sensor"] for o in sar["opportunities"]} == {"sar"}
    one = sar["opportunities"][0]
    by_id = json.loads(run(*common, "--norad", str(one["norad_id"]), data_dir=tmp_path).stdout)
    assert {o["norad_id"] for o in by_id["opportunities"]} == {one["norad_id"]}
    by_name = json.loads(run(*common, "--name", one["satellite"][:4].lower() + "*", data_dir=tmp_path).stdout)
    assert one["satellite"] in {o["satellite"] for o in by_name["opportunities"]}
    none = run(*common, "--name", "NO-SUCH-*", data_dir=tmp_path)
    assert none.returncode == 2 and "--name" in none.stderr


def test_sensor_limits_and_a_nation_without_satellites(tmp_path: Path, targets: Path) -> None:
    common = ("access", "--targets", str(targets), "--start", "2026-03-19T00:00:00Z", "--end",
              "2026-03-19T12:00:00Z", "--format", "json")
    sharp = json.loads(run(*common, "--max-gsd", "0.5", data_dir=tmp_path).stdout)["opportunities"]
    assert sharp and all(o["best_gsd_m"] >= 0.25 for o in sharp)
    names = {o["satellite"] for o in sharp}
    assert not any(n.startswith(("SENTINEL", "LANDSAT", "RCM")) for n in names)  # 5-15 m sensors left out
    capped = json.loads(run(*common, "--max-off-nadir", "20", data_dir=tmp_path).stdout)["opportunities"]
    assert capped and all(o["min_off_nadir_deg"] <= 20.0 + 1e-6 for o in capped)
    bad = run(*common, "--incidence", "45,20", data_dir=tmp_path)
    assert bad.returncode == 2 and "--incidence" in bad.stderr
    banded = run(*common, "--incidence", "20,40", data_dir=tmp_path)  # optical satellites: said, not silent
    assert banded.returncode == 0 and "--incidence applies to SAR only" in banded.stderr
    sar_only = run(*common, "--incidence", "20,40", "--sensor", "sar", data_dir=tmp_path)
    assert "applies to SAR only" not in sar_only.stderr
    passes = ("passes", *common[1:], "--sensor", "sar")  # geometry: sensor limits leave visibility passes alone
    assert run(*passes, "--incidence", "20,25", data_dir=tmp_path).stdout == run(*passes, data_dir=tmp_path).stdout
    # --look-side never widens a satellite's facts: Sentinel-1 looks right only
    s1 = ("access", *common[1:], "--name", "SENTINEL-1*")
    assert run(*s1, "--look-side", "both", data_dir=tmp_path).stdout == run(*s1, data_dir=tmp_path).stdout
    left = run(*s1, "--look-side", "left", data_dir=tmp_path)
    assert left.returncode == 2 and "cannot look left" in left.stderr
    gain = json.loads(run("revisit", "--targets", str(targets), "--start", "2026-03-19T00:00:00Z", "--end",
                          "2026-03-20T00:00:00Z", "--format", "json", "--nation", "est", data_dir=tmp_path).stdout)
    (est,) = [n for n in gain["nations"] if n["nation"] == "EST"]
    assert est["satellites"] == 0 and est["pooled_worst_gap_h"] < est["own_worst_gap_h"]


def test_look_side_narrows_a_radar_that_can_roll(tmp_path: Path, targets: Path) -> None:
    """RADARSAT-2 can look either way (facts: both): --look-side splits its opportunities between the sides."""
    common = ("access", "--targets", str(targets), "--start", "2026-03-19T00:00:00Z", "--end",
              "2026-03-21T00:00:00Z", "--format", "json", "--name", "RADARSAT-2")
    right = json.loads(run(*common, "--look-side", "right", data_dir=tmp_path).stdout)["opportunities"]
    left = json.loads(run(*common, "--look-side", "left", data_dir=tmp_path).stdout)["opportunities"]
    both = json.loads(run(*common, data_dir=tmp_path).stdout)["opportunities"]
    assert len(both) == len(right) + len(left) and right and left
    assert {(o["target"], o["closest_approach"]) for o in right}.isdisjoint(
        {(o["target"], o["closest_approach"]) for o in left})


def test_grid_cells_tile_the_box_whatever_the_resolution(tmp_path: Path) -> None:
    common = ("revisit", "--start", "2026-03-19T00:00:00Z", "--end", "2026-03-19T06:00:00Z", "--name", "SENTINEL-1*",
              "--format", "json")
    doc = json.loads(run(*common, "--grid", "9,53,31,66", data_dir=tmp_path).stdout)  # 13 deg of latitude at 2 deg
    dlat, dlon = doc["cell_deg"]
    assert len(doc["lat_deg"]) * dlat == pytest.approx(13.0) and len(doc["lon_deg"]) * dlon == pytest.approx(22.0)
    assert doc["lat_deg"][0] - dlat / 2 == pytest.approx(53.0) and doc["lat_deg"][-1] + dlat / 2 == pytest.approx(66.0)
    one = run(*common, "--grid", "24,59,25,60", "--resolution", "2", "--plot", str(tmp_path / "one.png"),
              data_dir=tmp_path)  # a box smaller than a cell: one cell, the box itself
    assert one.returncode == 0 and (tmp_path / "one.png").exists(), one.stderr
    assert json.loads(one.stdout)["cell_deg"] == [1.0, 1.0]
    across = run(*common, "--grid", "170,-30,-170,-10", data_dir=tmp_path)
    assert across.returncode == 2 and "antimeridian" in across.stderr and "170,-30,180,-10" in across.stderr
