"""/release-rules as a hostile insider would try it: another nation's rules are unreachable, ids reveal nothing,
low-privilege tokens are refused, bad bodies never leave state behind, and every write is audited."""

from __future__ import annotations

from typing import Any

from library_helpers import user

FRA_PROVIDER = user("FRA", "NS", roles=("provider",))
FRA_ADMIN = user("FRA", "NS", roles=("admin",))
FRA_LOW = user("FRA", "NR", roles=("provider",))
DEU_PROVIDER = user("DEU", "NS", roles=("provider",))
FRA_ANALYST = user("FRA", "CTS")

RULE: dict[str, Any] = {"id": "nato-6h", "product": "vessel-detections", "delay": "PT6H",
                        "label": {"sec:classification": "NR", "sec:releasable_to": ["NATO"], "sec:caveats": []}}


def _audit(live, nation: str | None) -> list[Any]:  # type: ignore[no-untyped-def]
    """The nation's view (cleared for all), or the operator's whole log (None)."""
    return live.instance.audit.entries_page(originator=nation, after=0, limit=1000,
                                            viewer=(4, frozenset()) if nation else None)[0]


def test_provider_writes_reads_replaces_deletes_its_rule_audited(live) -> None:  # type: ignore[no-untyped-def]
    with live.client(FRA_PROVIDER) as c:
        r = c.post("/release-rules", json=RULE)
        assert r.status_code == 201, r.text
        assert r.json()["nation"] == "FRA" and r.json()["delay"] == "PT6H"
        assert c.post("/release-rules", json=RULE).status_code == 409  # its own id: says so
        assert c.get("/release-rules").json()["rules"][0]["id"] == "nato-6h"
        r = c.put("/release-rules/nato-6h", json=dict(RULE, delay="PT12H"))
        assert r.status_code == 200 and r.json()["delay"] == "PT12H"
        assert c.put("/release-rules/second", json={k: v for k, v in RULE.items() if k != "id"}).status_code == 201
        assert c.delete("/release-rules/nato-6h").status_code == 204
        assert c.get("/release-rules/nato-6h").status_code == 404
        assert c.delete("/release-rules/nato-6h").status_code == 404
    with live.client(FRA_ADMIN) as c:  # admins read, never write
        assert [x["id"] for x in c.get("/release-rules").json()["rules"]] == ["second"]
        assert c.post("/release-rules", json=dict(RULE, id="by-admin")).status_code == 403
    actions = [(e.action, e.object, e.allowed) for e in _audit(live, "FRA")]
    for want in [("create release rule", "FRA/nato-6h", True), ("create release rule", "FRA/nato-6h", False),
                 ("replace release rule", "FRA/nato-6h", True), ("replace release rule", "FRA/second", True),
                 ("delete release rule", "FRA/nato-6h", True), ("delete release rule", "FRA/nato-6h", False)]:
        assert want in actions, want
    assert ("create release rule", "FRA", False) in [(e.action, e.object, e.allowed) for e in _audit(live, None)]


def test_another_nations_rules_are_unreachable_and_ids_are_no_oracle(live) -> None:  # type: ignore[no-untyped-def]
    with live.client(FRA_PROVIDER) as c:
        assert c.post("/release-rules", json=RULE).status_code == 201
    with live.client(DEU_PROVIDER) as c:
        hidden = c.get("/release-rules/nato-6h")
        missing = c.get("/release-rules/never-was")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json()["description"].replace("nato-6h", "X") == missing.json()["description"].replace(
            "never-was", "X")
        assert c.get("/release-rules").json() == {"nation": "DEU", "rules": []}
        # the same id is DEU's own to create: no 409 tells it FRA has one
        assert c.post("/release-rules", json=RULE).status_code == 201
        assert c.delete("/release-rules/nato-6h").status_code == 204  # DEU's, not FRA's
        # writing for FRA is refused, naming the field
        r = c.post("/release-rules", json=dict(RULE, id="for-fra", nation="FRA"))
        assert r.status_code == 400 and "nation" in r.text
        r = c.put("/release-rules/nato-6h", json=dict(RULE, label=dict(RULE["label"], **{"sec:originator": "FRA"})))
        assert r.status_code == 400 and "sec:originator" in r.text
    with live.client(FRA_PROVIDER) as c:
        assert c.get("/release-rules/nato-6h").json()["delay"] == "PT6H"  # FRA's rule untouched


