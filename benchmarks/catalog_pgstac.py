"""Benchmark: label-filtered item search over HTTP, Aquila vs stac-fastapi-pgstac, same data.

    bash benchmarks/pgstac/setup.sh                        # once: PostGIS, pgstac schema, .venv-pgstac
    .venv/bin/python benchmarks/catalog_pgstac.py --items 100000

The items and queries of `benchmarks/catalog.py`. pgstac has no notion of labels, so the access
rule travels as a CQL2-JSON filter on three extra properties written for it (`sec:level`
0-4, `sec:audience` = originator + expanded REL TO, `sec:caveats`):

    sec:level <= clearance AND A_CONTAINS(sec:audience, [nation])
      AND NOT A_OVERLAPS(sec:caveats, caveats not held)

(as the field notes describe doing with pgstac). Aquila gets the same searches with only the
bearer token: its rule is built in. Both run as real HTTP servers on 127.0.0.1 (uvicorn, one
process each); latency is measured by one client, request after request, p50/p95 over all.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from aquila.catalog import validate_item  # noqa: E402
from aquila.instance import Instance  # noqa: E402
from aquila.security.labels import Label  # noqa: E402
from catalog import CAVEATS, USERS, make_items, pct, queries  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PGSTAC_PY = ROOT / ".venv-pgstac" / "bin" / "python"
DSN = "postgresql://postgres@127.0.0.1/pgstac_bench"


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_up(url: str, headers: dict[str, str] | None = None, deadline_s: float = 60) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            if httpx.get(url, headers=headers, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def pgstac_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for d in items:
        lab = Label.from_properties(d["properties"])
        e = json.loads(json.dumps(d))
        e["properties"]["sec:level"] = int(lab.classification)
        e["properties"]["sec:audience"] = sorted(lab.audience)
        x, y = e["geometry"]["coordinates"]
        e["bbox"] = [x, y, x, y]
        out.append(e)
    return out


def expected(items: list[dict[str, Any]], qs: list[dict[str, Any]]) -> list[list[Any]]:
    """What each (user, query) must return, by evaluating the rule in Python (numpy)."""
    from aquila.security.policy import decide

    labels = [Label.from_properties(d["properties"]) for d in items]
    x = np.array([d["geometry"]["coordinates"][0] for d in items])
    y = np.array([d["geometry"]["coordinates"][1] for d in items])
    ts = np.array([datetime.fromisoformat(d["properties"]["datetime"].replace("Z", "+00:00")).timestamp()
                   for d in items])
    cloud = np.array([d["properties"]["eo:cloud_cover"] for d in items])
    ids = np.array([d["id"] for d in items])
    out: list[list[Any]] = []
    for u in USERS:
        ok = np.array([bool(decide(u, lab)) for lab in labels])
        for q in qs:
            m = ok.copy()
            if "bbox" in q:
                w, s_, e, n = q["bbox"]
                m &= (x >= w) & (x <= e) & (y >= s_) & (y <= n)
            if "ids" in q:
                m &= np.isin(ids, q["ids"])
            if "dt" in q:
                m &= (ts >= q["dt"][0]) & (ts <= q["dt"][1])
            if "cloud" in q:
                m &= cloud < q["cloud"]
            idx = np.flatnonzero(m)
            if len(idx) < 10:
                out.append(sorted(ids[idx].tolist()))
            elif "sort" in q:
                out.append(sorted(np.sort(cloud[idx])[:10].tolist()))
            else:
                top = idx[np.argsort(-ts[idx], kind="stable")[:10]]
                out.append(sorted(items[k]["properties"]["datetime"] for k in top))
    return out


def search_body(q: dict[str, Any], rule: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"collections": ["isr"], "limit": 10}
    args: list[dict[str, Any]] = []
    if "bbox" in q:
        body["bbox"] = list(q["bbox"])
    if "ids" in q:
        body["ids"] = q["ids"]
    if "dt" in q:
        lo, hi = (datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for t in q["dt"])
        body["datetime"] = f"{lo}/{hi}"
    if "cloud" in q:
        args.append({"op": "<", "args": [{"property": "eo:cloud_cover"}, q["cloud"]]})
    if "sort" in q:
        body["sortby"] = [{"field": "eo:cloud_cover", "direction": "asc"}]
    if rule is not None:
        args.append(rule)
    if args:
        body["filter-lang"] = "cql2-json"
        body["filter"] = args[0] if len(args) == 1 else {"op": "and", "args": args}
    return body


def run(client: httpx.Client, qs: list[dict[str, Any]], rules: list[dict[str, Any] | None],
        headers: list[dict[str, str]]) -> dict[str, Any]:
    lat: dict[str, list[float]] = {}
    returned = 0
    ids: list[list[str]] = []
    for rule, head in zip(rules, headers, strict=True):
        for q in qs:
            body = search_body(q, rule)
            t = time.perf_counter()
            r = client.post("/search", json=body, headers=head)
            lat.setdefault(q["name"], []).append((time.perf_counter() - t) * 1e3)
            r.raise_for_status()
            feats = r.json()["features"]
            returned += len(feats)
            # A full result must match item for item; a top-10 must match in its sort keys (ties
            # may be broken differently by the two systems).
            key = "eo:cloud_cover" if "sort" in q else "datetime"
            ids.append(sorted(f["id"] for f in feats) if len(feats) < 10 else
                       sorted(f["properties"][key] for f in feats))
    allq = [x for v in lat.values() for x in v]
    return {"search_p50_ms": round(pct(allq, 50), 2), "search_p95_ms": round(pct(allq, 95), 2),
            "features_returned": returned, "ids": ids,
            "by_query": {k: {"p50_ms": round(pct(v, 50), 2), "p95_ms": round(pct(v, 95), 2)} for k, v in lat.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--json")
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run of a minute or so (make bench)")
    args = ap.parse_args()
    if args.quick:
        args.items, args.queries = 20_000, 20
    if not PGSTAC_PY.exists():
        sys.exit("run benchmarks/pgstac/setup.sh first")
    items = make_items(args.items)
    qs = queries(np.random.default_rng(7), args.queries)
    procs: list[subprocess.Popen[bytes]] = []
    result: dict[str, Any] = {"items": args.items, "queries": len(qs) * len(USERS)}
    try:
        with tempfile.TemporaryDirectory() as d:
            # --- pgstac: load, serve ---------------------------------------------------------------
            coll = {"type": "Collection", "stac_version": "1.1.0", "id": "isr", "description": "bench",
                    "license": "other", "links": [],
                    "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                               "temporal": {"interval": [["2026-01-01T00:00:00Z", None]]}}}
            cpath, ipath = Path(d) / "c.json", Path(d) / "items.ndjson"
            cpath.write_text(json.dumps(coll))
            with ipath.open("w") as f:
                for e in pgstac_items(items):
                    f.write(json.dumps(e) + "\n")
            import psycopg

            with psycopg.connect(DSN, autocommit=True) as con:  # start from an empty collection
                con.execute("DELETE FROM pgstac.items WHERE collection = 'isr'")
            load = [str(ROOT / ".venv-pgstac" / "bin" / "pypgstac"), "load"]
            subprocess.run([*load, "collections", str(cpath), "--dsn", DSN, "--method", "upsert"], check=True)
            t = time.perf_counter()
            subprocess.run([*load, "items", str(ipath), "--dsn", DSN, "--method", "insert_ignore"], check=True)
            result["pgstac_ingest_items_per_s"] = round(args.items / (time.perf_counter() - t))
            with psycopg.connect(DSN, autocommit=True) as con:  # fresh statistics, as a DBA would after a load
                con.execute("VACUUM ANALYZE pgstac.items")
            port_p = free_port()
            env = dict(os.environ, PGUSER="postgres", PGPASSWORD="", PGHOST="127.0.0.1", PGPORT="5432",
                       PGDATABASE="pgstac_bench", POSTGRES_USER="postgres", POSTGRES_PASS="",
                       POSTGRES_HOST_READER="127.0.0.1", POSTGRES_HOST_WRITER="127.0.0.1", POSTGRES_PORT="5432",
                       POSTGRES_DBNAME="pgstac_bench", ENABLED_EXTENSIONS="query,sort,fields,filter,pagination")
            procs.append(subprocess.Popen([str(PGSTAC_PY), "-m", "uvicorn", "stac_fastapi.pgstac.app:create_app",
                                          "--factory", "--host",
                                           "127.0.0.1", "--port", str(port_p), "--log-level", "warning"], env=env))
            # --- Aquila: ingest, serve ---------------------------------------------------------------
            inst = Instance.open(Path(d) / "aquila")
            inst.store.put_collection({"type": "Collection", "id": "isr", "description": "bench",
                                       "sec:classification": "NU", "sec:releasable_to": ["NATO", "FVEY", "EU", "AUS"],
                                       "sec:originator": "FRA"}, create=True)
            t = time.perf_counter()
            for i in range(0, len(items), 5000):
                inst.store.add_items([validate_item(x) for x in items[i:i + 5000]])
            result["aquila_ingest_items_per_s"] = round(args.items / (time.perf_counter() - t))
            tokens = [inst.tokens.issue(u) for u in USERS]
            inst.store.close()
            port_a = free_port()
            procs.append(subprocess.Popen([sys.executable, "-m", "aquila", "serve", "--data", str(Path(d) / "aquila"),
                                           "--port", str(port_a)]))
            wait_up(f"http://127.0.0.1:{port_p}/")
            wait_up(f"http://127.0.0.1:{port_a}/", {"Authorization": f"Bearer {tokens[0]}"})
            # pgstac has no A_CONTAINEDBY: "caveats held" becomes "no caveat outside the held set".
            rules = [{"op": "and", "args": [
                {"op": "<=", "args": [{"property": "sec:level"}, int(u.clearance)]},
                {"op": "a_contains", "args": [{"property": "sec:audience"}, [u.nation]]},
                {"op": "not", "args": [{"op": "a_overlaps", "args": [
                    {"property": "sec:caveats"}, sorted(set(CAVEATS) - u.caveats)]}]}]}
                for u in USERS]
            with httpx.Client(base_url=f"http://127.0.0.1:{port_p}", timeout=120) as c:
                run(c, qs[:8], rules, [{}] * len(USERS))  # warm
                result["pgstac"] = run(c, qs, rules, [{}] * len(USERS))
            with httpx.Client(base_url=f"http://127.0.0.1:{port_a}", timeout=120) as c:
                heads = [{"Authorization": f"Bearer {tk}"} for tk in tokens]
                run(c, qs[:8], [None] * len(USERS), heads)
                result["aquila_http"] = run(c, qs, [None] * len(USERS), heads)
            want = expected(items, qs)
            for name in ("pgstac", "aquila_http"):
                got = result[name].pop("ids")
                result[name]["correct_results"] = sum(a == b for a, b in zip(got, want, strict=True))
                wrong = sorted({qs[k % len(qs)]["name"] for k, (a, b) in enumerate(zip(got, want, strict=True))
                                if a != b})
                if wrong:
                    result[name]["wrong_query_kinds"] = wrong
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
