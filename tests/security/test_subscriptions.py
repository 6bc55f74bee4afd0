"""Subscriptions and alerts as a hostile insider with a valid low-privilege token would use them.

- another subject's subscription: 404 on read and delete, exactly as a missing id (status and body);
- creating one names any collection: the answer does not depend on whether it exists or is readable;
- a subscription never delivers what its owner may not read, whatever it asks for (property-based);
- bodies: deep nesting, non-finite numbers, huge geometries, too many subscriptions: 400s, nothing stored;
- the alert stream and replay never carry another subject's deliveries.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aquila.dissemination.subscriptions import MAX_SUBSCRIPTIONS
from aquila.security.labels import Label
from aquila.security.policy import decide_item
from conftest import LiveServer
from library_helpers import collection, item, user

FRA = user("FRA", "CTS", roles=("provider",))


def _as(u: Any, subject: str) -> Any:
    return replace(u, subject=subject)


def test_another_subjects_subscription_is_indistinguishable_from_a_missing_one(live: LiveServer) -> None:
    owner, other = _as(user("DEU", "NS"), "alice"), _as(user("DEU", "NS"), "mallory")
    with live.client(owner) as c:
        sid = c.post("/subscriptions", json={"collections": ["sar"]}).json()["id"]
    with live.client(other) as c:
        mine = c.get(f"/subscriptions/{sid}")
        missing = c.get("/subscriptions/sub-000000000000000000000000")
        assert mine.status_code == missing.status_code == 404
        assert mine.json()["code"] == missing.json()["code"]
        assert mine.json()["description"].replace(sid, "X") == missing.json()["description"].replace(
            "sub-000000000000000000000000", "X")
        assert c.delete(f"/subscriptions/{sid}").status_code == 404
        assert c.get("/subscriptions").json()["subscriptions"] == []
    with live.client(owner) as c:
        assert [s["id"] for s in c.get("/subscriptions").json()["subscriptions"]] == [sid]  # still there
        assert c.delete(f"/subscriptions/{sid}").status_code == 204
        assert c.get(f"/subscriptions/{sid}").status_code == 404


def test_tokens_issued_without_a_subject_share_nothing(live: LiveServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two tokens of one nation issued with no subject (an NS and an NR one, as `aquila token` makes them without
    --subject) used to share the subject "<nation>-user": the NR holder could list and delete the NS holder's
    subscriptions and read its alerts' rows. Each now has a subject of its own."""
    import subprocess
    import sys

    import jwt

    data = str(live.instance.data_dir)

    def issued(clearance: str) -> str:
        out = subprocess.run([sys.executable, "-m", "aquila", "token", "issue", "--data", data, "--nation", "DEU",
                              "--clearance", clearance], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()

    ns, nr = issued("NS"), issued("NR")
    subs = {t: jwt.decode(t, options={"verify_signature": False})["sub"] for t in (ns, nr)}
    assert subs[ns] != subs[nr] and all(v.startswith("deu-user-") for v in subs.values())
    import httpx

    with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {ns}"}) as c:
        sid = c.post("/subscriptions", json={"collections": ["sar"], "bbox": [10, 54, 11, 55]}).json()["id"]
    with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {nr}"}) as c:
        assert c.get("/subscriptions").json()["subscriptions"] == []
        assert c.get(f"/subscriptions/{sid}").status_code == 404
        assert c.delete(f"/subscriptions/{sid}").status_code == 404
    with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {ns}"}) as c:
        assert [x["id"] for x in c.get("/subscriptions").json()["subscriptions"]] == [sid]


def test_creating_is_no_oracle_for_collections(live: LiveServer) -> None:
    live.instance.library.operator_collection(collection("secret-sar", cls="NS", rel=[], orig="FRA"))
    low = _as(user("EST", "NU"), "est")
    with live.client(low) as c:
        a = c.post("/subscriptions", json={"collections": ["secret-sar"]})
        b = c.post("/subscriptions", json={"collections": ["no-such-thing"]})
    assert a.status_code == b.status_code == 201
    assert set(a.json()) == set(b.json()) and a.json()["collections"] == ["secret-sar"]


label_st = st.tuples(st.sampled_from(["NU", "NR", "NC", "NS", "CTS"]),
                     st.lists(st.sampled_from(["FRA", "DEU", "EST", "USA", "NATO", "FVEY", "EU"]), max_size=3,
                              unique=True),
                     st.lists(st.sampled_from(["BALTIC", "ORCON"]), max_size=1))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(labels=st.lists(label_st, min_size=1, max_size=6),
       who=st.tuples(st.sampled_from(["DEU", "EST", "USA", "AUS"]), st.sampled_from(["NU", "NR", "NS"]),
                     st.lists(st.sampled_from(["BALTIC", "ORCON"]), max_size=1)))
def test_nothing_is_delivered_that_the_subscriber_may_not_read(tmp_path_factory, labels, who):  # type: ignore[no-untyped-def]
    live = LiveServer(tmp_path_factory.mktemp("fanout"))
    try:
        live.instance.store.register_caveats(["BALTIC", "ORCON"])
        live.instance.library.operator_collection(collection("sar", rel=["NATO", "FVEY"]))
        sub = _as(user(who[0], who[1], caveats=tuple(who[2])), "s")
        with live.client(sub) as c:
            assert c.post("/subscriptions", json={"collections": ["sar"]}).status_code == 201
        docs = [item(f"i{k}", "sar", cls=cls, rel=rel, cav=cav) for k, (cls, rel, cav) in enumerate(labels)]
        live.instance.library.publish(user("FRA", "CTS", caveats=("BALTIC", "ORCON"), roles=("provider",)), "sar", docs)
        col = Label.from_properties(collection("sar", rel=["NATO", "FVEY"]), prefix="")
        want = {d["id"] for d in docs if decide_item(sub, Label.from_properties(d["properties"]), col)}
        events = live.instance.events()
        last = events.since(0, 100_000)[-1].seq
        with live.client(sub) as c:
            c.get("/alerts")  # starts the dispatcher
            deadline = time.monotonic() + 20
            while events.consumer("alerts").cursor < last and time.monotonic() < deadline:
                time.sleep(0.02)  # polling with a deadline
            got = {a["item"]["id"] for a in c.get("/alerts").json()["alerts"]}
        events.close()
        assert got == want
    finally:
        live.stop()
        live.instance.close()


def test_hostile_bodies_are_400s_and_store_nothing(live: LiveServer) -> None:
    low = _as(user("EST", "NU"), "est")
    huge = {"type": "Polygon", "coordinates": [[[i * 1e-6, 0] for i in range(20_001)] + [[0, 0]]]}
    bodies: list[Any] = [
        {"collections": ["sar"], "bbox": [0, 0, 1e308, 1]},
        {"collections": ["sar"], "intersects": huge},
        {"collections": ["sar"], "filter": {"op": "and", "args": [{"op": "not", "args": []}] * 2}},
        {"collections": ["sar"], "filter": "(" * 300 + "a=1" + ")" * 300}, {"collections": "sar"},
        {"collections": ["sar"], "channel": "webhook", "url": "http://127.0.0.1:6379/", "secret": "s" * 20},
        [1, 2, 3], "text", None, {"collections": ["x\u0000"]}, {"collections": [{"a": 1}]},
    ]
    with live.client(low) as c:
        for body in bodies:
            r = c.post("/subscriptions", json=body) if body is not None else c.post("/subscriptions", content=b"null",
                                                                                  headers={"Content-Type": "x"})
            assert r.status_code in (400, 413), (str(body)[:80], r.status_code, r.text[:200])
        deep = b'{"collections": ["sar"], "filter": ' + b'{"op": "not", "args": [' * 200 + b"true" + b"]}" * 200 + b"}"
        assert c.post("/subscriptions", content=deep, headers={"Content-Type": "application/json"}).status_code == 400
        for raw in (b'{"collections": ["sar"], "bbox": [0, 0, NaN, 1]}',
                    b'{"collections": ["sar"], "bbox": [0, 0, 1e999, 1]}',
                    b'{"collections": ["sar"], "intersects": {"type": "Point", "coordinates": [Infinity, 0]}}'):
            r = c.post("/subscriptions", content=raw, headers={"Content-Type": "application/json"})
            assert r.status_code == 400, raw
        assert c.get("/subscriptions").json()["subscriptions"] == []
        for _ in range(MAX_SUBSCRIPTIONS):
            assert c.post("/subscriptions", json={"collections": ["sar"]}).status_code == 201
        r = c.post("/subscriptions", json={"collections": ["sar"]})
        assert r.status_code == 400 and "subscriptions" in r.text
        assert len(c.get("/subscriptions").json()["subscriptions"]) == MAX_SUBSCRIPTIONS


def test_alerts_are_the_subjects_own(live: LiveServer) -> None:
    live.instance.library.operator_collection(collection("sar", rel=["NATO"]))
    a, b = _as(user("DEU", "NS"), "a"), _as(user("DEU", "NS"), "b")  # same nation and rights, two people
    with live.client(a) as c:
        assert c.post("/subscriptions", json={"collections": ["sar"]}).status_code == 201
    live.instance.library.publish(FRA, "sar", [item("x", "sar", rel=["NATO"])])
    with live.client(a) as c:
        deadline = time.monotonic() + 20
        while not c.get("/alerts").json()["alerts"] and time.monotonic() < deadline:
            time.sleep(0.05)  # polling with a deadline
        assert len(c.get("/alerts").json()["alerts"]) == 1
    with live.client(b) as c:
        assert c.get("/alerts").json()["alerts"] == []
        assert c.get("/alerts", params={"since": "2020-01-01T00:00:00Z"}).json()["alerts"] == []
        for bad in ({"since": "NaN"}, {"limit": 0}, {"since": "2026-01-01T00:00:00Z\x00"}):
            assert c.get("/alerts", params=bad).status_code == 400
        r = c.get("/alerts/stream", headers={"Last-Event-ID": "abc"})
        assert r.status_code == 400


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(labels=st.lists(label_st, min_size=1, max_size=8),
       who=st.tuples(st.sampled_from(["DEU", "EST", "USA", "FRA"]), st.sampled_from(["NU", "NR", "NS", "CTS"]),
                     st.lists(st.sampled_from(["BALTIC", "ORCON"]), max_size=2, unique=True)))
def test_the_batch_read_alerts_use_equals_one_read_per_item(tmp_path_factory, labels, who):  # type: ignore[no-untyped-def]
    """Alerts read their items in batches (`store.items`): exactly what `store.item` gives one by one, polyinstantiated
    ids included."""
    from aquila.catalog import validate_item
    from aquila.errors import Conflict
    from aquila.instance import Instance

    inst = Instance.open(tmp_path_factory.mktemp("batch"))
    try:
        inst.store.register_caveats(["BALTIC", "ORCON"])
        inst.library.operator_collection(collection("sar", rel=["NATO", "FVEY"]))
        for k, (cls, rel, cav) in enumerate(labels):
            try:
                inst.store.add_items([validate_item(item(f"i{k % 3}", "sar", cls=cls, rel=rel, cav=cav))])
            except Conflict:  # the same id and (effective) label: one identity
                pass
        u = user(who[0], who[1], caveats=tuple(who[2]))
        refs = [("sar", f"i{k}") for k in range(4)] + [("nope", "i0")]
        one = {r: inst.store.item(u, *r) for r in refs}
        batch = inst.store.items(u, refs)
        assert {r: (x.rid, x.label) for r, x in one.items() if x is not None} == {
            r: (x.rid, x.label) for r, x in batch.items()}
    finally:
        inst.close()
