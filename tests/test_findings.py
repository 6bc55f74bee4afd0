"""Ship findings published from a catalog scene: derived labels, release rules, idempotence, no partial state."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from aquila.analytics.ais import read_ais
from aquila.analytics.findings import FINDINGS_COLLECTION, analyze_ships, producer_for
from aquila.catalog import SearchQuery
from aquila.cli.main import cli
from aquila.errors import Conflict, Forbidden, InputError, NotFound
from aquila.instance import Instance
from aquila.security.labels import Label
from library_helpers import collection, item, user

FRA = user("FRA", "NS", roles=("provider",))
ACQ = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
RULE = {"id": "nato-6h", "product": "vessel-detections", "delay": "PT6H",
        "label": {"sec:classification": "NR", "sec:releasable_to": ["NATO"]}}


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    d = tmp_path_factory.mktemp("scene")
    r = CliRunner().invoke(cli, ["synth", "sar", "--seed", "5", "--size", "512", "--ships", "12", "--out", str(d),
                                 "--ais-time", "2026-12-03T06:00:00Z"])
    assert r.exit_code == 0, r.output
    return d


def _publish_scene(inst: Instance, scene: Path, data: bytes | None = None, **label: Any) -> None:
    inst.library.operator_collection(collection("fra-sar", rel=["NATO"]))
    import rasterio

    with rasterio.open(scene / "scene.tif") as f:
        w, s, e, n = f.bounds
    doc = item("s1", "fra-sar", dt=ACQ.isoformat().replace("+00:00", "Z"), **{"cls": "NS", "rel": ["DEU"], **label})
    doc["geometry"] = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    body = data if data is not None else (scene / "scene.tif").read_bytes()
    inst.library.publish(FRA, "fra-sar", [doc], assets={"s1": {"data": (body, "image/tiff; application=geotiff")}})


def _analyze(inst: Instance, nation: str, iid: str, ais: Any, **kw: Any) -> Any:
    return analyze_ships(inst.library, producer_for(nation), "fra-sar", iid, ais, id_key=inst.findings_key, **kw)


def _findings(inst: Instance, u: Any) -> list[dict[str, Any]]:
    return inst.library.search(u, SearchQuery(collections=[FINDINGS_COLLECTION], limit=100)).features


def test_finding_carries_the_scenes_label_without_a_rule(tmp_path: Path, scene: Path) -> None:
    inst = Instance.open(tmp_path / "i")
    _publish_scene(inst, scene)
    ais = read_ais(scene / "ais.jsonl")
    f = _analyze(inst, "FRA", "s1", ais, land_mask=str(scene / "land.tif"), now=ACQ + timedelta(hours=1))
    assert f.published
    p = f.item["properties"]
    # NS REL DEU within a NU REL NATO collection: NS, FRA and DEU only
    assert Label.from_properties(p) == Label("NS", "FRA", frozenset({"DEU"}))
    assert p["aquila:source"] == ["fra-sar/s1"] and p["aquila:pipeline"] == "ships-1"
    truth = json.loads((scene / "truth.geojson").read_text())
    bright = [f for f in truth["features"] if f["properties"].get("kind") == "ship" and f["properties"]["scr_db"] >= 10]
    assert len(bright) <= p["aquila:vessels"] <= len(truth["features"]) + 3 and p["aquila:dark_vessels"] is not None
    # the detections asset came in the same commit, under the finding's label
    _, rec, fh = inst.library.open_asset(user("DEU", "NS"), FINDINGS_COLLECTION, f.item["id"], "detections")
    with fh:
        gj = json.load(fh)
    assert rec.media_type == "application/geo+json"
    assert len([x for x in gj["features"] if "kind" not in x["properties"]]) == p["aquila:vessels"]
    assert sum(x["properties"].get("dark", False) for x in gj["features"]) == p["aquila:dark_vessels"]
    assert gj["aquila:label"]["sec:classification"] == "NS"
    assert len(_findings(inst, user("DEU", "NS"))) == 1
    for outsider in (user("POL", "CTS"), user("DEU", "NC"), user("USA", "CTS")):
        assert _findings(inst, outsider) == []
        with pytest.raises(NotFound):
            inst.library.open_asset(outsider, FINDINGS_COLLECTION, f.item["id"], "detections")
    # pending: FRA adds its rule now; the finding made before stays as it was
    inst.library.write_release_rule(FRA, RULE)
    again = _analyze(inst, "FRA", "s1", ais, now=ACQ + timedelta(hours=1))
    assert not again.published and again.item["id"] == f.item["id"]
    assert again.derivation.pending[0][1:] == ("FRA/nato-6h", ACQ + timedelta(hours=6))
    assert len(_findings(inst, user("FRA", "NS"))) == 1


def test_release_rule_lowers_the_label_and_each_application_is_audited(tmp_path: Path, scene: Path) -> None:
    inst = Instance.open(tmp_path / "i")
    _publish_scene(inst, scene)
    inst.library.write_release_rule(FRA, RULE)
    f = _analyze(inst, "FRA", "s1", None, land_mask=str(scene / "land.tif"), now=ACQ + timedelta(hours=7))
    assert Label.from_properties(f.item["properties"]) == Label("NR", "FRA", frozenset({"NATO"}))
    d = f.item["properties"]["aquila:derivation"]
    assert d["released_by"] == ["FRA"] and "nato-6h" not in json.dumps(f.item)  # rule ids are FRA's business
    assert Label.from_properties(d["label"]) == Label("NR", "FRA", frozenset({"NATO"}))
    assert f.item["properties"]["aquila:dark_vessels"] is None  # no AIS: nobody is called dark
    # the finding reaches NATO at NR; the scene itself still does not
    pol = user("POL", "NR")
    assert len(_findings(inst, pol)) == 1
    with pytest.raises(NotFound):
        inst.library.get_item(pol, "fra-sar", "s1")
    assert _findings(inst, user("AUS", "CTS")) == []  # not NATO
    entries = inst.audit.entries_page(originator="FRA", after=0, limit=1000, viewer=(4, frozenset()))[0]
    applied = [e for e in entries if e.action == "apply release rule"]
    assert len(applied) == 1 and applied[0].object == "FRA/nato-6h" and f.item["id"] in applied[0].reason
    # an NR viewer of FRA's audit sees the application only if cleared for the source (NS)
    low = inst.audit.entries_page(originator="FRA", after=0, limit=1000, viewer=(1, frozenset()))[0]
    assert not [e for e in low if e.action == "apply release rule"]


def test_a_scene_not_releasable_to_the_producer_publishes_nothing(tmp_path: Path, scene: Path) -> None:
    inst = Instance.open(tmp_path / "i")
    _publish_scene(inst, scene)
    inst.library.write_release_rule(FRA, RULE)  # even with a rule, POL may not read the scene to analyse it
    with pytest.raises(NotFound):
        _analyze(inst, "POL", "s1", None, now=ACQ + timedelta(days=1))
    assert _findings(inst, user("FRA", "CTS")) == [] and _findings(inst, user("POL", "CTS")) == []


def test_a_corrupt_scene_is_a_clear_error_and_leaves_no_finding(tmp_path: Path, scene: Path) -> None:
    inst = Instance.open(tmp_path / "i")
    _publish_scene(inst, scene, data=b"II*\x00 this is not a GeoTIFF")
    with pytest.raises(InputError):
        _analyze(inst, "FRA", "s1", None, now=ACQ)
    assert _findings(inst, user("FRA", "CTS")) == []
    # a file: href outside any root the instance may read is refused, naming the field
    doc = item("s2", "fra-sar", cls="NU", dt="2026-12-03T06:00:00Z")
    doc["assets"] = {"data": {"href": "file:///etc/passwd"}}
    inst.library.publish(FRA, "fra-sar", [doc])
    with pytest.raises(InputError, match="assets.data.href"):
        _analyze(inst, "FRA", "s2", None, now=ACQ)
    assert _findings(inst, user("FRA", "CTS")) == []


def test_cli_analyze_ships_end_to_end(tmp_path: Path, scene: Path) -> None:
    inst = Instance.open(tmp_path / "i")
    _publish_scene(inst, scene)
    inst.close()
    args = ["analyze", "ships", "--data", str(tmp_path / "i"), "--item", "fra-sar/s1", "--ais",
            str(scene / "ais.jsonl"), "--land-mask", str(scene / "land.tif")]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    assert "published" in r.output and "label NS REL DEU" in r.output and "dark" in r.output
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0 and "already published" in r.output
    r = CliRunner().invoke(cli, [*args[:4], "--item", "no-slash"])
    assert r.exit_code == 2 and "--item" in r.output
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "catalog.db").write_bytes(b"not a database at all, " * 10)
    r = CliRunner().invoke(cli, ["analyze", "ships", "--data", str(tmp_path / "bad"), "--item", "a/b"])
    assert r.exit_code == 2 and "not a readable catalog" in r.output


def test_the_maritime_demo_crosses_the_tear_line_only_after_the_embargo(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from aquila.cli.maritime_demo import run_maritime_demo

    buf = io.StringIO()
    d = run_maritime_demo(Console(file=buf, width=200), tmp_path / "demo", size_px=512)
    text = buf.getvalue()
    assert "NR REL NATO" in text and "rule DEU/sar-detections-nato" in text and "rule applies after" in text
    inst = Instance.open(d)
    est, aus, fra = user("EST", "NR"), user("AUS", "CTS"), user("FRA", "NS")
    assert [f["properties"]["aquila:source"] for f in _findings(inst, est)] == [["deu-sar/gotland-east"]]
    assert _findings(inst, aus) == [] and len(_findings(inst, fra)) == 2
    assert inst.audit.verify().ok


def test_attacks_on_findings_found_in_review(tmp_path: Path, scene: Path) -> None:
    """A planted item at the finding's id, a relabel below the derivation, a file of another nation, a VRT."""
    import rasterio

    inst = Instance.open(tmp_path / "i")
    _publish_scene(inst, scene, cls="NC", rel=["NATO"])
    inst.library.write_release_rule(FRA, RULE)
    first = _analyze(inst, "FRA", "s1", None, land_mask="none", now=ACQ + timedelta(days=1))
    fid = first.item["id"]
    assert fid.startswith("ships-") and len(fid) == 30
    # another instance key gives another id: ids cannot be predicted from outside (no planting, no label oracle)
    from aquila.analytics.findings import _finding_id

    stored = inst.library.get_item(FRA, "fra-sar", "s1")
    assert _finding_id(stored, "FRA", b"k" * 32) != fid
    # the producer's own later relabel cannot go below the derivation (NR REL NATO)
    lower = dict(first.item["properties"], **{"sec:classification": "NU", "sec:releasable_to": ["NATO", "EU"]})
    with pytest.raises(Forbidden, match="derivation"):
        inst.library.update(FRA, FINDINGS_COLLECTION, fid, dict(first.item, properties=lower))
    higher = dict(first.item["properties"], **{"sec:classification": "NC"})
    inst.library.update(FRA, FINDINGS_COLLECTION, fid, dict(first.item, properties=higher))  # stricter: fine
    # an item with a DEU-planted id in FRA's collection is not mistaken for FRA's finding
    deu = user("DEU", "NS", roles=("provider",))
    inst.library.operator_collection(collection("fra-sar2", rel=["NATO"]))
    doc2 = item("s9", "fra-sar", cls="NU", rel=["NATO"], dt="2026-12-03T06:00:00Z")
    doc2["assets"] = {}
    inst.library.publish(FRA, "fra-sar", [doc2], assets={"s9": {"data": ((scene / "scene.tif").read_bytes(),
                                                                     "image/tiff")}})
    s9 = inst.library.get_item(FRA, "fra-sar", "s9")
    planted_id = _finding_id(s9, "FRA", inst.findings_key)  # as if DEU had guessed it
    plant = item(planted_id, FINDINGS_COLLECTION, cls="NU", rel=["NATO"], orig="DEU",
                 **{"aquila:vessels": 0, "aquila:source": ["fra-sar/s9"]})
    inst.library.publish(deu, FINDINGS_COLLECTION, [plant])
    with pytest.raises(Conflict):  # FRA cannot publish over it, but is never handed DEU's document as its own
        _analyze(inst, "FRA", "s9", None, land_mask="none", now=ACQ + timedelta(days=1))
    # file: hrefs: only under ROOT/<the item's originator>/; a VRT never opens
    root = tmp_path / "root"
    (root / "DEU").mkdir(parents=True)
    (root / "FRA").mkdir()
    (root / "DEU" / "secret.tif").write_bytes((scene / "scene.tif").read_bytes())
    borrow = item("s3", "fra-sar", cls="NU", rel=["NATO"], dt="2026-12-03T06:00:00Z")
    borrow["assets"] = {"data": {"href": f"file://{root / 'DEU' / 'secret.tif'}"}}
    inst.library.publish(FRA, "fra-sar", [borrow])
    with pytest.raises(InputError, match="ROOT/FRA"):
        _analyze(inst, "FRA", "s3", None, land_mask="none", read_roots=[root], now=ACQ)
    with rasterio.open(scene / "scene.tif") as src:
        w, h = src.width, src.height
    vrt = (f'<VRTDataset rasterXSize="{w}" rasterYSize="{h}"><SRS>EPSG:4326</SRS><GeoTransform>19,1e-4,0,57,0,-1e-4'
           f'</GeoTransform><VRTRasterBand dataType="Float32" band="1"><SimpleSource><SourceFilename '
           f'relativeToVRT="0">{scene / "scene.tif"}</SourceFilename><SourceBand>1</SourceBand></SimpleSource>'
           f'</VRTRasterBand></VRTDataset>').encode()
    doc4 = item("s4", "fra-sar", cls="NU", rel=["NATO"], dt="2026-12-03T06:00:00Z")
    inst.library.publish(FRA, "fra-sar", [doc4], assets={"s4": {"data": (vrt, "image/tiff")}})
    with pytest.raises(InputError, match="not a GeoTIFF"):
        _analyze(inst, "FRA", "s4", None, land_mask="none", now=ACQ)
