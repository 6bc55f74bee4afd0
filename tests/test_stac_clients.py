"""Standard clients against a real server: pystac-client, and the public stac-api-validator."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pystac_client import Client

from aquila.catalog import validate_item
from conftest import SHARED_DATA, serve_child
from library_helpers import collection, item, user

READER = user("FRA", "CTS", roles=("provider", "admin"))


def _seed(live, n: int = 23) -> None:  # type: ignore[no-untyped-def]
    store = live.instance.store
    store.put_collection(collection("sar", rel=["NATO"]), create=True)
    rows = []
    for k in range(n):
        d = item(f"s{k:02d}", "sar", rel=["NATO"] if k % 3 else ["FRA"], cls="NR" if k % 2 else "NS",
                 lon=-77.05 + k * 0.001, lat=38.8, dt=f"2026-03-{1 + k:02d}T10:00:00Z",
                 **{"eo:cloud_cover": k * 7 % 100, "mission": "sentinel-1" if k % 2 else "iceye"})
        d["assets"] = {"data": {"href": "https://example.org/data.tif", "type": "image/tiff"}}
        rows.append(validate_item(d))
    store.add_items(rows)


def test_pystac_client_search_paging_and_filter(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    tok = live.token(user("DEU", "NS"))
    client = Client.open(live.url + "/", headers={"Authorization": f"Bearer {tok}"})
    search = client.search(collections=["sar"], max_items=None, limit=4)
    items = list(search.items())
    # DEU sees the NATO-releasable ones only (k % 3 != 0), paged 4 at a time
    assert sorted(i.id for i in items) == sorted(f"s{k:02d}" for k in range(23) if k % 3)
    assert search.matched() == len(items)
    filt = client.search(collections=["sar"], filter="\"eo:cloud_cover\" < 50 AND mission = 'iceye'",
                         filter_lang="cql2-text", limit=3)
    got = list(filt.items())
    assert got and all(i.properties["eo:cloud_cover"] < 50 and i.properties["mission"] == "iceye" for i in got)
    assert {i.id for i in got} == {f"s{k:02d}" for k in range(23) if k % 3 and k % 2 == 0 and k * 7 % 100 < 50}
    coll = client.get_collection("sar")
    assert coll.id == "sar"


def test_stac_api_validator_passes(live) -> None:  # type: ignore[no-untyped-def]
    tool = SHARED_DATA.parent / "tools" / "stac_api_validator_offline.py"
    if not tool.exists():
        pytest.skip(f"{tool} is absent (../shared/tools is only beside CI and developer checkouts)")
    _seed(live)
    tok = live.token(READER)
    out = subprocess.run(
        [sys.executable, str(tool), "--root-url", live.url + "/",
         *[a for c in ("core", "collections", "features", "item-search", "filter", "item-search#sort",
                       "item-search#fields") for a in ("--conformance", c)],
         "--collection", "sar", "--geometry", '{"type":"Point","coordinates":[-77.05,38.8]}',
         "--fields-nested-property", "properties.eo:cloud_cover",
         "--auth-bearer-token", tok, "--headers", f"Authorization:Bearer {tok}"],
        capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Errors: none" in out.stdout + out.stderr


def test_aquila_serve_command_with_pystac_client(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The operator's path end to end: `aquila token`, `aquila ingest`, `aquila serve`, then a client."""
    import json


    data = tmp_path / "inst"
    from aquila.instance import Instance

    inst = Instance.open(data)
    inst.store.put_collection(collection("sar", rel=["NATO"]), create=True)
    inst.store.close()
    src = tmp_path / "items.json"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": [
        item(f"c{k}", "sar", rel=["NATO"] if k % 2 else ["FRA"]) for k in range(6)]}))
    run = [sys.executable, "-m", "aquila"]
    assert subprocess.run([*run, "ingest", "--data", str(data), str(src)], capture_output=True).returncode == 0
    tok = subprocess.run([*run, "token", "--data", str(data), "--nation", "ITA", "--clearance", "NS"],
                         capture_output=True, text=True).stdout.strip()
    proc, port = serve_child(data)
    try:
        url = f"http://127.0.0.1:{port}/"
        client = Client.open(url, headers={"Authorization": f"Bearer {tok}"})
        assert sorted(i.id for i in client.search(collections=["sar"]).items()) == ["c1", "c3", "c5"]
    finally:
        proc.terminate()
        proc.wait(10)
