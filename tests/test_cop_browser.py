"""The common operational picture as two nations' watch officers open it: real headless Chromium against a real
server. Each map draws exactly what the library's search releases to its user (the footprint tiles it loaded
colour each released footprint and leave each hidden one's ground bare) and nothing else reaches the browser;
every marking shown is the label's; the banner shows the highest classification on screen; a click on a
footprint shows its label, a click where only a hidden one lies shows nothing; a live alert arrives without a
reload (and an unreleasable one never does); item text from other nations stays text. Screenshots are left in
.artifacts/ (AQUILA_TEST_ARTIFACTS) for people to look at."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from aquila.catalog import validate_item
from aquila.security.labels import Classification, Label
from aquila.security.policy import User
from browser import chromium_page
from conftest import LiveServer, tile_pixel

ARTIFACTS = Path(os.environ.get("AQUILA_TEST_ARTIFACTS", Path(__file__).parents[1] / ".artifacts"))
DEU = User("DEU", Classification.NS, subject="deu-watch")
EST = User("EST", Classification.NR, frozenset({"BALTIC"}), subject="est-watch")
XSS = '<img src=x onerror="window.__pwned = 1">'
ZULU = "zulu-anchorage"  # an area of interest labelled for DEU (and POL) only
ZULU_LABEL = Label.from_properties({"sec:classification": "NS", "sec:releasable_to": ["DEU", "POL"],
                                    "sec:originator": "DEU"})

# (id, classification, releasable_to, caveats, originator, lon, lat)
ITEMS = [("all-nu", "NU", ["NATO"], [], "FRA", 18.0, 56.0),
         ("baltic-nr", "NR", ["NATO"], ["BALTIC"], "FIN", 21.0, 58.5),
         ("deu-ns", "NS", ["DEU"], [], "FRA", 15.0, 55.0),
         ("est-only", "NR", ["EST"], [], "EST", 24.0, 59.2),
         ("cosmic", "CTS", ["NATO"], [], "USA", 20.0, 57.0),
         ("hostile-text", "NU", ["NATO"], [], "FRA", 5.0, 45.0)]


def _item(iid: str, cls: str, rel: list[str], cav: list[str], org: str, lon: float, lat: float) -> Any:
    return validate_item({
        "type": "Feature", "id": iid, "collection": "cop-test",
        "geometry": {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 1, lat], [lon + 1, lat + 0.5],
                                                         [lon, lat + 0.5], [lon, lat]]]},
        "properties": {"datetime": "2026-12-03T06:00:00Z", "platform": XSS if iid == "hostile-text" else "SAT-1",
                       "sec:classification": cls, "sec:releasable_to": rel, "sec:caveats": cav,
                       "sec:originator": org}})


@pytest.fixture(scope="module")
def cop(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from rich.console import Console

    from aquila.cli.maritime_demo import run_maritime_demo
    from aquila.config import Settings
    from aquila.instance import Instance

    d = tmp_path_factory.mktemp("cop") / "instance"
    run_maritime_demo(Console(file=io.StringIO()), d, size_px=512)  # DEU SAR scenes, findings, dark vessels
    inst = Instance.open(d)
    inst.library.operator_collection({"type": "Collection", "id": "cop-test", "description": "labels of all kinds",
                                      "sec:classification": "NU", "sec:releasable_to": ["NATO"],
                                      "sec:originator": "BEL"})
    store = Instance.catalog_of(d)
    store.register_caveats(["BALTIC"])
    store.close()
    inst.library.ingest([_item(*spec) for spec in ITEMS])
    inst.close()
    aois = d.parent / "aois.geojson"
    aois.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "gotland", "properties": {"name": "Gotland"},
         "geometry": {"type": "Point", "coordinates": [19.6, 57.4]}},
        {"type": "Feature", "id": ZULU, "properties": {"name": "Operation Zulu", **ZULU_LABEL.to_properties()},
         "geometry": {"type": "Polygon", "coordinates": [[[16.0, 55.2], [17.0, 55.2], [17.0, 55.8], [16.0, 55.8],
                                                          [16.0, 55.2]]]}}]}))
    srv = LiveServer(d, Settings(aois=aois, outlook_hours=3, data_dir=d.parent / "elements",
                                      outlook_publish_step_s=0.5))
    yield srv
    srv.stop()


def _released(srv: LiveServer, u: User) -> dict[str, dict[str, Any]]:
    """What the library's search gives the user: key -> properties."""
    with srv.client(u) as c:
        r = c.post("/search", json={"limit": 10000})
        assert r.status_code == 200
        return {f"{f['collection']}/{f['id']}": f["properties"] for f in r.json()["features"]}


