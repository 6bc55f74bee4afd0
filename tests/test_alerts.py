"""Subscriptions and alerts: fan-out to subscribers of several nations, each getting exactly what the labels allow;
Server-Sent Events within a deadline; replay across a restart; a revoked subject stops receiving; a finding
released by a rule reaches who may not read its scene."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from aquila.dissemination.subscriptions import parse_subscription
from conftest import LiveServer
from conftest import poll_until as _wait
from library_helpers import collection, item, user

FRA = user("FRA", "CTS", roles=("provider",))
SUBSCRIBERS = {"DEU": user("DEU", "NS"), "EST": user("EST", "NR"), "AUS": user("AUS", "NS"),
               "FRA": user("FRA", "NC")}
LABELS = [("NU", ["NATO"]), ("NS", ["DEU"]), ("NR", ["NATO"]), ("NC", []), ("NU", ["FVEY"])]


def _with_subject(u: Any, subject: str) -> Any:
    from dataclasses import replace

    return replace(u, subject=subject)


def _alerts(live: LiveServer, u: Any, **params: Any) -> list[dict[str, Any]]:
    with live.client(u) as c:
        r = c.get("/alerts", params=params)
    assert r.status_code == 200, r.text
    return r.json()["alerts"]


def test_fan_out_gives_each_nation_exactly_what_the_labels_allow(live: LiveServer) -> None:
    live.instance.library.operator_collection(collection("sar", rel=["NATO", "FVEY"]))
    subs = {n: _with_subject(u, f"sub-{n}") for n, u in SUBSCRIBERS.items()}
    for u in subs.values():
        with live.client(u) as c:
            r = c.post("/subscriptions", json={"collections": ["sar"], "bbox": [10, 50, 30, 60]})
            assert r.status_code == 201, r.text
            assert r.json()["id"].startswith("sub-") and r.json()["channel"] == "sse"
    docs = [item(f"i{k}", "sar", cls=cls, rel=rel, lon=20, lat=55) for k, (cls, rel) in enumerate(LABELS)]
    docs.append(item("outside", "sar", lon=100, lat=0, rel=["NATO"]))  # outside every bbox
    live.instance.library.publish(FRA, "sar", docs)
    from aquila.security.labels import Label
    from aquila.security.policy import decide_item

    col = Label.from_properties(collection("sar", rel=["NATO", "FVEY"]), prefix="")
    for n, u in subs.items():
        want = {d["id"] for d in docs[:-1] if decide_item(u, Label.from_properties(d["properties"]), col)}
        got = _wait(lambda u=u, want=want: {a["item"]["id"] for a in _alerts(live, u)} == want and want)
        assert {a["item"]["id"] for a in _alerts(live, u)} == want, (n, got)
        for a in _alerts(live, u):
            assert a["item"]["links"] and a["subscription_id"].startswith("sub-") and a["published"].endswith("Z")


def test_server_sent_events_arrive_and_resume_after_a_reconnect(live: LiveServer) -> None:
    live.instance.library.operator_collection(collection("sar", rel=["NATO"]))
    deu = _with_subject(user("DEU", "NS"), "analyst-7")
    with live.client(deu) as c:
        assert c.post("/subscriptions", json={"collections": ["sar"],
                                              "filter": {"op": ">=", "args": [{"property": "dark"}, 1]}}
                      ).status_code == 201
    got: list[dict[str, Any]] = []
    ids: list[str] = []
    opened = threading.Event()

    def listen() -> None:
        with httpx.Client(base_url=live.url, timeout=30) as c, c.stream(
                "GET", "/alerts/stream", headers={"Authorization": f"Bearer {live.token(deu)}"}) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            event = None
            for line in r.iter_lines():
                if line.startswith(": connected"):
                    opened.set()
                elif line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("id:"):
                    ids.append(line.split(":", 1)[1].strip())
                elif line.startswith("data:") and event == "alert":
                    got.append(json.loads(line[5:]))
                    if len(got) == 2:
                        return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert opened.wait(20)
    t0 = time.monotonic()
    live.instance.library.publish(FRA, "sar", [item("quiet", "sar", rel=["NATO"], dark=0),
                                               item("d1", "sar", rel=["NATO"], dark=2)])
    live.instance.library.publish(FRA, "sar", [item("d2", "sar", rel=["NATO"], dark=1)])
    t.join(20)
    assert [a["item"]["id"] for a in got] == ["d1", "d2"], got
    assert time.monotonic() - t0 < 10
    # a reconnect with Last-Event-ID after the first gets the second again, nothing else
    with httpx.Client(base_url=live.url, timeout=30) as c, c.stream(
            "GET", "/alerts/stream", headers={"Authorization": f"Bearer {live.token(deu)}",
                                              "Last-Event-ID": ids[0]}) as r:
        for line in r.iter_lines():
            if line.startswith("data:"):
                assert json.loads(line[5:])["item"]["id"] == "d2"
                break


def test_a_revoked_subject_receives_no_more_and_replay_survives_a_restart(tmp_path: Path) -> None:
    live = LiveServer(tmp_path / "i")
    live.instance.library.operator_collection(collection("sar", rel=["NATO"]))
    est = _with_subject(user("EST", "NR"), "watch-officer")
    with live.client(est) as c:
        sid = c.post("/subscriptions", json={"collections": ["sar"]}).json()["id"]
    live.instance.library.publish(FRA, "sar", [item("a", "sar", rel=["NATO"])])
    assert _wait(lambda: _alerts(live, est))
    live.stop()
    live.instance.close()
    again = LiveServer(tmp_path / "i")  # a restart: the alert is still there
    assert [a["item"]["id"] for a in _alerts(again, est)] == ["a"]
    with again.client(est) as c:
        assert [s["id"] for s in c.get("/subscriptions").json()["subscriptions"]] == [sid]
    again.instance.tokens.revocations.revoke_subject("watch-officer")
    again.instance.library.publish(FRA, "sar", [item("b", "sar", rel=["NATO"])])
    events = again.instance.events()
    last = events.since(0, 100_000)[-1].seq
    assert _wait(lambda: events.consumer("alerts").cursor >= last)  # the dispatcher has seen "b" ...
    store = again.instance.dissemination()
    assert [r[4] for r in store.alerts("watch-officer", 0, "", 10)] == ["a"]  # ... and delivered nothing
    store.close()
    events.close()
    again.stop()


def test_a_finding_released_by_a_rule_reaches_who_may_not_read_its_scene(live: LiveServer, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from click.testing import CliRunner

    from aquila.analytics.findings import FINDINGS_COLLECTION, analyze_ships, producer_for
    from aquila.cli.main import cli

    d = tmp_path / "scene"
    assert CliRunner().invoke(cli, ["synth", "sar", "--seed", "3", "--size", "384", "--ships", "6", "--out",
                                    str(d)]).exit_code == 0
    inst = live.instance
    deu = user("DEU", "NS", roles=("provider",))
    inst.library.operator_collection(collection("deu-sar", rel=["NATO"], orig="DEU"))
    for iid, hours in (("old", 8), ("new", 1)):
        doc = item(iid, "deu-sar", cls="NS", rel=["FRA"], orig="DEU",
                   dt=(datetime.now(UTC) - timedelta(hours=hours)).isoformat().replace("+00:00", "Z"))
        inst.library.publish(deu, "deu-sar", [doc], assets={iid: {"data": ((d / "scene.tif").read_bytes(),
                                                                           "image/tiff")}})
    inst.library.write_release_rule(deu, {"id": "nato-6h", "product": "vessel-detections", "delay": "PT6H",
                                          "label": {"sec:classification": "NR", "sec:releasable_to": ["NATO"]}})
    est = _with_subject(user("EST", "NR"), "est-watch")
    with live.client(est) as c:
        assert c.post("/subscriptions", json={"collections": [FINDINGS_COLLECTION]}).status_code == 201
    for iid in ("old", "new"):
        analyze_ships(inst.library, producer_for("DEU"), "deu-sar", iid, None, id_key=inst.findings_key,
                      land_mask=str(d / "land.tif"))
    got = _wait(lambda: [a["item"]["properties"]["aquila:source"] for a in _alerts(live, est)])
    assert got == [["deu-sar/old"]], got  # the 1 h old scene's finding keeps the scene's NS REL FRA


def test_subscription_bodies_are_checked_field_by_field() -> None:
    good = {"collections": ["sar"], "bbox": [0, 0, 1, 1], "datetime": "2026-01-01T00:00:00Z/..",
            "filter": "dark >= 1"}
    s = parse_subscription(good, "x")
    assert s.filter == {"op": ">=", "args": [{"property": "dark"}, 1]} and s.bbox == (0, 0, 1, 1)
    bad = [({"collections": []}, "collections"), ({"collections": ["a b"]}, "collections"),
           ({"collections": ["sar"], "bbox": [0, 0, "x", 1]}, "bbox"),
           ({"collections": ["sar"], "bbox": [0, 0, 1e999, 1]}, "bbox"),
           ({"collections": ["sar"], "channel": "pigeon"}, "channel"),
           ({"collections": ["sar"], "filter": "((("}, "filter"),
           ({"collections": ["sar"], "datetime": "tomorrow"}, "datetime"),
           ({"collections": ["sar"], "intersects": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}},
            "intersects"),
           ({"collections": ["sar"], "url": "http://x"}, "url"),
           ({"collections": ["sar"], "colour": "red"}, "colour"),
           ({"collections": ["sar"] * 51}, "collections")]
    import pytest

    from aquila.errors import InputError

    for body, field in bad:
        with pytest.raises(InputError) as e:
            parse_subscription(body, "x")
        assert e.value.field == field, (body, e.value.field)


def test_aquila_subscribe_follows_alerts_as_json_lines(live: LiveServer) -> None:
    import subprocess
    import sys

    live.instance.library.operator_collection(collection("sar", rel=["NATO"]))
    est = _with_subject(user("EST", "NR"), "cli-watch")
    proc = subprocess.Popen([sys.executable, "-m", "aquila", "subscribe", "--url", live.url, "--collection", "sar",
                             "--bbox", "19,57,21,59", "--max-alerts", "1"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "AQUILA_TOKEN": live.token(est)})
    assert proc.stderr is not None and "subscription sub-" in proc.stderr.readline()
    assert _wait(lambda: live.app.state.dissemination.hub._clients.get("cli-watch"))  # its stream is connected
    live.instance.library.publish(FRA, "sar", [item("far", "sar", rel=["NATO"], lon=100, lat=0),
                                               item("near", "sar", rel=["NATO"], lon=20, lat=58)])
    out, _ = proc.communicate(timeout=60)
    proc.stderr.close()
    assert proc.returncode == 0
    (line,) = out.strip().splitlines()
    assert json.loads(line)["item"]["id"] == "near"
    bad = subprocess.run([sys.executable, "-m", "aquila", "subscribe", "--url", live.url, "--collection", "sar",
                          "--token", "not-a-token"], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "token" in (bad.stdout + bad.stderr).lower()


def test_point_in_bbox_matching_equals_shapely_across_the_antimeridian() -> None:
    import random

    from shapely.geometry import Point, box

    from aquila.dissemination.subscriptions import Subscription

    rng = random.Random(3)
    for _ in range(5000):
        w, e = rng.uniform(-180, 180), rng.uniform(-180, 180)
        s, n = sorted(rng.uniform(-90, 90) for _ in range(2))
        lon, lat = rng.choice([w, e, rng.uniform(-180, 180)]), rng.choice([s, n, rng.uniform(-90, 90)])
        sub = Subscription("x", "y", ["c"], "sse", (w, s, e, n))
        got = sub.matches("c", {"geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": {}})
        area = box(w, s, e, n) if w <= e else box(w, s, 180, n).union(box(-180, s, e, n))
        assert got == Point(lon, lat).intersects(area), (w, s, e, n, lon, lat)
