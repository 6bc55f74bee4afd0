"""Output formats: every format holds the same passes, the format follows the file's extension, and the
Python API returns the same table."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import shapely
import shapely.geometry

from test_cli import END, ISS, START

RUN = [sys.executable, "-m", "aquila"]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("outputs")
    (d / "iss.tle").write_text("\n".join(ISS) + "\n")
    (d / "t.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "paris", "properties": {},
         "geometry": {"type": "Point", "coordinates": [2.35, 48.85]}},
        {"type": "Feature", "id": "box", "properties": {},
         "geometry": {"type": "Polygon", "coordinates": [[[18, 56], [20, 56], [20, 57], [18, 57], [18, 56]]]}}]}))
    for name in ("p.json", "p.ndjson", "p.csv", "p.parquet", "p.txt", "p.geojson", "p.kml", "p.czml"):
        out = subprocess.run([*RUN, "passes", "--tle", str(d / "iss.tle"), "--targets", str(d / "t.geojson"),
                              "--start", START, "--end", END, "-o", str(d / name)], capture_output=True, text=True,
                             env={**os.environ, "AQUILA_DATA_DIR": str(d / "data")}, timeout=300)
        assert out.returncode == 0, out.stderr
    return d


def _norm(row: dict) -> dict:
    """A row with every value as JSON would carry it (CSV carries text)."""
    out = {}
    for k, v in row.items():
        if isinstance(v, datetime):
            v = v.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        elif isinstance(v, str) and v in ("true", "false"):
            v = v == "true"
        elif isinstance(v, str):
            try:
                v = int(v) if k == "norad_id" else float(v) if k.endswith(("_deg", "_s", "_m")) else v
            except ValueError:
                pass
        out[k] = v
    return out


def test_every_format_holds_the_same_passes(outputs: Path) -> None:
    doc = json.loads((outputs / "p.json").read_text())
    rows = doc["passes"]
    assert rows and doc["satellites"] == 1 and doc["mode"] == "visibility"
    nd = [json.loads(line) for line in (outputs / "p.ndjson").read_text().splitlines()]
    with (outputs / "p.csv").open() as f:
        cs = [_norm(r) for r in csv.DictReader(f)]
    table = pq.read_table(outputs / "p.parquet")
    pa_rows = [_norm({k: v for k, v in r.items() if k != "geometry"}) for r in table.to_pylist()]
    assert nd == rows and cs == rows and pa_rows == rows
    for r in rows:  # every row carries its target's coordinates; the box's is inside the box
        assert (r["target_lon_deg"], r["target_lat_deg"]) == (2.35, 48.85) if r["target"] == "paris" else \
            (18 < r["target_lon_deg"] < 20 and 56 < r["target_lat_deg"] < 57)
        assert r["rise"] <= r["culmination"] <= r["set"]
        assert math.isclose(r["duration_s"], (datetime.fromisoformat(r["set"]) -
                                              datetime.fromisoformat(r["rise"])).total_seconds(), abs_tol=0.002)


def test_parquet_is_geoparquet_with_the_target_points(outputs: Path) -> None:
    table = pq.read_table(outputs / "p.parquet")
    geo = json.loads(table.schema.metadata[b"geo"])
    assert geo["primary_column"] == "geometry" and geo["columns"]["geometry"]["encoding"] == "WKB"
    pts = shapely.from_wkb(table.column("geometry").to_pylist())
    assert [(p.x, p.y) for p in pts] == list(zip(table.column("target_lon_deg").to_pylist(),
                                                 table.column("target_lat_deg").to_pylist(), strict=True))


def test_table_format_shows_rows_and_the_total(outputs: Path) -> None:
    text = (outputs / "p.txt").read_text()
    n = len(json.loads((outputs / "p.json").read_text())["passes"])
    assert f"{n} passes" in text and "ISS (ZARYA)" in text


def test_unknown_extension_is_refused_not_silently_json(outputs: Path, tmp_path: Path) -> None:
    out = subprocess.run([*RUN, "passes", "--tle", str(outputs / "iss.tle"), "--targets", str(outputs / "t.geojson"),
                          "--start", START, "--end", END, "-o", str(tmp_path / "p.xlsx")], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 2 and "--output" in out.stderr and ".parquet" in out.stderr
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_python_api_returns_the_same_table() -> None:
    from datetime import timedelta

    from aquila.constellation.assets import GENERIC_SENSOR, Constellation, OwnerKind, Satellite
    from aquila.constellation.elements import parse_tle
    from aquila.orbits.access import AccessMode, compute_access
    from aquila.orbits.targets import TargetSet

    es = parse_tle("\n".join(ISS))[0]
    c = Constellation([Satellite(es.name, es.norad_id, "USA", "nasa", OwnerKind.NATIONAL, GENERIC_SENSOR, es)])
    t0 = datetime(2008, 9, 20, 12, tzinfo=UTC)
    res = compute_access(c, TargetSet.from_points([48.85], [2.35], ["paris"]), t0, t0 + timedelta(days=1),
                         mode=AccessMode.VISIBILITY, min_elevation_deg=10, workers=1)
    table = res.to_arrow()
    frame = res.to_pandas()
    assert table.num_rows == len(res) == len(frame) > 0
    assert list(frame["satellite"].astype(str).unique()) == ["ISS (ZARYA)"]
    assert str(frame["rise"].dtype) == "datetime64[ms, UTC]"


def test_geojson_features_carry_the_target_geometry_and_the_pass(outputs: Path) -> None:
    rows = json.loads((outputs / "p.json").read_text())["passes"]
    fc = json.loads((outputs / "p.geojson").read_text())
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == len(rows)
    for f, r in zip(fc["features"], rows, strict=True):
        assert f["properties"] == r
        g = shapely.geometry.shape(f["geometry"])
        assert g.is_valid and g.geom_type == ("Point" if r["target"] == "paris" else "Polygon")
        assert g.intersects(shapely.Point(r["target_lon_deg"], r["target_lat_deg"]).buffer(1e-9))


def test_kml_is_valid_kml_with_a_timed_placemark_per_pass(outputs: Path) -> None:
    import xml.etree.ElementTree as ET

    ns = {"k": "http://www.opengis.net/kml/2.2"}
    rows = json.loads((outputs / "p.json").read_text())["passes"]
    root = ET.parse(outputs / "p.kml").getroot()
    assert root.tag == "{http://www.opengis.net/kml/2.2}kml"
    marks = root.findall("k:Document/k:Placemark", ns)
    assert len(marks) == len(rows)
    for m, r in zip(marks, rows, strict=True):
        assert m.findtext("k:TimeSpan/k:begin", namespaces=ns) == r["rise"]
        assert m.findtext("k:TimeSpan/k:end", namespaces=ns) == r["set"]
        data = {d.get("name"): d.findtext("k:value", namespaces=ns) for d in m.findall("k:ExtendedData/k:Data", ns)}
        assert data["satellite"] == r["satellite"] and data["target"] == r["target"]
        shape_tag = "k:Point" if r["target"] == "paris" else "k:Polygon"
        assert m.find(shape_tag, ns) is not None


def test_czml_is_a_valid_cesium_document_with_each_pass_as_a_timed_link(outputs: Path) -> None:
    from czml3 import Document, Packet

    rows = json.loads((outputs / "p.json").read_text())["passes"]
    packets = json.loads((outputs / "p.czml").read_text())
    doc = Document(packets=[Packet.model_validate(p) for p in packets])  # the czml3 models validate each packet
    assert doc.packets[0].id == "document"
    sat = next(p for p in packets if p["id"] == "sat-25544")
    samples = sat["position"]["cartesian"]
    assert sat["position"]["referenceFrame"] == "FIXED" and len(samples) % 4 == 0 and len(samples) >= 4 * 24 * 60
    radius_km = [math.dist((0, 0, 0), samples[k + 1:k + 4]) / 1000 for k in range(0, len(samples), 4)]
    assert 6700 < min(radius_km) and max(radius_km) < 6800  # the ISS: about 350 km up in 2008
    links = [p for p in packets if p["id"].startswith("access-")]
    assert [p["availability"] for p in links] == [f"{r['rise']}/{r['set']}" for r in rows]


def test_to_pandas_with_satellites_sharing_an_owner() -> None:
    """Dictionary columns hold distinct values: pandas categories must be unique."""
    from datetime import timedelta

    from aquila.constellation.builtin import builtin_constellation
    from aquila.orbits.access import compute_access
    from aquila.orbits.targets import TargetSet
    from conftest import EPOCH

    c = builtin_constellation(EPOCH)
    res = compute_access(c, TargetSet.from_points([57.0, 44.0], [19.0, 35.0], ["baltic", "black-sea"]), EPOCH,
                         EPOCH + timedelta(hours=12), workers=1)
    frame = res.to_pandas()
    assert len(frame) == len(res) > 10
    owner_of = {s.name: s.owner for s in c}
    assert all(owner_of[n] == o for n, o in zip(frame["satellite"].astype(str), frame["owner"].astype(str),
                                                strict=True))


def test_compute_access_names_a_start_that_is_not_a_datetime() -> None:
    from aquila.errors import TimeWindowError
    from aquila.orbits.access import compute_access
    from aquila.orbits.targets import TargetSet

    with pytest.raises(TimeWindowError) as caught:
        compute_access([], TargetSet.from_points([0.0], [0.0]), "2026-03-19", "2026-03-20")  # type: ignore[arg-type]
    assert caught.value.field == "start" and "datetime" in str(caught.value)


def test_revisit_output_follows_the_extension(outputs: Path, tmp_path: Path) -> None:
    base = [*RUN, "revisit", "--tle", str(outputs / "iss.tle"), "--targets", str(outputs / "t.geojson"), "--start",
            START, "--end", END, "--include-unknown"]
    env = {**os.environ, "AQUILA_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([*base, "-o", str(tmp_path / "r.json")], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "pooled" in json.loads((tmp_path / "r.json").read_text())
    bad = subprocess.run([*base, "-o", str(tmp_path / "r.parquet")], capture_output=True, text=True, env=env,
                         timeout=300)
    assert bad.returncode == 2 and "--output" in bad.stderr and not (tmp_path / "r.parquet").exists()


def test_output_problems_are_refused_before_any_work(outputs: Path, tmp_path: Path) -> None:
    base = [*RUN, "passes", "--tle", str(outputs / "iss.tle"), "--targets", str(outputs / "t.geojson"), "--start",
            START, "--end", END]
    missing = subprocess.run([*base, "-o", str(tmp_path / "nope" / "p.csv")], capture_output=True, text=True,
                             timeout=300)
    assert missing.returncode == 2 and "no such directory" in missing.stderr and ".partial" not in missing.stderr
    binary = subprocess.run([*base, "--format", "parquet"], capture_output=True, text=True, timeout=300)
    assert binary.returncode == 2 and "-o FILE.parquet" in binary.stderr and not binary.stdout


def test_czml_outlines_every_part_of_a_target_split_at_the_antimeridian() -> None:
    import io
    from datetime import timedelta

    from czml3 import Packet

    from aquila.constellation.assets import GENERIC_SENSOR, OwnerKind, Satellite
    from aquila.orbits.access import compute_access
    from aquila.orbits.czml import write_czml
    from aquila.orbits.targets import parse_targets

    targets = parse_targets({"type": "FeatureCollection", "features": [{"type": "Feature", "id": "dateline",
        "properties": {}, "geometry": {"type": "Polygon", "coordinates": [[[179, 0], [-179, 0], [-179, 2], [179, 2],
                                                                          [179, 0]]]}}]})
    sat = Satellite.from_tle(ISS[1], ISS[2], ISS[0], owner="USA", kind=OwnerKind.NATIONAL, sensor=GENERIC_SENSOR)
    start = datetime.fromisoformat(START)
    res = compute_access([sat], targets, start, start + timedelta(hours=2), workers=1)
    buf = io.BytesIO()
    write_czml(res, buf, "t")
    packets = json.loads(buf.getvalue())
    [Packet.model_validate(p) for p in packets]
    outlines = [p for p in packets if p["id"].startswith("target-0") and "polyline" in p]
    assert len(outlines) == 2 and outlines[1]["parent"] == "target-0"
    lons = sorted(p["polyline"]["positions"]["cartographicDegrees"][0::3] for p in outlines)
    assert max(lons[0]) <= -179 + 1e-9 and min(lons[1]) >= 179 - 1e-9  # one part each side of 180


def test_kml_of_imaging_opportunities_carries_timed_fields_of_regard(tmp_path: Path) -> None:
    """Each Sentinel-1 opportunity over the target lies in a field-of-regard piece of that satellite swept then."""
    import xml.etree.ElementTree as ET

    (tmp_path / "t.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "gotland", "properties": {},
         "geometry": {"type": "Point", "coordinates": [18.5, 57.4]}}]}))
    args = [*RUN, "access", "--targets", str(tmp_path / "t.geojson"), "--start", "2026-03-19T00:00:00Z", "--end",
            "2026-03-23T00:00:00Z", "--name", "SENTINEL-1*"]
    env = {**os.environ, "AQUILA_DATA_DIR": str(tmp_path / "data")}
    for name in ("a.kml", "a.json"):
        done = subprocess.run([*args, "-o", str(tmp_path / name)], capture_output=True, text=True, env=env,
                              timeout=300)
        assert done.returncode == 0, done.stderr
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    doc = ET.parse(tmp_path / "a.kml").getroot()
    folder = next(f for f in doc.iter("{http://www.opengis.net/kml/2.2}Folder")
                  if f.findtext("k:name", namespaces=ns) == "Fields of regard")
    pieces = []
    for pm in folder.findall("k:Placemark", ns):
        begin, end = pm.findtext("k:TimeSpan/k:begin", namespaces=ns), pm.findtext("k:TimeSpan/k:end", namespaces=ns)
        rings = [[tuple(map(float, v.split(","))) for v in c.text.split()]
                 for c in pm.iter("{http://www.opengis.net/kml/2.2}coordinates")]
        sat = pm.findtext("k:name", namespaces=ns).rsplit(" (", 1)[0]
        pieces.append((sat, begin, end, shapely.union_all([shapely.Polygon(r) for r in rings])))
    opportunities = json.loads((tmp_path / "a.json").read_text())["opportunities"]
    assert opportunities and pieces
    point = shapely.Point(18.5, 57.4)
    for o in opportunities:
        at = o["closest_approach"][:19] + "Z"
        assert any(s == o["satellite"] and b <= at <= e and g.buffer(0.05).contains(point)
                   for s, b, e, g in pieces), o