def _features(doc: Any) -> set[str]:
    """collection/id of every STAC item anywhere in a JSON document."""
    out: set[str] = set()
    if isinstance(doc, dict):
        if doc.get("type") == "Feature" and "collection" in doc and "id" in doc:
            out.add(f"{doc['collection']}/{doc['id']}")
        for v in doc.values():
            out |= _features(v)
    elif isinstance(doc, list):
        for v in doc:
            out |= _features(v)
    return out


def _loaded_tiles(responses: list[Any], srv: LiveServer) -> dict[tuple[int, int, int], Any]:
    """The footprint tiles the page loaded, as images: (z, x, y) -> RGBA image (None: an empty tile)."""
    from PIL import Image

    out: dict[tuple[int, int, int], Any] = {}
    for r in responses:
        if r.url.startswith(f"{srv.url}/tiles/footprints/"):
            z, x, y = (int(v) for v in r.url.split("/tiles/footprints/")[1].split(".png")[0].split("/"))
            assert r.status in (200, 204), r.url
            out[(z, x, y)] = Image.open(io.BytesIO(r.body())).convert("RGBA") if r.status == 200 else None
    return out


def _open(page: Any, srv: LiveServer, u: User) -> list[Any]:
    responses: list[Any] = []
    page.on("response", lambda r: responses.append(r))
    page.goto(f"{srv.url}/cop/#token={srv.token(u)}")
    page.wait_for_function("() => document.body.dataset.catalog === 'ready'", timeout=30_000)
    page.wait_for_function("() => document.body.dataset.alerts === 'connected'", timeout=30_000)
    page.wait_for_function("() => window.cop.map.loaded() && window.cop.map.areTilesLoaded()", timeout=30_000)
    return responses


