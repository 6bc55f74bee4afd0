"""Benchmark: the operational picture with 10,000 catalog footprints, interactive in headless Chromium.

    .venv/bin/python benchmarks/cop_map.py                  # 10,000 footprints, 3 runs each
    .venv/bin/python benchmarks/cop_map.py --items 2000 --runs 1

`aquila serve` on an instance holding N footprint polygons released to the user (scenes of ~50 x 30 km over
the Baltic and the Black Sea, five labels) among more that are not. Measured in a fresh page each run, from
navigation: **ready** (signed in, the footprint tiles' description in — for which the server builds the index
of the user's footprints —, findings, subscriptions and alerts loaded), **drawn** (the map idle with every
footprint tile in view loaded and drawn), **click** (a click on a footprint to its popup with the label shown:
the picture asks the search what lies there). The first load after the server started has the server build the
user's index by a whole search; before each later run an item released to the user is published, which the
server reads into the index; the "unchanged" row loads the page again. The anchor, in the same run: a bare
MapLibre page drawing the same polygons from a static GeoJSON file (no sign-in, no labels, no search), served
from a plain static server: what the map library alone needs to show them as vector polygons.
"""

from __future__ import annotations

import argparse
import http.server
import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from aquila.catalog import validate_item  # noqa: E402
from aquila.instance import Instance  # noqa: E402
from aquila.security.labels import Classification  # noqa: E402
from aquila.security.policy import Role, User  # noqa: E402
from aquila.web import WEB_DIR  # noqa: E402
from browser import CHROMIUM, FLAGS  # noqa: E402  (the tests' Chromium set-up)
from served import served  # noqa: E402  benchmarks/ (the script's folder)

LABELS = [("NU", ["NATO"]), ("NR", ["NATO"]), ("NS", ["DEU", "POL"]), ("NC", ["NATO"]), ("NR", ["DEU"])]
HIDDEN = [("NC", ["FVEY"]), ("NR", ["EST"]), ("CTS", ["NATO"])]  # labels that do not release to the user
USER = User("DEU", Classification.NS, subject="deu-watch")

ANCHOR = """<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="maplibre-gl.css">
<style>html,body,#map{margin:0;height:100%}</style></head><body><div id="map"></div><script type="module">
import * as maplibregl from './maplibre-gl.mjs';
const map = new maplibregl.Map({container: 'map', center: [22, 52], zoom: 3.2, style: {version: 8, sources: {},
  layers: [{id: 'sea', type: 'background', paint: {'background-color': '#0b2233'}}]}});
map.on('load', async () => {
  const fc = await (await fetch('footprints.geojson')).json();
  let w = 180, s = 90, e = -180, n = -90;  // the same view as the picture: fitted to the footprints
  for (const f of fc.features) for (const [x, y] of f.geometry.coordinates[0]) {
    w = Math.min(w, x); e = Math.max(e, x); s = Math.min(s, y); n = Math.max(n, y); }
  map.fitBounds([[w, s], [e, n]], {padding: 40, maxZoom: 7, duration: 0});
  map.addSource('f', {type: 'geojson', data: fc});
  map.addLayer({id: 'footprints', type: 'fill', source: 'f', paint: {'fill-opacity': 0.25, 'fill-color': '#8e6fe0'}});
  map.on('click', 'footprints', (e) => { new maplibregl.Popup().setLngLat(e.lngLat)
    .setText(e.features[0].properties.id).addTo(map); });
  document.body.dataset.catalog = 'ready';
});
window.cop = {get map() { return map; }};
</script></body></html>"""


def _items(n: int, hidden: int, seed: int = 1) -> list[Any]:
    rnd = random.Random(seed)
    out = []
    for k in range(n + hidden):
        lon, lat = (rnd.uniform(12, 28), rnd.uniform(54, 60)) if k % 2 else (rnd.uniform(28, 40), rnd.uniform(41, 46))
        cls, rel = LABELS[k % len(LABELS)] if k < n else HIDDEN[k % len(HIDDEN)]
        out.append(validate_item({
            "type": "Feature", "id": f"scene-{k:05d}", "collection": "bench",
            "geometry": {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.8, lat + 0.05],
                                                             [lon + 0.75, lat + 0.3], [lon - 0.05, lat + 0.25],
                                                             [lon, lat]]]},
            "properties": {"datetime": f"2026-12-0{1 + k % 3}T{k % 24:02d}:00:00Z", "platform": f"SAT-{k % 17}",
                           "sec:classification": cls, "sec:releasable_to": rel, "sec:caveats": [],
                           "sec:originator": "DEU" if k % 7 == 0 and k < n else "FRA"}}))
    return out


