"""Satellite facts: every satellite is known by its published facts or left out; only allies pool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from aquila.constellation.assets import Constellation, SensorType
from aquila.constellation.elements import load_elements, parse_tle
from aquila.constellation.facts import UNKNOWN_OWNER, builtin_facts, load_facts
from aquila.errors import InputError
from aquila.orbits.access import AccessMode, compute_access
from aquila.orbits.revisit import sharing_gain
from aquila.orbits.targets import TargetSet
from conftest import EPOCH, generated_elements
from test_cli import ISS

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "tle" / "eo-sar_2026-03-19.tle"


@pytest.mark.skipif(not REAL.exists(), reason="shared element sets not present")
def test_the_built_in_facts_cover_every_imaging_satellite_of_the_real_element_sets() -> None:
    c = Constellation.from_element_sets(load_elements(REAL))
    assert not c.left_out and len(c) == 210
    by_name = {s.name: s for s in c}
    assert by_name["ICEYE-X35"].sensor.type is SensorType.SAR and by_name["ICEYE-X35"].owner == "FIN"
    assert by_name["SENTINEL-1A"].look_side == "right" and by_name["SENTINEL-1A"].squint_max_deg == 0.0
    for name in ("GAOFEN-3", "JILIN-1 GAOFEN 03D08", "SUPERVIEW NEO-1 01", "KONDOR-FKA NO. 1", "CARTOSAT-3"):
        assert not by_name[name].ally, name  # known, listed, never pooled
    assert all(s.ally for s in c if s.owner in ("FRA", "USA", "FIN", "ITA", "EU", "JPN"))


def _constellation(*owners: str) -> Constellation:
    sets = generated_elements(len(owners), seed=11)
    table = builtin_facts()
    real = next(iter(table.satellites.values()))
    sats = []
    for es, owner in zip(sets, owners, strict=True):
        sats.append(replace(Constellation.from_element_sets([es], facts=replace(
            table, satellites={es.norad_id: replace(real, norad_id=es.norad_id, owner=owner)})).satellites[0]))
    return Constellation(sats)


def test_only_allies_count_in_the_sharing_gain() -> None:
    pts = TargetSet.from_points(np.array([57.0, 44.0]), np.array([19.0, 35.0]), ["baltic", "black-sea"])
    end = EPOCH + timedelta(hours=24)
    mixed = compute_access(_constellation("FRA", "DEU", "CHN"), pts, EPOCH, end, mode=AccessMode.IMAGING, workers=1)
    allies = compute_access(_constellation("FRA", "DEU"), pts, EPOCH, end, mode=AccessMode.IMAGING, workers=1)
    assert any(s.owner == "CHN" for s in mixed.satellites) and len(mixed) > len(allies)
    g_mixed, g_allies = sharing_gain(mixed), sharing_gain(allies)
    assert [n.nation for n in g_mixed.nations] == [n.nation for n in g_allies.nations]
    assert "CHN" not in {n.nation for n in g_mixed.nations} | {k.owner for k in g_mixed.contributions}
    assert [s.max_gap_s for s in g_mixed.pooled] == [s.max_gap_s for s in g_allies.pooled]


def test_a_nation_without_satellites_gets_what_the_pool_gives_it() -> None:
    pts = TargetSet.from_points(np.array([59.0]), np.array([24.0]), ["tallinn"])
    res = compute_access(_constellation("FRA", "DEU"), pts, EPOCH, EPOCH + timedelta(hours=24),
                         mode=AccessMode.IMAGING, workers=1)
    (est,) = [n for n in sharing_gain(res, nations=["EST"]).nations]
    assert est.satellites == 0 and est.pooled_worst_gap_s < est.own_worst_gap_s


def test_unknown_satellites_are_left_out_or_generic_but_never_allies() -> None:
    (iss,) = parse_tle("\n".join(ISS))
    c = Constellation.from_element_sets([iss])
    assert len(c) == 0 and [e.norad_id for e in c.left_out] == [25544]
    g = Constellation.from_element_sets([iss], include_unknown=True)
    assert g.satellites[0].owner == UNKNOWN_OWNER and not g.satellites[0].ally


@pytest.mark.parametrize("entry,field", [
    ({"norad_id": "x", "owner": "FRA", "sensor": "sar", "gsd_nadir_m": 1, "incidence_deg": [20, 40]}, "norad_id"),
    ({"norad_id": 1, "owner": "FRA", "sensor": "radar", "gsd_nadir_m": 1}, "sensor"),
    ({"norad_id": 1, "owner": "FRA", "sensor": "sar", "gsd_nadir_m": 1, "incidence_deg": [40, 20]}, "incidence_deg"),
    ({"norad_id": 1, "owner": "FRA", "sensor": "optical", "gsd_nadir_m": 1}, "max_off_nadir_deg"),
    ({"norad_id": 1, "owner": "FRA", "sensor": "optical", "gsd_nadir_m": -1, "max_off_nadir_deg": 30}, "gsd_nadir_m"),
    ({"norad_id": 1, "owner": "FRA", "sensor": "sar", "gsd_nadir_m": 1, "incidence_deg": [20, 40],
      "look_side": "up"}, "look_side"),
])
def test_a_bad_facts_file_names_the_field(tmp_path: Path, entry: dict, field: str) -> None:
    p = tmp_path / "facts.json"
    p.write_text(json.dumps({"satellites": [entry]}))
    with pytest.raises(InputError) as caught:
        load_facts(p)
    assert caught.value.field == f"satellites[0].{field}" and str(caught.value).startswith(str(p))


def test_a_users_facts_bring_a_satellite_into_imaging(tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"satellites": [{"norad_id": 25544, "owner": "USA", "sensor": "optical",
                                                 "gsd_nadir_m": 5, "max_off_nadir_deg": 60,
                                                 "min_sun_elevation_deg": -90}]}))
    tle = tmp_path / "iss.tle"
    tle.write_text("\n".join(ISS) + "\n")
    aoi = tmp_path / "aoi.geojson"
    aoi.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "paris", "properties": {},
         "geometry": {"type": "Point", "coordinates": [2.35, 48.85]}}]}))
    base = [sys.executable, "-m", "aquila", "access", "--tle", str(tle), "--targets", str(aoi), "--start",
            "2008-09-20T12:00:00Z", "--end", "2008-09-22T12:00:00Z"]
    env = {**os.environ, "AQUILA_DATA_DIR": str(tmp_path / "data")}
    without = subprocess.run(base, capture_output=True, text=True, env=env, timeout=300)
    assert without.returncode == 2 and "without facts" in without.stderr and "--facts" in without.stderr
    known = subprocess.run([*base, "--facts", str(facts)], capture_output=True, text=True, env=env, timeout=300)
    assert known.returncode == 0, known.stderr
    rows = json.loads(known.stdout)["opportunities"]
    assert rows and {r["owner"] for r in rows} == {"USA"}
    generic = subprocess.run([*base, "--include-unknown"], capture_output=True, text=True, env=env, timeout=300)
    assert generic.returncode == 0 and json.loads(generic.stdout)["satellites"] == 1
    assert f"({UNKNOWN_OWNER}) are listed but never pooled" in generic.stderr


@pytest.mark.skipif(not REAL.exists(), reason="shared element sets not present")
def test_constellation_update_adds_allied_satellites_with_facts(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from aquila.constellation.store import load_constellation

    env = {**os.environ, "AQUILA_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run([sys.executable, "-m", "aquila", "constellation", "update", "--file", str(REAL)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["loaded"] == 210 and report["unknown"] == 0
    assert report["updated"] + report["joined"] + report["other_owners"] == 210 and report["joined"] > 50
    c = load_constellation(tmp_path / "data", datetime(2026, 3, 19, 12, tzinfo=UTC))
    from aquila.constellation.builtin import builtin_constellation

    assert len(c) == len(builtin_constellation()) + report["joined"] and all(s.ally for s in c)
    assert not any(s.owner in ("CHN", "RUS") for s in c) and not any(s.nominal for s in c if s.name.startswith("ICEYE"))


def test_update_facts_are_kept_for_later_commands(tmp_path: Path) -> None:
    from aquila.constellation.store import effective_facts

    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"satellites": [{"norad_id": 25544, "owner": "USA", "sensor": "optical",
                                                 "gsd_nadir_m": 5, "max_off_nadir_deg": 30}]}))
    tle = tmp_path / "iss.tle"
    tle.write_text("\n".join(ISS) + "\n")
    env = {**os.environ, "AQUILA_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run([sys.executable, "-m", "aquila", "constellation", "update", "--file", str(tle), "--facts",
                          str(facts)], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["joined"] == 1
    kept = effective_facts(tmp_path / "data").get(25544)
    assert kept is not None and kept.owner == "USA" and builtin_facts().get(25544) is None


def test_constellation_reset_forgets_updated_elements_and_facts(tmp_path: Path) -> None:
    from aquila.constellation.store import ElementStore

    tle = tmp_path / "iss.tle"
    tle.write_text("\n".join(ISS) + "\n")
    env = {**os.environ, "AQUILA_DATA_DIR": str(tmp_path / "data")}
    run = [sys.executable, "-m", "aquila", "constellation"]
    up = subprocess.run([*run, "update", "--file", str(tle)], capture_output=True, text=True, env=env, timeout=300)
    assert up.returncode == 0 and "commands for periods now refuse them" in up.stderr  # a 2008 element set
    store = ElementStore(tmp_path / "data")
    assert store.exists()
    reset = subprocess.run([*run, "reset"], capture_output=True, text=True, env=env, timeout=300)
    assert reset.returncode == 0 and str(store.path) in json.loads(reset.stdout)["removed"]
    assert not store.exists()


def test_a_users_facts_and_alliance_apply_to_the_built_in_constellation(tmp_path: Path) -> None:
    """--facts without --tle: the built-in satellites take the user's facts, and only its alliance pools."""
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"alliance": ["EU"], "satellites": [
        {"norad_id": 39634, "owner": "EU", "sensor": "optical", "gsd_nadir_m": 10, "max_off_nadir_deg": 40,
         "min_sun_elevation_deg": -90}]}))
    aoi = tmp_path / "aoi.geojson"
    aoi.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "riga", "properties": {},
         "geometry": {"type": "Point", "coordinates": [24.1, 56.95]}}]}))
    env = {**os.environ, "AQUILA_DATA_DIR": str(tmp_path / "data")}
    common = [sys.executable, "-m", "aquila"]
    acc = subprocess.run([*common, "access", "--targets", str(aoi), "--start", "2026-03-19T00:00:00Z", "--end",
                          "2026-03-21T00:00:00Z", "--norad", "39634", "--facts", str(facts)], capture_output=True,
                         text=True, env=env, timeout=300)
    assert acc.returncode == 0, acc.stderr
    rows = json.loads(acc.stdout)["opportunities"]
    assert rows and {r["sensor"] for r in rows} == {"optical"}
    rev = subprocess.run([*common, "revisit", "--targets", str(aoi), "--start", "2026-03-19T00:00:00Z", "--format",
                          "json", "--facts", str(facts)], capture_output=True, text=True, env=env, timeout=300)
    assert rev.returncode == 0, rev.stderr
    assert {n["nation"] for n in json.loads(rev.stdout)["nations"]} == {"EU"}