@pytest.mark.parametrize("who", ["DEU", "EST"])
def test_each_nation_sees_exactly_what_is_released_to_it(cop: LiveServer, who: str) -> None:
    u, other = (DEU, EST) if who == "DEU" else (EST, DEU)
    mine, theirs = _released(cop, u), _released(cop, other)
    everything = {f"cop-test/{spec[0]}" for spec in ITEMS}
    assert mine and mine.keys() != theirs.keys()
    with chromium_page(1280, 800) as page:
        responses = _open(page, cop, u)
        assert "#token" not in page.url  # out of the address bar and the history
        tiles = page.evaluate("() => window.cop.state.tiles")
        # the tiles draw what the search releases (the library's rule, not the page's): as many footprints
        assert tiles["aquila:footprints"] == len(mine) and tiles["aquila:more"] is False
        top = max(Classification[p["sec:classification"]] for p in mine.values())
        assert tiles["aquila:highest_classification"] == top.name
        assert page.inner_text("#banner-top") == top.full_name == page.inner_text("#banner-bottom")
        # the items the page holds (findings, their vessels' labels) are released ones, each marking the label's
        shown = page.evaluate("() => Object.fromEntries([...window.cop.state.items].map(([k, i]) => "
                              "[k, window.cop.marking(i.properties)]))")
        assert shown and set(shown) <= set(mine)
        for k, text in shown.items():
            assert text == Label.from_properties(mine[k]).marking, k
        hidden = (everything | set(theirs)) - set(mine)
        assert hidden
        page.wait_for_function("() => document.body.dataset.outlook === 'ready'", timeout=120_000)
        # drawn: in the tiles the page loaded, each released test footprint's centre is coloured in its
        # classification's colour, and each hidden one's ground is bare
        loaded = _loaded_tiles(responses, cop)
        z = max(k[0] for k in loaded)
        colours = {k: tuple(int(v[i:i + 2], 16) for i in (1, 3, 5)) for k, v in tiles["aquila:colours"].items()}
        checked = 0
        for iid, cls, *_, lon, lat in ITEMS:
            x, y, col, row = tile_pixel(lon + 0.5, lat + 0.25, z)
            if (z, x, y) not in loaded:
                continue
            img = loaded[(z, x, y)]
            pixel = img.getpixel((int(col), int(row))) if img is not None else (0, 0, 0, 0)
            if f"cop-test/{iid}" in mine:
                assert pixel[3] > 0 and pixel[:3] == colours[cls], (iid, pixel)
            else:
                assert pixel == (0, 0, 0, 0), (iid, pixel)
            checked += 1
        assert checked >= 4, (checked, sorted(loaded))
        # a click on a released footprint shows its label; where only a hidden one lies, nothing
        mine_test = next(spec for spec in ITEMS if f"cop-test/{spec[0]}" in mine and spec[0] != "hostile-text")
        hidden_test = next(spec for spec in ITEMS if f"cop-test/{spec[0]}" not in mine)
        box = page.locator("#map").bounding_box()
        for spec, expect in ((hidden_test, False), (mine_test, True)):
            page.evaluate("() => document.querySelectorAll('.maplibregl-popup').forEach((p) => p.remove())")
            centre = [spec[5] + 0.5, spec[6] + 0.25]
            page.evaluate(f"() => window.cop.map.jumpTo({{center: {centre}, zoom: 6}})")
            page.wait_for_function("() => window.cop.map.loaded() && window.cop.map.areTilesLoaded()", timeout=30_000)
            with page.expect_response(lambda r: r.url.endswith("/search")) as picked:
                xy = page.evaluate(f"() => {{ const p = window.cop.map.project({centre}); return [p.x, p.y]; }}")
                page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
            assert picked.value.status == 200
            assert (f"cop-test/{spec[0]}" in _features(picked.value.json())) is expect
            if expect:
                page.wait_for_selector(".maplibregl-popup .marking", timeout=10_000)
                assert page.inner_text(".maplibregl-popup .marking") == Label.from_properties(
                    mine[f"cop-test/{spec[0]}"]).marking
            else:
                assert f"cop-test/{spec[0]}" not in page.inner_text("#map")
        # nothing the user may not read reached the browser, in any body it received (clicks' searches too)
        received: set[str] = set()
        for r in responses:
            if r.url.startswith(cop.url) and "json" in r.headers.get("content-type", ""):
                body = r.text()
                received |= _features(json.loads(body))
                for k in hidden & everything:  # their ids are nowhere (a finding may name its source scene's id)
                    assert k.split("/")[1] not in body, (r.url, k)
        assert received and not received & hidden
        # the basemap's tiles (cut at set-up) drew the land under them: Sweden, Estonia, ... are in view
        names = page.evaluate("() => [...new Set(window.cop.map.queryRenderedFeatures({layers: ['land']})"
                              ".map((f) => f.properties.name))]")
        assert {"Sweden", "Estonia"} <= set(names), names
        counts = page.evaluate("() => window.cop.state.counts")
        dark = 0
        with cop.client(u) as c:
            for k, p in mine.items():
                if k.startswith("maritime-findings/"):
                    dark += p["aquila:dark_vessels"]
                    assets = c.get(f"/collections/{k.replace('/', '/items/')}").json()["assets"]
                    fc = c.get(assets["detections"]["href"]).json()
                    assert sum(1 for f in fc["features"] if f["properties"].get("dark")) == p["aquila:dark_vessels"]
        assert counts["dark"] == dark > 0
        # the outlook layers: the area, its revisit cells, and the opportunities in the horizon
        with cop.client(u) as c:
            outlook = c.get("/outlook").json()
        areas = {f["properties"]["id"] for f in outlook["aois"]["features"]}
        assert areas == ({"gotland", ZULU} if who == "DEU" else {"gotland"})  # the labelled area: DEU's only
        assert counts["aois"] == len(areas) and counts["revisit"] == len(outlook["revisit"]["features"]) > 0
        if who == "EST":  # nothing of it reached EST's browser; leaving it out was audited, under its label
            assert all(ZULU not in r.text() and "Zulu" not in r.text() for r in responses
                       if r.url.startswith(cop.url) and "json" in r.headers.get("content-type", ""))
            left_out = [e for e in cop.instance.audit.entries(after=0, limit=1_000_000)
                        if e.action == "read outlook area" and e.subject == "est-watch"]
            assert left_out and {(e.object, e.allowed) for e in left_out} == {(f"outlook/{ZULU}", False)}
            assert all(e.originators == ("DEU",) for e in left_out)  # scoped: DEU's auditors see it
        else:  # a click inside it (on its heat-map cells) shows its label
            xy = page.evaluate("() => { const p = window.cop.map.project([16.5, 55.5]); return [p.x, p.y]; }")
            box = page.locator("#map").bounding_box()
            page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
            page.wait_for_function("() => [...document.querySelectorAll('.maplibregl-popup .marking')]"
                                   f".some((m) => m.textContent === {json.dumps(ZULU_LABEL.marking)})",
                                   timeout=30_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"cop-{who}.png"))
        assert [e for e in page.errors if "GL Driver" not in e] == []


