"""Benchmark: publication-to-client latency with many subscriptions under a steady stream of products.

    .venv/bin/python benchmarks/alerts_fanout.py                          # 1,000 subscriptions, 100 products/s, 10 s
    .venv/bin/python benchmarks/alerts_fanout.py --subscriptions 200 --rate 20 --seconds 5
    .venv/bin/python benchmarks/alerts_fanout.py --kill-at 0.5     # SIGKILL the server half-way, start it again

`aquila serve` on a fresh instance; 50 subscribers (subjects) of five nations and clearances hold the
subscriptions between them (20 each, bboxes spread over the Baltic), each subscriber connected to
`GET /alerts/stream`. A publisher posts items into the collection at the given rate (`POST
/collections/sar/items`, `--batch` items per request as a feed would; labels varied so each subscriber may
read only some); every item carries the time it was sent. Measured at the clients: send time → SSE
arrival, p50/p99, and whether every alert the labels and queries call for arrived (none lost, none extra,
none twice). With `--kill-at F` the server is killed (SIGKILL, while the publisher is posting) once a share F
of the products is sent and started again on the same port and data: the publisher retries what was not
acknowledged (a 409 on a retry: the batch had landed before the crash), the subscribers reconnect with
`Last-Event-ID`, and the run checks that nothing acknowledged was lost or delivered twice.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from aquila.instance import Instance
from aquila.security.labels import Classification, Label
from aquila.security.policy import Role, User, decide_item
from served import Server  # benchmarks/ (the script's folder)

NATIONS = [("DEU", "NS"), ("EST", "NR"), ("POL", "NS"), ("USA", "NC"), ("FRA", "NS")]
LABELS = [("NU", ["NATO"]), ("NR", ["NATO"]), ("NS", ["DEU", "POL"]), ("NC", ["FVEY"]), ("NS", [])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscriptions", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=100.0, help="products per second")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--batch", type=int, default=10, help="items per POST (a feed publishes in batches)")
    ap.add_argument("--kill-at", type=float, default=None, help="SIGKILL and restart the server at this share sent")
    args = ap.parse_args()
    rng = random.Random(1)
    data = Path(tempfile.mkdtemp(prefix="aquila-fanout-")) / "instance"
    inst = Instance.open(data)
    col = {"type": "Collection", "id": "sar", "stac_version": "1.1.0", "description": "sar", "license": "other",
           "links": [], "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                                   "temporal": {"interval": [[None, None]]}},
           "sec:classification": "NU", "sec:releasable_to": ["NATO", "FVEY"], "sec:caveats": [],
           "sec:originator": "FRA"}
    inst.library.operator_collection(col)
    n_subjects = 50
    subjects = [User(NATIONS[k % 5][0], Classification[NATIONS[k % 5][1]], subject=f"watch-{k}")
                for k in range(n_subjects)]
    tokens = {u.subject: inst.tokens.issue(u) for u in subjects}
    fra = User("FRA", Classification.CTS, frozenset(), frozenset({Role.PROVIDER}), subject="fra-provider")
    publisher = inst.tokens.issue(fra)
    inst.close()
    server = Server(data, "--no-pipelines")
    server.start()
    url = server.url
    try:
        _run(args, rng, server, url, subjects, tokens, publisher, col)
    finally:
        server.stop()


def _run(args: argparse.Namespace, rng: random.Random, server: Server, url: str, subjects: list[User],
         tokens: dict[str, str], publisher: str, col: dict[str, Any]) -> None:
    n_subjects = len(subjects)
    boxes: dict[str, list[tuple[float, float, float, float]]] = {u.subject: [] for u in subjects}
    with httpx.Client(base_url=url, timeout=30) as c:
        for k in range(args.subscriptions):
            u = subjects[k % n_subjects]
            w, s_ = rng.uniform(10, 28), rng.uniform(54, 64)
            box = (w, s_, w + rng.uniform(1, 6), s_ + rng.uniform(0.5, 3))
            r = c.post("/subscriptions", json={"collections": ["sar"], "bbox": list(box)},
                       headers={"Authorization": f"Bearer {tokens[u.subject]}"})
            assert r.status_code == 201, r.text
            boxes[u.subject].append(box)
    arrivals: dict[str, list[tuple[float, str]]] = {u.subject: [] for u in subjects}
    opened = threading.Barrier(n_subjects + 1, timeout=60)

    done = threading.Event()
    ids_seen: dict[str, list[str]] = {u.subject: [] for u in subjects}
    reconnects = [0]

    def listen(subject: str) -> None:
        """One subscriber's stream; reconnects with Last-Event-ID and a backoff (as EventSource does)."""
        last_id = ""
        first = True
        pause_s = 0.1
        with httpx.Client(timeout=httpx.Timeout(None, connect=2)) as c:
            while not done.is_set():
                headers = {"Authorization": f"Bearer {tokens[subject]}"}
                if last_id:
                    headers["Last-Event-ID"] = last_id
                try:
                    with c.stream("GET", url + "/alerts/stream", headers=headers) as r:
                        event = None
                        for line in r.iter_lines():
                            if line.startswith(": connected"):
                                pause_s = 0.1
                                if first:
                                    first = False
                                    opened.wait()
                            elif line.startswith("event:"):
                                event = line[6:].strip()
                            elif line.startswith("id:"):
                                last_id = line[3:].strip()
                            elif line.startswith("data:") and event == "alert":
                                a = json.loads(line[5:])
                                arrivals[subject].append((time.time() - a["item"]["properties"]["sent_at"],
                                                          a["item"]["id"]))
                                ids_seen[subject].append(a["id"])
                except httpx.HTTPError:
                    pass
                if not done.is_set():
                    reconnects[0] += 1
                    done.wait(pause_s)  # the server is restarting: try again, backing off to 2 s
                    pause_s = min(2.0, pause_s * 2)

    for u in subjects:
        threading.Thread(target=listen, args=(u.subject,), daemon=True).start()
    opened.wait()
    n = int(args.rate * args.seconds)
    sent: list[dict[str, Any]] = []
    t_start = time.perf_counter()
    batch = max(1, args.batch)
    kill_at = None if args.kill_at is None else int(args.kill_at * n) // batch * batch
    restart_s = [0.0]

    def crash() -> None:
        time.sleep(0.01 * batch / args.rate)  # lands while the next POST is in flight
        server.kill()
        restart_s[0] = server.start()

    killer = None
    with httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {publisher}"}) as c:
        for k0 in range(0, n, batch):
            due = t_start + k0 / args.rate
            while time.perf_counter() < due:
                time.sleep(max(0.0, min(0.002, due - time.perf_counter())))  # pacing the publisher
            docs = []
            for k in range(k0, min(n, k0 + batch)):
                cls, rel = LABELS[k % len(LABELS)]
                lon, lat = rng.uniform(10, 30), rng.uniform(54, 65)
                docs.append({"type": "Feature", "stac_version": "1.1.0", "id": f"p{k}", "collection": "sar",
                             "geometry": {"type": "Point", "coordinates": [lon, lat]}, "links": [], "assets": {},
                             "properties": {"datetime": "2026-12-03T06:00:00Z", "sec:classification": cls,
                                            "sec:releasable_to": rel, "sec:caveats": [], "sec:originator": "FRA",
                                            "sent_at": time.time()}})
            body = docs[0] if len(docs) == 1 else {"type": "FeatureCollection", "features": docs}
            if k0 == kill_at:
                killer = threading.Thread(target=crash)
                killer.start()
            retried = False
            while True:
                try:
                    r = c.post("/collections/sar/items", json=body)
                except httpx.TransportError:
                    retried = True
                    time.sleep(0.1)  # the server is restarting
                    continue
                if r.status_code == 201 or (retried and r.status_code == 409):
                    break
                raise SystemExit(f"publishing failed: {r.status_code} {r.text}")
            sent += docs
    t_pub = time.perf_counter() - t_start
    if killer is not None:
        killer.join()
    col_label = Label.from_properties(col, prefix="")
    expected = 0
    want: dict[str, set[str]] = {}
    for u in subjects:
        ids = set()
        for d in sent:
            lon, lat = d["geometry"]["coordinates"]
            if not decide_item(u, Label.from_properties(d["properties"]), col_label):
                continue
            hits = sum(1 for w, s_, e, n_ in boxes[u.subject] if w <= lon <= e and s_ <= lat <= n_)
            expected += hits
            if hits:
                ids.add(d["id"])
        want[u.subject] = ids
    deadline = time.monotonic() + 120
    while sum(len(v) for v in arrivals.values()) < expected and time.monotonic() < deadline:
        time.sleep(0.1)  # polling with a deadline
    done.set()
    lat_s = sorted(x for v in arrivals.values() for x, _ in v)
    twice = sum(len(v) - len(set(v)) for v in ids_seen.values())
    got = sum(len(v) for v in arrivals.values())
    wrong = sum(1 for u in subjects for _, i in arrivals[u.subject] if i not in want[u.subject])
    p = lambda q: lat_s[min(len(lat_s) - 1, int(q * (len(lat_s) - 1)))] if lat_s else float("nan")  # noqa: E731
    print(f"{args.subscriptions} subscriptions, {n_subjects} connected subscribers, {n} products at "
          f"{n / t_pub:.0f}/s: {got} alerts of {expected} expected ({wrong} not releasable/not matching); "
          f"send -> SSE arrival p50 {p(0.5) * 1000:.0f} ms, p99 {p(0.99) * 1000:.0f} ms, "
          f"max {p(1.0) * 1000:.0f} ms; {twice} delivered twice"
          + ("" if kill_at is None else f"; server SIGKILLed after {kill_at} products and back in "
             f"{restart_s[0]:.1f} s, {reconnects[0]} stream reconnects, "
             f"{sum(1 for x in lat_s if x > 1.0)} alerts later than 1 s"))


if __name__ == "__main__":
    main()
