"""Benchmark: the labelled catalog beside a plain-SQL PostgreSQL baseline, same data, one run.

    .venv/bin/python benchmarks/catalog.py --items 100000
    .venv/bin/python benchmarks/catalog.py --items 1000000

Items are synthetic STAC items over Europe and the Black Sea (a year of datetimes, random
labels: classification, REL TO nations and groups, caveats, originator, cloud cover). Aquila:
validation + SQLite store (WAL, R*Tree) in batches of 5,000, then item searches with the access
rule in SQL for three users of different nations, clearances and caveats. Baseline: the same rows
and the same rule in plain SQL on the local PostgreSQL 15 (btree, GIN on REL TO, COPY ingest);
stac-fastapi-pgstac needs PostGIS and pgstac, which this machine does not have installed.
Latencies are in-process (no HTTP), p50/p95 over all queries.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import timeit
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from aquila.catalog import CatalogStore, SearchQuery, validate_item
from aquila.security.labels import Classification, Label
from aquila.security.nations import expand
from aquila.security.policy import User, decide

NATIONS = ["FRA", "DEU", "ITA", "ESP", "POL", "FIN", "NOR", "USA", "GBR", "TUR", "ROU", "EST"]
REL_CHOICES = [["NATO"], ["NATO"], ["FVEY"], ["EU"], [], ["DEU", "POL"], ["USA", "GBR"], ["NATO", "AUS"]]
CAVEATS = ["BALTIC", "BLACKSEA", "ORCON", "SIGINT", "NOFORN"]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_items(n: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    lon = rng.uniform(-10, 42, n)
    lat = rng.uniform(35, 70, n)
    secs = rng.uniform(0, 365 * 86400, n)
    cls = rng.choice(["NU", "NR", "NC", "NS", "CTS"], n, p=[0.3, 0.3, 0.2, 0.15, 0.05])
    orig = rng.choice(NATIONS, n)
    rel = rng.integers(0, len(REL_CHOICES), n)
    cav = rng.random(n)
    cloud = rng.uniform(0, 100, n)
    out = []
    for k in range(n):
        caveats = [] if cav[k] < 0.8 else [CAVEATS[int(cav[k] * 100) % 5]]
        dt = (T0 + timedelta(seconds=float(secs[k]))).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append({"type": "Feature", "stac_version": "1.1.0", "id": f"item-{k:07d}", "collection": "isr",
                    "geometry": {"type": "Point", "coordinates": [round(float(lon[k]), 5), round(float(lat[k]), 5)]},
                    "properties": {"datetime": dt, "sec:classification": str(cls[k]),
                                   "sec:releasable_to": REL_CHOICES[int(rel[k])], "sec:caveats": caveats,
                                   "sec:originator": str(orig[k]), "eo:cloud_cover": round(float(cloud[k]), 2),
                                   "platform": "sar" if k % 3 else "optical"},
                    "links": [], "assets": {}})
    return out


USERS = [User("DEU", Classification.NS, frozenset({"BALTIC"})), User("USA", Classification.NC),
         User("EST", Classification.CTS, frozenset({"BALTIC", "ORCON"}))]


def queries(rng: np.random.Generator, n: int) -> list[dict[str, Any]]:
    out = []
    for k in range(n):
        lon0, lat0 = rng.uniform(-8, 38), rng.uniform(37, 66)
        box = (lon0, lat0, lon0 + 2.0, lat0 + 1.5)
        day = T0 + timedelta(days=float(rng.uniform(0, 330)))
        kind = k % 4
        if kind == 0:
            out.append({"name": "bbox", "bbox": box})
        elif kind == 1:
            out.append({"name": "bbox+datetime+cql2", "bbox": box,
                        "dt": (day.timestamp(), (day + timedelta(days=30)).timestamp()), "cloud": 20})
        elif kind == 2:
            out.append({"name": "ids", "ids": [f"item-{int(x):07d}" for x in rng.integers(0, 1000, 5)]})
        else:
            week = (day.timestamp(), (day + timedelta(days=7)).timestamp())
            out.append({"name": "datetime, sorted by cloud", "dt": week,
                        "sort": [("eo:cloud_cover", "asc")]})
    return out


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(xs, p))


def run_aquila(items: list[dict[str, Any]], qs: list[dict[str, Any]], data: Path) -> dict[str, Any]:
    store = CatalogStore(data / "catalog.db")
    store.put_collection({"type": "Collection", "id": "isr", "description": "bench", "sec:classification": "NU",
                          "sec:releasable_to": ["NATO"], "sec:originator": "FRA"}, create=True)
    t = time.perf_counter()
    for i in range(0, len(items), 5000):
        store.add_items([validate_item(d) for d in items[i:i + 5000]])
    ingest_s = time.perf_counter() - t
    lat: dict[str, list[float]] = {}
    for u in USERS:
        for q in qs:
            sq = SearchQuery(collections=["isr"], bbox=q.get("bbox"), ids=q.get("ids"), datetime_range=q.get("dt"),
                             sortby=q.get("sort", []), limit=10,
                             filter={"op": "<", "args": [{"property": "eo:cloud_cover"}, q["cloud"]]}
                             if "cloud" in q else None)
            t = time.perf_counter()
            store.search(u, sq)
            lat.setdefault(q["name"], []).append((time.perf_counter() - t) * 1e3)
    allq = [x for v in lat.values() for x in v]
    return {"ingest_items_per_s": round(len(items) / ingest_s), "search_p50_ms": round(pct(allq, 50), 2),
            "search_p95_ms": round(pct(allq, 95), 2),
            "by_query": {k: {"p50_ms": round(pct(v, 50), 2), "p95_ms": round(pct(v, 95), 2)} for k, v in lat.items()}}


def run_postgres(items: list[dict[str, Any]], qs: list[dict[str, Any]], dsn: str) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS bench_items")
        con.execute("""CREATE TABLE bench_items (rid bigserial PRIMARY KEY, collection text, id text,
            start_dt double precision, end_dt double precision, classification int, originator text,
            audience text[], caveats text[], minx double precision, miny double precision,
            maxx double precision, maxy double precision, cloud double precision, doc jsonb)""")
        t = time.perf_counter()
        with con.cursor() as cur, cur.copy("COPY bench_items (collection, id, start_dt, end_dt, classification, "
                                           "originator, audience, caveats, minx, miny, maxx, maxy, cloud, doc) "
                                           "FROM STDIN") as cp:
            for d in items:
                p = d["properties"]
                label = Label.from_properties(p)
                ts = datetime.fromisoformat(p["datetime"].replace("Z", "+00:00")).timestamp()
                x, y = d["geometry"]["coordinates"]
                cp.write_row(("isr", d["id"], ts, ts, int(label.classification), label.originator,
                              sorted(expand(label.releasable_to)), sorted(label.caveats), x, y, x, y,
                              p["eo:cloud_cover"], json.dumps(d)))
        for sql in ("CREATE INDEX ON bench_items (start_dt)", "CREATE INDEX ON bench_items (minx, miny)",
                    "CREATE INDEX ON bench_items USING gin (audience)", "CREATE INDEX ON bench_items (id)",
                    "ANALYZE bench_items"):
            con.execute(sql)
        ingest_s = time.perf_counter() - t
        lat: dict[str, list[float]] = {}
        for u in USERS:
            for q in qs:
                where = ["classification <= %s", "(originator = %s OR audience @> ARRAY[%s]::text[])",
                         "caveats <@ %s::text[]"]
                params: list[Any] = [int(u.clearance), u.nation, u.nation, sorted(u.caveats)]
                if "bbox" in q:
                    w, s, e, n = q["bbox"]
                    where.append("maxx >= %s AND minx <= %s AND maxy >= %s AND miny <= %s")
                    params += [w, e, s, n]
                if "ids" in q:
                    where.append("id = ANY(%s)")
                    params.append(q["ids"])
                if "dt" in q:
                    where.append("start_dt <= %s AND end_dt >= %s")
                    params += [q["dt"][1], q["dt"][0]]
                if "cloud" in q:
                    where.append("cloud < %s")
                    params.append(q["cloud"])
                clause = " AND ".join(where)
                order = "cloud ASC, rid" if q.get("sort") else "start_dt DESC, rid"
                t = time.perf_counter()
                con.execute(f"SELECT doc FROM bench_items WHERE {clause} ORDER BY {order} LIMIT 11", params).fetchall()
                con.execute(f"SELECT count(*) FROM (SELECT 1 FROM bench_items WHERE {clause} LIMIT 10001) s",
                            params).fetchone()
                lat.setdefault(q["name"], []).append((time.perf_counter() - t) * 1e3)
        con.execute("DROP TABLE bench_items")
    allq = [x for v in lat.values() for x in v]
    return {"ingest_items_per_s": round(len(items) / ingest_s), "search_p50_ms": round(pct(allq, 50), 2),
            "search_p95_ms": round(pct(allq, 95), 2),
            "by_query": {k: {"p50_ms": round(pct(v, 50), 2), "p95_ms": round(pct(v, 95), 2)} for k, v in lat.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=100, help="queries per user (3 users)")
    ap.add_argument("--dsn", default="host=127.0.0.1 user=postgres dbname=test")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run of a minute or so (make bench)")
    args = ap.parse_args()
    if args.quick:
        args.items, args.queries = 20_000, 20
    items = make_items(args.items)
    qs = queries(np.random.default_rng(7), args.queries)
    lab = Label.from_properties(items[0]["properties"])
    n = 200_000
    decide_us = timeit.timeit(lambda: decide(USERS[0], lab), number=n) / n * 1e6
    with tempfile.TemporaryDirectory() as d:
        ours = run_aquila(items, qs, Path(d))
    result: dict[str, Any] = {"items": args.items, "queries": len(qs) * len(USERS),
                              "policy_decision_us": round(decide_us, 2), "aquila_sqlite": ours}
    if not args.no_baseline:
        try:
            result["postgres_plain_sql"] = run_postgres(items, qs, args.dsn)
        except Exception as exc:  # the anchor needs a PostgreSQL server; say so, keep ours
            result["postgres_plain_sql"] = f"skipped: no PostgreSQL at {args.dsn!r} ({str(exc).strip()[:120]})"
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