def test_a_live_alert_arrives_and_an_unreleasable_one_never_does(cop: LiveServer) -> None:
    with cop.client(EST) as c:
        r = c.post("/subscriptions", json={"collections": ["cop-test"], "bbox": [30, 60, 32, 62]})
        assert r.status_code == 201
    with chromium_page(1280, 800) as page:
        _open(page, cop, EST)
        lib = cop.instance.library
        lib.ingest([_item("late-cosmic", "CTS", ["NATO"], [], "USA", 30.5, 60.5)])  # matches, not releasable
        lib.ingest([_item("late-baltic", "NR", ["NATO"], ["BALTIC"], "FIN", 30.6, 60.6)])
        page.wait_for_function("() => [...document.querySelectorAll('#alerts li')].some("
                               "li => li.textContent.includes('cop-test/late-baltic'))", timeout=30_000)
        text = page.inner_text("#alerts")
        assert "late-cosmic" not in text and "NATO RESTRICTED REL TO NATO // BALTIC" in text
        assert page.evaluate("() => window.cop.state.items.has('cop-test/late-baltic')")
        assert not page.evaluate("() => window.cop.state.items.has('cop-test/late-cosmic')")


def test_other_nations_text_stays_text(cop: LiveServer) -> None:
    """An item's properties are another nation's input: a popup shows them as text, never as markup."""
    with chromium_page(1280, 800) as page:
        _open(page, cop, DEU)
        page.evaluate("() => window.cop.map.jumpTo({center: [5.5, 45.25], zoom: 7})")
        page.wait_for_function("() => window.cop.map.loaded() && window.cop.map.areTilesLoaded()", timeout=30_000)
        box = page.locator("#map").bounding_box()
        xy = page.evaluate("() => { const p = window.cop.map.project([5.5, 45.25]); return [p.x, p.y]; }")
        page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
        page.wait_for_selector(".maplibregl-popup", timeout=10_000)
        popup = page.inner_text(".maplibregl-popup")
        assert XSS in popup and "cop-test/hostile-text" in popup and "NATO UNCLASSIFIED REL TO NATO" in popup
        assert page.evaluate("() => document.querySelectorAll('.maplibregl-popup img, #selected img').length") == 0
        assert page.evaluate("() => window.__pwned") is None


def test_the_picture_holds_no_data_and_needs_no_network(cop: LiveServer) -> None:
    """The app's files are public and data-free; every request the page makes goes to its own server."""
    page_html = httpx.get(f"{cop.url}/cop/").text
    for spec in ITEMS:
        assert spec[0] not in page_html
    with chromium_page(1280, 800) as page:
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        _open(page, cop, EST)
        assert requests and all(u.startswith(cop.url) or u.startswith(("data:", "blob:")) for u in requests)


def test_a_refused_token_signs_nobody_in_though_the_first_request_left_with_it(cop: LiveServer) -> None:
    """The page asks for its footprint tiles' description together with /me (it is the longest wait): with a token
    the server refuses, that request is refused too, nothing reaches the page, and the sign-in form says why."""
    good = cop.token(DEU)
    forged = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    with chromium_page() as page:
        page.goto(f"{cop.url}/cop/#token={forged}")
        page.wait_for_function("() => document.getElementById('signin-error').textContent.includes('sign-in refused')",
                               timeout=30_000)
        statuses = "() => performance.getEntriesByType('resource').filter((e) => " \
                   "e.name.endsWith('/tiles/footprints.json')).map((e) => e.responseStatus)"
        page.wait_for_function(f"() => ({statuses})().length > 0", timeout=30_000)
        assert set(page.evaluate(statuses)) == {401}
        assert page.evaluate("() => window.cop.state.items.size") == 0
        assert page.is_visible("#signin") and page.is_hidden("#panel")
        assert page.evaluate("() => sessionStorage.getItem('aquila-token')") is None