def _measure(page: Any, url: str, target: list[float], clicks: bool = True) -> dict[str, float]:
    """ready, drawn, click (on `target`, a point inside a released footprint) and interactive seconds."""
    picture = "/cop/" in url
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function("() => document.body.dataset.catalog === 'ready'", timeout=120_000, polling=10)
    ready = time.perf_counter() - t0
    # drawn: the picture's footprints are raster tiles (all of those in view loaded), the anchor's polygons
    drawn_js = ("() => window.cop.map.loaded() && !window.cop.map.isMoving() && window.cop.map.areTilesLoaded()"
                " && window.cop.map.isSourceLoaded('library')") if picture else \
        ("() => window.cop.map.loaded() && !window.cop.map.isMoving() && "
         "window.cop.map.queryRenderedFeatures({layers: ['footprints']}).length > 0")
    page.wait_for_function(drawn_js, timeout=120_000, polling=10)
    drawn = time.perf_counter() - t0
    out = {"ready_s": ready, "drawn_s": drawn}
    if picture:  # where the picture's time goes: its footprint tiles' description (the server builds the index)
        entry = "performance.getEntriesByType('resource').find(r => r.name.endsWith('/tiles/footprints.json'))"
        out["search_s"] = page.evaluate(f"() => {{ const e = {entry}; return (e.responseEnd - e.startTime) / 1e3; }}")
        out["search_start_s"] = page.evaluate(f"() => {entry}.startTime / 1e3")
    if clicks:
        xy = page.evaluate(f"() => {{ const p = window.cop.map.project({target}); return [p.x, p.y]; }}")
        box = page.locator("#map").bounding_box()
        t1 = time.perf_counter()
        page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])
        page.wait_for_selector(".maplibregl-popup", timeout=30_000)
        out["click_s"] = time.perf_counter() - t1
        out["interactive_s"] = drawn + out["click_s"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=10_000, help="footprints released to the user")
    ap.add_argument("--hidden", type=int, default=5_000, help="more that are not (the search leaves them out)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="aquila-bench-cop-"))
    inst = Instance.open(work / "inst")
    inst.library.operator_collection({"type": "Collection", "id": "bench", "description": "footprints",
                                      "sec:classification": "NU", "sec:releasable_to": ["NATO"],
                                      "sec:originator": "BEL"})
    items = _items(args.items, args.hidden)
    inst.library.ingest(items)
    token = inst.tokens.issue(USER)
    writer = inst.tokens.issue(User("BEL", Classification.CTS, roles=frozenset({Role.PROVIDER}), subject="bel-feed"))
    inst.close()
    # the anchor's static site: the same polygons (those released to the user) as one GeoJSON file
    site = work / "anchor"
    site.mkdir()
    (site / "index.html").write_text(ANCHOR)
    for name in ("maplibre-gl.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css"):
        shutil.copy(WEB_DIR / "node_modules/maplibre-gl/dist" / name, site / name)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, directory=str(site), **kw)

        def log_message(self, *a: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    anchor_url = f"http://127.0.0.1:{httpd.server_address[1]}/index.html"
    rows: dict[str, list[dict[str, float]]] = {"picture, first load": [], "picture, changed": [],
                                               "picture, unchanged": [], "anchor": []}
    with served(work / "inst", "--no-pipelines") as url:
        t = time.perf_counter()
        r = httpx.post(url + "/search", json={"limit": 10000, "fields": {"include": [
            "id", "collection", "geometry", "properties.datetime", "properties.sec:classification"]}},
            headers={"Authorization": f"Bearer {token}"}, timeout=120)
        search_s = time.perf_counter() - t
        released = r.json()["features"]
        ring = released[0]["geometry"]["coordinates"][0]
        target = [sum(v[0] for v in ring[:-1]) / (len(ring) - 1), sum(v[1] for v in ring[:-1]) / (len(ring) - 1)]
        (site / "footprints.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": f["geometry"], "properties": {"id": f["id"]}} for f in released]}))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            shown = len(released)
            for run in range(args.runs + 1):
                # the first load after the server started builds the user's index by a whole search; before each
                # later one an item released to the user is published, which the server reads again into the
                # index (a change the user may not see would cost nothing); then the page again, unchanged
                if run:
                    late = _items(1, 0, seed=100 + run)[0].doc | {"id": f"late-{run}"}
                    late["properties"] = late["properties"] | {"sec:originator": "BEL"}
                    assert httpx.post(f"{url}/collections/bench/items", json=late, timeout=60,
                                      headers={"Authorization": f"Bearer {writer}"}).status_code == 201
                    shown += 1
                pages = [("picture, changed" if run else "picture, first load", f"{url}/cop/#token={token}"),
                         ("picture, unchanged", f"{url}/cop/#token={token}"), ("anchor", anchor_url)]
                for name, target_url in pages:
                    page = browser.new_page(viewport={"width": 1400, "height": 900})
                    rows[name].append(_measure(page, target_url, target))
                    if name.startswith("picture"):
                        n = page.evaluate("() => window.cop.state.counts.footprints")
                        assert n == shown, (n, shown)
                    page.close()
            browser.close()
    httpd.shutdown()
    print(f"{args.items + args.hidden} footprints in the instance, {len(released)} released to {USER.nation} "
          f"(search of them, fields projected, over HTTP: {search_s:.2f} s); median of {args.runs} runs "
          "(the first load: one):")
    print(f"{'page':<20}{'ready s':>10}{'drawn s':>10}{'click s':>10}{'interactive s':>15}")
    for name, rs in rows.items():
        if not rs:
            continue
        med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        print(f"{name:<20}{med['ready_s']:>10.2f}{med['drawn_s']:>10.2f}{med['click_s']:>10.2f}"
              f"{med['interactive_s']:>15.2f}" + (f"   (its tiles' description: asked at {med['search_start_s']:.2f} s,"
                                                  f" took {med['search_s']:.2f} s)" if "search_s" in med else ""))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
