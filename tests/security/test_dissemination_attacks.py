"""Attacks on subscriptions, alerts, webhooks and pipeline runs found in an adversarial review (each asserts the
secure behaviour, so it fails when the attack works): a filter that killed dispatch for everyone, revocation
and expiry that did not stop standing deliveries, a relabelled run seen through a readable twin, deliveries
naming unreadable items, 500s on malformed intersects / out-of-range since / superscript Last-Event-ID; and
the attacks that held, kept as guards."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from aquila.config import Settings
from conftest import LiveServer
from conftest import poll_until as _wait
from library_helpers import collection, item, user

FRA = user("FRA", "CTS", roles=("provider",))
DEU = user("DEU", "CTS", roles=("provider",))
SECRET = "s3cret-shared-with-the-receiver"


class Receiver:
    def __init__(self, up: bool = True) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        if not up:
            self.close()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def srv(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = LiveServer(tmp_path / "i")
    s.instance.library.operator_collection(collection("sar", rel=["NATO"]))
    yield s
    s.stop()


def _fresh(live: LiveServer, u: Any) -> httpx.Client:
    return live.client(u)


def _post_sub(live: LiveServer, u: Any, body: Any) -> httpx.Response:
    with live.client(u) as c:
        return c.post("/subscriptions", json=body)


def _alerts(live: LiveServer, u: Any) -> list[dict[str, Any]]:
    with live.client(u) as c:
        r = c.get("/alerts")
    assert r.status_code == 200, r.text
    return list(r.json()["alerts"])


# --------------------------------------------------------------------------------------------------------------
# 1. availability: one subscriber's filter kills the alert dispatcher for everyone
# --------------------------------------------------------------------------------------------------------------
def test_a_filter_on_a_missing_property_does_not_stop_alerts_for_other_subscribers(srv: LiveServer) -> None:
    attacker = replace(user("EST", "NU"), subject="est-insider")
    victim = replace(user("DEU", "NS"), subject="deu-watch")
    # the project's own documented example filter; the published item simply lacks "dark"
    assert _post_sub(srv, attacker, {"collections": ["sar"], "filter": "dark >= 1"}).status_code == 201
    assert _post_sub(srv, victim, {"collections": ["sar"]}).status_code == 201
    srv.instance.library.publish(FRA, "sar", [item("a", "sar", rel=["NATO"])])
    got = _wait(lambda: _alerts(srv, victim))
    assert got, "the victim never got its alert: the dispatcher thread died on the attacker's filter"
    srv.instance.library.publish(FRA, "sar", [item("b", "sar", rel=["NATO"])])
    assert _wait(lambda: len(_alerts(srv, victim)) == 2), "dispatcher dead: later items are never alerted"


# --------------------------------------------------------------------------------------------------------------
# 2. a revoked subject keeps receiving webhook deliveries (revocation with issued_before)
# --------------------------------------------------------------------------------------------------------------
def test_a_subject_revoked_by_issued_before_gets_no_more_webhook_deliveries(tmp_path: Path) -> None:
    rx = Receiver()
    live = LiveServer(tmp_path / "i", Settings(webhook_allow=rx.url, webhook_retry_s=0.1, webhook_timeout_s=0.5))
    try:
        live.instance.library.operator_collection(collection("sar", rel=["NATO"]))
        bad = replace(user("EST", "NU"), subject="est-compromised")
        good = replace(user("DEU", "NU"), subject="deu-control")
        old_token = live.instance.tokens.issue(bad, now=datetime.now(UTC) - timedelta(hours=1))
        with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {old_token}"}) as c:
            r = c.post("/subscriptions", json={"collections": ["sar"], "channel": "webhook", "url": rx.url,
                                               "secret": SECRET})
            assert r.status_code == 201, r.text
            bad_sid = r.json()["id"]
        with live.client(good) as c:
            assert c.post("/subscriptions", json={"collections": ["sar"], "channel": "webhook", "url": rx.url,
                                                  "secret": SECRET}).status_code == 201
        # the operator revokes every token of the subject issued before the compromise (10 min ago)
        live.instance.tokens.revocations.revoke_subject("est-compromised", issued_before=time.time() - 600)
        with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {old_token}"}) as c:
            assert c.get("/subscriptions").status_code == 401  # the token is dead ...
        live.instance.library.publish(FRA, "sar", [item("a", "sar", rel=["NATO"])])
        assert _wait(lambda: any(json.loads(b)["subscription_id"] != bad_sid for _, b in rx.got))
        store = live.instance.dissemination()
        _wait(lambda: all(s != "pending" for *_, s, _e, _u in store.deliveries(bad_sid)), 3)
        rows = store.alerts("est-compromised", 0, "", 10)
        store.close()
        leaked = [json.loads(b)["item"]["id"] for _, b in rx.got if json.loads(b)["subscription_id"] == bad_sid]
        assert not rows and not leaked, f"revoked subject still alerted: rows={rows} webhook={leaked}"
    finally:
        live.stop()
        rx.close()


# --------------------------------------------------------------------------------------------------------------
# 3. 500s from user input
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("geom", [
    {"type": "LineString", "coordinates": [[1, 2]]},
    {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]], 5]},
    {"type": "LinearRing", "coordinates": [[0, 0], [1, 1]]},
])
def test_malformed_intersects_is_a_400_naming_the_field(srv: LiveServer, geom: dict[str, Any]) -> None:
    u = replace(user("EST", "NU"), subject="est-a")
    with srv.client(u) as c:
        r = c.post("/subscriptions", json={"collections": ["sar"], "intersects": geom})
    assert r.status_code == 400 and "intersects" in r.text, (r.status_code, r.text[:200])


@pytest.mark.parametrize("path", ["/pipelines/runs?since=9999-12-31T23:59:59-01:00",
                                  "/alerts?since=9999-12-31T23:59:59-01:00",
                                  "/alerts?since=0001-01-01T00:00:00%2B01:00",
                                  "/pipelines/runs?since=0001-01-01T00:00:00%2B01:00"])
def test_out_of_range_since_is_a_400(srv: LiveServer, path: str) -> None:
    with srv.client(user("EST", "NU")) as c:
        r = c.get(path)
    assert r.status_code == 400 and "since" in r.text, (r.status_code, r.text[:200])


@pytest.mark.parametrize("raw", [b"\xb2", b"\xb9", b"1\xb3"])
def test_last_event_id_with_a_superscript_digit_is_a_400(srv: LiveServer, raw: bytes) -> None:
    with srv.client(user("EST", "NU")) as c:
        with c.stream("GET", "/alerts/stream", headers={"Last-Event-ID": raw}) as r:
            status = r.status_code
            body = r.read() if status != 200 else b""
    assert status == 400 and b"Last-Event-ID" in body, (status, body[:200])


def test_deliveries_state_too_long_is_a_400_naming_state(srv: LiveServer) -> None:
    u = replace(user("EST", "NU"), subject="est-a")
    with srv.client(u) as c:
        r = c.get("/subscriptions/sub-x/deliveries", params={"state": "x" * 30})
    assert r.status_code in (400, 404) and r.status_code != 500, (r.status_code, r.text[:200])


# --------------------------------------------------------------------------------------------------------------
# 4. confidentiality: pipeline runs of a relabelled, polyinstantiated scene
# --------------------------------------------------------------------------------------------------------------
def test_run_of_a_scene_relabelled_beyond_the_reader_is_hidden_despite_a_readable_twin(srv: LiveServer) -> None:
    from aquila.security.labels import Label

    inst = srv.instance
    est = user("EST", "NU")
    high = item("x", "sar", rel=["FRA", "EST"], orig="FRA")
    inst.library.publish(FRA, "sar", [high])
    # DEU cannot read FRA's instance: its own "x" is another instance of the id (polyinstantiation)
    inst.library.publish(DEU, "sar", [item("x", "sar", rel=["DEU", "EST"], orig="DEU")])
    q = inst.pipeline_runs()
    run = q.enqueue("ships", "v-test", "sar", "x", Label.from_properties(high["properties"]), 1)
    assert run is not None
    with srv.client(est) as c:
        assert [r["id"] for r in c.get("/pipelines/runs").json()["runs"]] == [run.id]  # fine: EST reads FRA's x
    # FRA raises its scene to CTS REL FRA: EST may no longer read it ...
    inst.library.update(FRA, "sar", "x", item("x", "sar", cls="CTS", rel=["FRA"], orig="FRA"))
    q.finish(run.id, {"read": 1.0}, error="vessel track of operation NIGHTJAR failed")  # ... and the run goes on
    q.close()
    with srv.client(est) as c:
        r = c.get("/collections/sar/items/x")
        assert r.json()["properties"]["sec:originator"] == "DEU"  # EST sees only DEU's instance now
        runs = c.get("/pipelines/runs").json()["runs"]
    assert runs == [], f"run of the now-CTS FRA scene still listed to EST: {runs}"


# --------------------------------------------------------------------------------------------------------------
# 5. deliveries listing names items the subscriber may no longer read
# --------------------------------------------------------------------------------------------------------------
def test_deliveries_do_not_name_an_item_relabelled_beyond_the_subscriber(tmp_path: Path) -> None:
    rx = Receiver(up=False)  # the receiver is down: the delivery waits for a retry
    live = LiveServer(tmp_path / "i", Settings(webhook_allow=rx.url, webhook_retry_s=0.3, webhook_timeout_s=0.5))
    try:
        live.instance.library.operator_collection(collection("sar", rel=["NATO"]))
        est = replace(user("EST", "NU"), subject="est-a")
        with live.client(est) as c:
            sid = c.post("/subscriptions", json={"collections": ["sar"], "channel": "webhook", "url": rx.url,
                                                 "secret": SECRET}).json()["id"]
        live.instance.library.publish(FRA, "sar", [item("op-nightjar", "sar", rel=["NATO"])])

        def deliveries() -> list[dict[str, Any]]:
            with live.client(est) as c:
                return list(c.get(f"/subscriptions/{sid}/deliveries").json()["deliveries"])

        assert _wait(lambda: any(d["attempts"] >= 1 for d in deliveries()))
        live.instance.library.update(FRA, "sar", "op-nightjar",
                                     item("op-nightjar", "sar", cls="CTS", rel=["FRA"], orig="FRA"))
        store = live.instance.dissemination()
        assert _wait(lambda: any(r[4] == "withheld" for r in store.deliveries(sid)))  # the sender saw the relabel
        store.close()
        with live.client(est) as c:
            assert c.get("/collections/sar/items/op-nightjar").status_code == 404
        named = [d["item"] for d in deliveries()]
        assert "sar/op-nightjar" not in named, f"deliveries name an item the subscriber cannot read: {deliveries()}"
    finally:
        live.stop()


# --------------------------------------------------------------------------------------------------------------
# Attacks that should hold (regression guards)
# --------------------------------------------------------------------------------------------------------------
def test_another_subjects_subscription_answers_as_a_missing_one(srv: LiveServer) -> None:
    a = replace(user("EST", "NU"), subject="est-a")
    b = replace(user("EST", "NU"), subject="est-b")
    sid = _post_sub(srv, a, {"collections": ["sar"]}).json()["id"]
    with srv.client(b) as c:
        for method, suffix in (("GET", ""), ("DELETE", ""), ("GET", "/deliveries"),
                               ("GET", "/deliveries?state=bogus")):
            theirs = c.request(method, f"/subscriptions/{sid}{suffix}")
            missing = c.request(method, f"/subscriptions/sub-{'0' * 24}{suffix}")
            assert (theirs.status_code, theirs.text) == (missing.status_code, missing.text)
            assert theirs.status_code == 404
        assert c.get("/subscriptions").json()["subscriptions"] == []
    with srv.client(a) as c:
        assert c.get(f"/subscriptions/{sid}").status_code == 200


def test_subscription_limit_is_per_subject(srv: LiveServer) -> None:
    a = replace(user("EST", "NU"), subject="est-a")
    b = replace(user("EST", "NU"), subject="est-b")
    with srv.client(a) as c:
        for _ in range(100):
            assert c.post("/subscriptions", json={"collections": ["sar"]}).status_code == 201
        r = c.post("/subscriptions", json={"collections": ["sar"]})
        assert r.status_code == 400 and "subscriptions" in r.text
    assert _post_sub(srv, b, {"collections": ["sar"]}).status_code == 201


def test_unreadable_item_and_collection_never_alerted_even_via_replay_cursors(srv: LiveServer) -> None:
    inst = srv.instance
    inst.library.operator_collection(collection("fra-only", rel=["FRA"]))
    est = replace(user("EST", "NU"), subject="est-a")
    r1 = _post_sub(srv, est, {"collections": ["sar", "fra-only"]})
    assert r1.status_code == 201
    inst.library.publish(FRA, "sar", [item("hidden", "sar", cls="NS", rel=["NATO"]),
                                      item("rel-fra", "sar", rel=["FRA"])])
    inst.library.publish(FRA, "fra-only", [item("in-hidden-col", "fra-only", rel=["NATO"])])
    inst.library.publish(FRA, "sar", [item("ok", "sar", rel=["NATO"])])
    assert _wait(lambda: _alerts(srv, est))
    with srv.client(est) as c:
        ids = {a["item"]["id"] for a in c.get("/alerts", params={"since": "2000-01-01T00:00:00Z"}).json()["alerts"]}
        assert ids == {"ok"}
        with c.stream("GET", "/alerts/stream", params={"after": 0}) as s:
            assert s.status_code == 200
            lines: list[str] = []
            for line in s.iter_lines():
                lines.append(line)
                if line.startswith("data:") and "ok" in line:
                    break
        assert not any("hidden" in x or "rel-fra" in x for x in lines)


def test_relabel_and_delete_after_alert_are_not_replayed(srv: LiveServer) -> None:
    est = replace(user("EST", "NU"), subject="est-a")
    _post_sub(srv, est, {"collections": ["sar"]})
    srv.instance.library.publish(FRA, "sar", [item("r", "sar", rel=["NATO"]), item("d", "sar", rel=["NATO"])])
    assert _wait(lambda: len(_alerts(srv, est)) == 2)
    srv.instance.library.update(FRA, "sar", "r", item("r", "sar", cls="CTS", rel=["FRA"]))
    srv.instance.library.delete(FRA, "sar", "d")
    assert _alerts(srv, est) == []


def test_webhook_url_allowlist_bypasses(tmp_path: Path) -> None:
    allow = "https://hooks.example.org"
    live = LiveServer(tmp_path / "i", Settings(webhook_allow=allow))
    try:
        live.instance.library.operator_collection(collection("sar", rel=["NATO"]))
        u = replace(user("EST", "NU"), subject="est-a")
        bad = ["https://hooks.example.org@127.0.0.1/", "https://hooks.example.org:443@evil.test/",
               "https://evil.test#@hooks.example.org/", "https://hooks.example.org.evil.test/",
               "http://hooks.example.org/", "https://hooks.example.org:8443/", "https://[::1]/",
               "https://hooks.example.org%2F@evil.test/", "https://evil.test?@hooks.example.org/",
               "https://hooks.example.org./", "https://127.0.0.1/"]
        with live.client(u) as c:
            for url in bad:
                r = c.post("/subscriptions", json={"collections": ["sar"], "channel": "webhook", "url": url,
                                                   "secret": SECRET})
                assert r.status_code == 400 and "url" in r.text, (url, r.status_code)
                if r.status_code == 201:
                    host = httpx.URL(url).host
                    assert host == "hooks.example.org", (url, host)
    finally:
        live.stop()


def test_webhook_deliveries_stop_when_the_subscribers_token_has_expired(tmp_path: Path) -> None:
    rx = Receiver()
    live = LiveServer(tmp_path / "i", Settings(webhook_allow=rx.url, webhook_retry_s=0.1, webhook_timeout_s=0.5))
    try:
        live.instance.library.operator_collection(collection("sar", rel=["NATO"]))
        leaver = replace(user("EST", "NS"), subject="est-leaver")
        tok = live.instance.tokens.issue(leaver, ttl=timedelta(seconds=2))
        with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {tok}"}) as c:
            assert c.post("/subscriptions", json={"collections": ["sar"], "channel": "webhook", "url": rx.url,
                                                  "secret": SECRET}).status_code == 201
            assert _wait(lambda: c.get("/subscriptions").status_code == 401, 6)  # expired: no more access
        live.instance.library.publish(FRA, "sar", [item("after-expiry", "sar", cls="NS", rel=["NATO"])])
        _wait(lambda: rx.got, 3)
        assert not rx.got, "an NS item was pushed to a subject whose only token expired (rights never re-checked)"
    finally:
        live.stop()
        rx.close()