def test_the_coverage_grid_pools_allies_only(tmp_path: Path) -> None:
    from aquila.orbits.coverage import coverage_grid

    sats = _constellation("CHN", "CHN").satellites
    grid = coverage_grid(sats, (20.0, 50.0, 30.0, 60.0), 5.0, EPOCH, EPOCH + timedelta(hours=24), workers=1)
    assert len(grid.result) > 0 and float(grid.accesses_per_day.max()) == 0.0


def test_elements_far_after_the_period_are_refused_too(tmp_path: Path) -> None:
    """A period long before the epoch is as wrong as one long after it (satellites not yet launched)."""
    tle = tmp_path / "iss.tle"
    tle.write_text("\n".join(ISS) + "\n")
    aoi = tmp_path / "aoi.geojson"
    aoi.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "p", "properties": {},
         "geometry": {"type": "Point", "coordinates": [2.35, 48.85]}}]}))
    out = subprocess.run([sys.executable, "-m", "aquila", "passes", "--tle", str(tle), "--targets", str(aoi),
                          "--start", "2007-01-01T00:00:00Z", "--end", "2007-01-02T00:00:00Z"], capture_output=True,
                         text=True, env={**os.environ, "AQUILA_DATA_DIR": str(tmp_path / "data")}, timeout=300)
    assert out.returncode == 2 and "--allow-stale" in out.stderr