def test_low_privilege_tokens_are_refused_and_audited(live) -> None:  # type: ignore[no-untyped-def]
    with live.client(FRA_ANALYST) as c:
        assert c.get("/release-rules").status_code == 403
        assert c.post("/release-rules", json=RULE).status_code == 403
        assert c.put("/release-rules/x", json=RULE).status_code == 403
        assert c.delete("/release-rules/x").status_code == 403
    with live.client() as c:  # no token
        assert c.get("/release-rules").status_code == 401
    with live.client(FRA_LOW) as c:  # may not write a label above its own clearance or caveats
        r = c.post("/release-rules", json=dict(RULE, label={"sec:classification": "NS"}))
        assert r.status_code == 403
        r = c.post("/release-rules", json=dict(RULE, label={"sec:classification": "NR", "sec:caveats": ["ORCA"]}))
        assert r.status_code == 403
    with live.client(FRA_PROVIDER) as c:
        assert c.get("/release-rules").json()["rules"] == []
    denied = [e for e in _audit(live, None) if not e.allowed and "release rule" in e.action]
    assert len(denied) >= 6


def test_hostile_bodies_are_400s_and_leave_nothing(live) -> None:  # type: ignore[no-untyped-def]
    bodies: list[Any] = [
        [RULE], "x", None, 1e308, {"id": "x" * 65, **{k: v for k, v in RULE.items() if k != "id"}},
        dict(RULE, delay="PT1e9H"), dict(RULE, delay="NaN"),
        dict(RULE, source_collections=["c"] * 101), dict(RULE, source_collections="all"),
        dict(RULE, label={"sec:classification": "NR", "sec:releasable_to": "NATO"}),
        dict(RULE, label={"sec:classification": "SECRETISH"}), dict(RULE, description="d" * 1001),
        dict(RULE, id="../../etc"), dict(RULE, product={"$ne": None}),
    ]
    nested: Any = {}
    for _ in range(200):
        nested = {"a": nested}
    with live.client(FRA_PROVIDER) as c:
        for b in bodies:
            r = c.post("/release-rules", json=b)
            assert r.status_code == 400, (b, r.status_code, r.text)
            assert r.json().get("description"), r.text
        r = c.post("/release-rules", content=b'{"id": "n", "product": "vessel-detections", "label": '
                                             b'{"sec:classification": "NR"}, "delay": NaN}',
                   headers={"content-type": "application/json"})
        assert r.status_code == 400
        assert c.post("/release-rules", json=dict(RULE, description=nested)).status_code == 400
        assert c.put("/release-rules/a", json=dict(RULE, id="b")).status_code == 400  # id must match the URL
        assert c.get("/release-rules").json()["rules"] == []


def test_a_rule_covers_only_what_its_writer_is_cleared_for(live) -> None:  # type: ignore[no-untyped-def]
    """A low-cleared provider can neither write a rule releasing sources above it, nor see or change one."""
    high = user("FRA", "CTS", caveats=("ORCA",), roles=("provider",))
    with live.client(FRA_LOW) as c:  # NR, no caveats
        r = c.post("/release-rules", json=dict(RULE, label={"sec:classification": "NU"}))
        assert r.status_code == 201 and r.json()["source_max_classification"] == "NR"  # defaults to its clearance
        assert r.json()["source_caveats"] == []
        for wider in ({"source_max_classification": "NS"}, {"source_caveats": ["ORCA"]}):
            r = c.post("/release-rules", json=dict(RULE, id="wider", label={"sec:classification": "NU"}, **wider))
            assert r.status_code == 403, (wider, r.text)
        assert c.post("/release-rules", json=dict(RULE, id="bad", source_caveats="ORCA")).status_code == 400
        assert c.post("/release-rules", json=dict(RULE, id="bad", delay="PT\u0666H")).status_code == 400
        assert c.post("/release-rules", json=dict(RULE, id="bad", description="a\u0000b")).status_code == 400
    with live.client(high) as c:
        assert c.post("/release-rules", json=dict(RULE, id="orca")).json()["source_caveats"] == ["ORCA"]
    with live.client(FRA_LOW) as c:
        assert [x["id"] for x in c.get("/release-rules").json()["rules"]] == ["nato-6h"]
        assert c.get("/release-rules/orca").status_code == 404
        assert c.delete("/release-rules/orca").status_code == 404
        replace = dict(RULE, id="orca", label={"sec:classification": "NU"})
        assert c.put("/release-rules/orca", json=replace).status_code == 403
    with live.client(high) as c:
        assert c.get("/release-rules/orca").json()["label"]["sec:classification"] == "NR"  # untouched
