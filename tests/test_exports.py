"""Exports read back by real parsers: KML by fastkml, CoT by an XML parser against the CoT event's required shape;
every feature keeps its label's marking; bad input is a clear error."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from aquila.cli.main import cli
from aquila.dissemination.exports import export
from aquila.errors import InputError
from aquila.security.labels import Label

LABEL = {"sec:classification": "NR", "sec:releasable_to": ["NATO"], "sec:originator": "DEU", "sec:caveats": []}
T = "2026-12-03T06:00:00Z"


@pytest.fixture(scope="module")
def fused(tmp_path_factory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    d = tmp_path_factory.mktemp("ex")
    run = CliRunner()
    assert run.invoke(cli, ["synth", "sar", "--seed", "4", "--size", "512", "--ships", "10", "--out", str(d),
                            "--ais-time", T]).exit_code == 0
    assert run.invoke(cli, ["detect", "ships", str(d / "scene.tif"), "--land-mask", str(d / "land.tif"), "-o",
                            str(d / "det.geojson")]).exit_code == 0
    r = run.invoke(cli, ["fuse", "--detections", str(d / "det.geojson"), "--ais", str(d / "ais.jsonl"), "--time", T,
                         "-o", str(d / "fused.geojson")])
    assert r.exit_code == 0, r.output
    doc = json.loads((d / "fused.geojson").read_text())
    doc["aquila:label"] = LABEL  # as a finding's detections asset carries it
    return dict(doc)


def _kml(text: str) -> list[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fastkml's own import-time notices
        from fastkml import kml

        k = kml.KML.from_string(text.encode())
    return list(next(iter(k.features)).features)


def test_kml_reads_back_with_positions_labels_and_properties(fused: dict[str, Any]) -> None:
    pms = _kml(export(fused, "kml"))
    assert len(pms) == len(fused["features"]) > 0
    for pm, f in zip(pms, fused["features"], strict=True):
        lon, lat = f["geometry"]["coordinates"]
        assert abs(pm.geometry.x - lon) < 1e-6 and abs(pm.geometry.y - lat) < 1e-6
        data = {d.name: d.value for d in pm.extended_data.elements}
        assert data["marking"] == "NATO RESTRICTED REL TO NATO" and data["sec:classification"] == "NR"
        assert pm.name.startswith("(NR) ") and "NATO RESTRICTED" in pm.description
        assert float(data["length_m"]) == f["properties"]["length_m"]


def test_cot_events_have_the_required_shape_and_tell_dark_from_matched(fused: dict[str, Any]) -> None:
    lines = export(fused, "cot").strip().splitlines()
    feats = [f for f in fused["features"] if f["geometry"]["type"] == "Point"]
    assert len(lines) == len(fused["features"])
    kinds = set()
    for line, f in zip(lines, feats, strict=True):
        ev = ET.fromstring(line)  # each line a complete XML document
        assert ev.tag == "event" and ev.get("version") == "2.0" and ev.get("how") == "m-g"
        for attr in ("uid", "type", "time", "start", "stale"):
            assert ev.get(attr), attr
        assert ev.get("stale") > ev.get("start")  # ISO strings in UTC order as times
        pt = ev.find("point")
        assert pt is not None and {"lat", "lon", "hae", "ce", "le"} <= set(pt.keys())
        lon, lat = f["geometry"]["coordinates"]
        assert abs(float(pt.get("lat")) - lat) < 1e-6 and abs(float(pt.get("lon")) - lon) < 1e-6
        props = f["properties"]
        ais_mmsi = (props.get("ais") or props).get("mmsi")  # a matched detection, or an AIS vessel not seen
        want = "a-u-S" if props.get("dark") or ais_mmsi is None else "a-n-S"
        assert ev.get("type") == want
        kinds.add(want)
        remarks = ev.find("detail/remarks")
        assert remarks is not None and remarks.text.startswith("NATO RESTRICTED REL TO NATO")
        lab = ev.find("detail/aquila_label")
        assert lab is not None and lab.get("classification") == "NR" and lab.get("originator") == "DEU"
    assert kinds == {"a-u-S", "a-n-S"}  # the scene has both dark and matched ships
    uids = [ET.fromstring(x).get("uid") for x in lines]
    assert len(set(uids)) == len(uids)


def test_geojson_items_polygons_and_unlabelled_features() -> None:
    item = {"type": "Feature", "id": "ships-abc", "geometry": {"type": "Polygon", "coordinates": [
        [[19, 57], [20, 57], [20, 58], [19, 58], [19, 57]]]},
        "properties": {"datetime": T, **{**LABEL, "sec:classification": "NS", "sec:releasable_to": ["FRA"]},
                       "aquila:vessels": 12, "aquila:dark_vessels": 3}}
    bare = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}, "properties": {}}
    gj = json.loads(export({"type": "FeatureCollection", "features": [item, bare]}, "geojson"))
    assert [f["properties"]["marking"] for f in gj["features"]] == ["NATO SECRET REL TO FRA", "UNLABELLED"]
    (pm, pm2) = _kml(export({"type": "FeatureCollection", "features": [item, bare]}, "kml"))
    assert pm.geometry.geom_type == "Polygon" and pm2.name.startswith("(U?)")
    ev = ET.fromstring(export(item, "cot").strip())
    assert ev.get("type") == "b-m-p-s-m" and ev.get("uid") == "aquila-ships-abc"
    assert abs(float(ev.find("point").get("lat")) - 57.5) < 1e-9 and ev.get("start") == "2026-12-03T06:00:00.000Z"
    assert Label.from_properties(gj["features"][0]["properties"]).classification.name == "NS"


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    for doc, field in (([1, 2], "input"), ({"type": "Nope"}, "type"),
                       ({"type": "FeatureCollection", "features": [{"type": "Feature"}]}, "features[0].geometry"),
                       ({"type": "FeatureCollection", "features": [], "aquila:label": {"sec:classification": "XX"}},
                        "aquila:label.sec:classification")):
        with pytest.raises(InputError) as e:
            export(doc, "kml")
        assert e.value.field == field
    with pytest.raises(InputError):
        export({"type": "FeatureCollection", "features": []}, "shapefile")
    p = tmp_path / "x.geojson"
    p.write_text("not json")
    r = CliRunner().invoke(cli, ["export", str(p), "--format", "kml"])
    assert r.exit_code != 0 and "not JSON" in r.output
