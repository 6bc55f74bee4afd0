"""Benchmark: does a search's time reveal holdings the user may not read?

    .venv/bin/python benchmarks/catalog_timing.py --items 100000

An instance with N items: N - 20,000 spread over Europe with the benchmark's random labels, and
20,000 FRA national items (NS, releasable to FRA only) packed into one 2 deg x 1.5 deg box and one
day. A DEU analyst (NS) searches that box and an empty box of the same size (and that day and an
empty day), interleaved, many times — over HTTP against a real `aquila serve` (what a user runs,
token check and audit included) and in-process. The anchor, on the same database file in the same
run, is the plain way: one unpartitioned R*Tree walk with the access rule as a filter on each
candidate (what the catalog did before label partitions). The figure is the ratio of medians,
hidden-heavy over empty; the target is <= 2.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from aquila.catalog import CatalogStore, SearchQuery, validate_item  # noqa: E402
from aquila.catalog.validate import parse_rfc3339  # noqa: E402
from aquila.security.labels import Classification  # noqa: E402
from aquila.security.policy import User  # noqa: E402
from aquila.security.tokens import TokenIssuer  # noqa: E402
from catalog import make_items  # noqa: E402

# both boxes and days lie outside the background items' area (lon -10..42, lat 35..70) and year (2026)
HIDDEN_BOX = (50.0, 40.0, 52.0, 41.5)
EMPTY_BOX = (60.0, 40.0, 62.0, 41.5)
HIDDEN_DAY = "2027-03-15"
EMPTY_DAY = "2027-06-15"
USER = User("DEU", Classification.NS, subject="deu-analyst")


def build(data: Path, n: int) -> None:
    items = make_items(n - 20_000)
    rng = np.random.default_rng(5)
    for k in range(20_000):
        items.append({"type": "Feature", "stac_version": "1.1.0", "id": f"fra-{k:05d}", "collection": "isr",
                      "geometry": {"type": "Point", "coordinates": [round(float(rng.uniform(50, 52)), 5),
                                                                    round(float(rng.uniform(40, 41.5)), 5)]},
                      "properties": {"datetime": f"{HIDDEN_DAY}T{k % 24:02d}:{k % 60:02d}:{k % 59:02d}Z",
                                     "sec:classification": "NS", "sec:releasable_to": [], "sec:caveats": [],
                                     "sec:originator": "FRA", "eo:cloud_cover": 10.0}, "links": [], "assets": {}})
    store = CatalogStore(data / "catalog.db")
    store.put_collection({"type": "Collection", "id": "isr", "description": "bench", "sec:classification": "NU",
                          "sec:releasable_to": ["NATO"], "sec:originator": "FRA"}, create=True)
    for i in range(0, len(items), 5000):
        store.add_items([validate_item(d) for d in items[i:i + 5000]])
    store.close()


def _day(d: str) -> tuple[float, float]:
    return parse_rfc3339(f"{d}T00:00:00Z", "d"), parse_rfc3339(f"{d}T23:59:59Z", "d")


def median_ms(xs: list[float]) -> float:
    return round(statistics.median(xs) * 1e3, 3)


def timed(pairs: dict[str, tuple[Any, Any]], run: Any, reps: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (hidden, empty) in pairs.items():
        th: list[float] = []
        te: list[float] = []
        for _ in range(reps):  # interleaved, so drift hits both alike
            t = time.perf_counter()
            run(hidden)
            th.append(time.perf_counter() - t)
            t = time.perf_counter()
            run(empty)
            te.append(time.perf_counter() - t)
        out[name] = {"hidden_p50_ms": median_ms(th), "empty_p50_ms": median_ms(te),
                     "ratio": round(statistics.median(th) / statistics.median(te), 2)}
    return out


def anchor(store: CatalogStore) -> Any:
    """The plain way, on the same file: unpartitioned indexes (a 2D R*Tree, a time index) over every
    item, the rule checked on each candidate — what the catalog did before label partitions."""
    db = store._conn()
    db.executescript("CREATE VIRTUAL TABLE IF NOT EXISTS anchor_rtree USING rtree(rid, minx, maxx, miny, maxy);"
                     "INSERT INTO anchor_rtree SELECT rid, minx, maxx, miny, maxy FROM items WHERE minx IS NOT NULL;"
                     "CREATE INDEX IF NOT EXISTS anchor_time ON items (start_dt, end_dt, pid);")
    pids = json.dumps(store.readable_partitions(USER, ["isr"]))

    def run(q: SearchQuery) -> None:
        if q.bbox is not None:
            w, s, e, n = q.bbox
            src = ("anchor_rtree rt CROSS JOIN items ON items.rid = rt.rid WHERE rt.maxx >= ? AND rt.minx <= ? "
                   "AND rt.maxy >= ? AND rt.miny <= ?")
            params: list[Any] = [w, e, s, n]
        else:
            lo, hi = q.datetime_range  # type: ignore[misc]
            src = "items INDEXED BY anchor_time WHERE items.start_dt <= ? AND items.start_dt >= ? AND items.end_dt >= ?"
            params = [hi, lo - 86400, lo]
        db.execute(f"SELECT items.rid, count(*) OVER () FROM {src} AND items.pid IN (SELECT value FROM json_each(?)) "
                   f"ORDER BY items.start_dt DESC LIMIT 11", [*params, pids]).fetchall()

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--json")
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run of a minute or so (make bench)")
    args = ap.parse_args()
    if args.quick:
        args.items, args.reps = 40_000, 60
    with tempfile.TemporaryDirectory(dir=os.environ.get("AQUILA_BENCH_DIR")) as tmp:
        data = Path(tmp) / "inst"
        t = time.perf_counter()
        build(data, args.items)
        build_s = time.perf_counter() - t
        store = CatalogStore(data / "catalog.db")
        q = {"bbox": (SearchQuery(bbox=HIDDEN_BOX), SearchQuery(bbox=EMPTY_BOX)),
             "datetime": (SearchQuery(datetime_range=_day(HIDDEN_DAY)), SearchQuery(datetime_range=_day(EMPTY_DAY)))}
        in_process = timed(q, lambda sq: store.search(USER, sq), args.reps)
        plain = timed(q, anchor(store), args.reps)
        store.close()
        token = TokenIssuer(data).issue(USER)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        server = subprocess.Popen([sys.executable, "-m", "aquila", "serve", "--data", str(data), "--port", str(port)],
                                  stderr=subprocess.DEVNULL, env=dict(os.environ))
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                              headers={"Authorization": f"Bearer {token}"}) as client:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if client.get("/conformance").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError("server did not start")
                    time.sleep(0.1)

                def http(params: dict[str, str]) -> None:
                    r = client.get("/search", params=params)
                    assert r.status_code == 200 and r.json()["numberMatched"] == 0, r.text[:200]

                box = lambda b: {"bbox": ",".join(str(x) for x in b), "collections": "isr"}  # noqa: E731
                day = lambda d: {"datetime": f"{d}T00:00:00Z/{d}T23:59:59Z", "collections": "isr"}  # noqa: E731
                over_http = timed({"bbox": (box(HIDDEN_BOX), box(EMPTY_BOX)),
                                   "datetime": (day(HIDDEN_DAY), day(EMPTY_DAY))}, http, args.reps)
        finally:
            server.terminate()
            server.wait(30)
    result = {"items": args.items, "hidden_items_in_box_and_day": 20_000, "reps": args.reps,
              "build_s": round(build_s, 1), "aquila_over_http": over_http, "aquila_in_process": in_process,
              "anchor_unpartitioned_rtree_in_process": plain}
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
