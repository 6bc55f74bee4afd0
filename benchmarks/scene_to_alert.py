"""Benchmark: scene to alert — a SAR scene uploaded into a pipeline collection, until a subscriber's SSE alert.

    .venv/bin/python benchmarks/scene_to_alert.py                 # 10240^2 (105 MPix) scenes, 5 uploads
    .venv/bin/python benchmarks/scene_to_alert.py --size 4096 --runs 3

What a watch officer waits for, through the real processes: `aquila serve` (the API, the alert dispatcher,
and its pipelines' worker child) on a fresh instance; a collection with `"aquila:pipelines": ["ships"]`; a
subscriber of another nation connected to `GET /alerts/stream`, subscribed to `maritime-findings`. After
one untimed warm-up scene (the worker's first after its start), each run creates an item and PUTs its
scene (a tiled deflate GeoTIFF, the `ships_scale.py` mosaic) as its `data` asset; timed is the upload's
response to the alert's arrival at the subscriber, with the per-stage split the run records
(`GET /pipelines/runs`). The land mask is the pipeline's default (`auto`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from aquila.instance import Instance  # noqa: E402
from aquila.security.labels import Classification  # noqa: E402
from aquila.security.policy import Role, User  # noqa: E402
from served import served  # noqa: E402
from ships_scale import mosaic  # noqa: E402

DEU = User("DEU", Classification.NS, frozenset(), frozenset({Role.PROVIDER}), subject="deu-provider")
EST = User("EST", Classification.NR, frozenset(), frozenset(), subject="est-watch-officer")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=10240)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", type=Path)
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="aquila-scene-to-alert-"))
    work.mkdir(parents=True, exist_ok=True)
    scene, _ = mosaic(work, args.size)
    os.sync()
    data = work / "instance"
    inst = Instance.open(data)
    inst.library.operator_collection({
        "type": "Collection", "id": "deu-sar", "stac_version": "1.1.0", "description": "DEU SAR", "license": "other",
        "links": [], "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[None, None]]}},
        "sec:classification": "NU", "sec:releasable_to": ["NATO"], "sec:caveats": [], "sec:originator": "DEU",
        "aquila:pipelines": ["ships"]})
    deu, est = inst.tokens.issue(DEU), inst.tokens.issue(EST)
    inst.close()
    with served(data) as url:
        h_est = {"Authorization": f"Bearer {est}"}
        assert httpx.post(url + "/subscriptions", json={"collections": ["maritime-findings"]}, headers=h_est,
                          timeout=30).status_code == 201
        arrivals: list[tuple[float, dict[str, Any]]] = []
        opened = threading.Event()

        def listen() -> None:
            try:
                with httpx.Client(timeout=None) as c, c.stream("GET", url + "/alerts/stream", headers=h_est) as r:
                    event = None
                    for line in r.iter_lines():
                        if line.startswith(": connected"):
                            opened.set()
                        elif line.startswith("event:"):
                            event = line[6:].strip()
                        elif line.startswith("data:") and event == "alert":
                            arrivals.append((time.perf_counter(), json.loads(line[5:])))
            except httpx.HTTPError:  # the server stopping at the end
                pass

        threading.Thread(target=listen, daemon=True).start()
        assert opened.wait(30)
        h_deu = {"Authorization": f"Bearer {deu}"}
        lat, rows = [], []
        with httpx.Client(base_url=url, headers=h_deu, timeout=600) as c:
            for k in range(-1, args.runs):  # run -1 is the warm-up: the worker's first scene after its start
                iid = f"scene-{k}" if k >= 0 else "warm-up"
                doc = {"type": "Feature", "stac_version": "1.1.0", "id": iid, "collection": "deu-sar",
                       "geometry": {"type": "Point", "coordinates": [19.5, 57.5]}, "links": [], "assets": {},
                       "properties": {"datetime": "2026-12-03T06:00:00Z", "sec:classification": "NU",
                                      "sec:releasable_to": ["NATO"], "sec:caveats": [], "sec:originator": "DEU"}}
                assert c.post("/collections/deu-sar/items", json=doc).status_code == 201
                n0 = len(arrivals)
                t_up = time.perf_counter()
                with scene.open("rb") as f:
                    r = c.put(f"/collections/deu-sar/items/{iid}/assets/data", content=f,
                              headers={"Content-Type": "image/tiff; application=geotiff"})
                t0 = time.perf_counter()
                assert r.status_code in (200, 201), r.text
                deadline = time.monotonic() + 300
                while len(arrivals) == n0 and time.monotonic() < deadline:
                    time.sleep(0.005)  # polling with a deadline
                if len(arrivals) == n0:
                    raise SystemExit(f"no alert for {iid} within 300 s")
                t1, alert = arrivals[n0]
                if k < 0:
                    print(f"warm-up scene (not counted): upload response -> alert {t1 - t0:.2f} s", flush=True)
                    continue
                lat.append(t1 - t0)
                runs = c.get("/pipelines/runs", params={"limit": 1000}).json()["runs"]
                run = next(x for x in runs if x["source"] == f"deu-sar/{iid}")
                rows.append((iid, t0 - t_up, t1 - t0, run["stages_s"], alert["item"]["properties"]["aquila:vessels"]))
                print(f"{iid}: upload {t0 - t_up:.2f} s; upload response -> alert {t1 - t0:.2f} s; stages "
                      + ", ".join(f"{k} {v:.2f}" for k, v in run["stages_s"].items())
                      + f"; {alert['item']['properties']['aquila:vessels']} vessels", flush=True)
        mpix = args.size * args.size / 1e6
        s = sorted(lat)
        p95 = s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]
        print(f"{args.size}^2 = {mpix:.0f} MPix, {args.runs} uploads: scene to alert p50 {s[len(s) // 2]:.2f} s, "
              f"p95 {p95:.2f} s, max {s[-1]:.2f} s")


if __name__ == "__main__":
    main()
