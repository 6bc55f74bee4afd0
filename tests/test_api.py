"""The STAC API over a real server: releasability, 404 for the unreleasable, one error shape, audit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from library_helpers import collection, item, user

ADMIN = user("FRA", "CTS", roles=("admin",))
FRA_PROVIDER = user("FRA", "NS", roles=("provider",))
DEU_ANALYST = user("DEU", "NC")


def _seed(live) -> None:  # type: ignore[no-untyped-def]
    with live.client(ADMIN) as c:
        assert c.post("/collections", json=collection("sar")).status_code == 201
    with live.client(FRA_PROVIDER) as c:
        for it in (item("open", cls="NU", rel=["NATO"]), item("secret", cls="NS", rel=["NATO"]),
                   item("deu-only", cls="NR", rel=["DEU"]), item("national", cls="NU", rel=[])):
            r = c.post("/collections/sar/items", json=it)
            assert r.status_code == 201, r.text
        # a provider labels only with caveats it holds itself
        caveated = item("caveated", cls="NU", rel=["NATO"], cav=["BALTIC"])
        assert c.post("/collections/sar/items", json=caveated).status_code == 403
    with live.client(user("FRA", "NS", caveats=("BALTIC",), roles=("provider",))) as c:
        assert c.post("/collections/sar/items", json=caveated).status_code == 201


def test_each_user_sees_exactly_what_labels_release(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    with live.client(DEU_ANALYST) as c:
        r = c.get("/search", params={"limit": 2})
        body = r.json()
        assert r.headers["content-type"].startswith("application/geo+json")
        assert body["numberMatched"] == 2
        ids = [f["id"] for f in body["features"]]
        assert set(ids) == {"open", "deu-only"}
        assert not [lk for lk in body["links"] if lk["rel"] == "next"]  # 2 of 2: no further page
        page1 = c.get("/search", params={"limit": 1}).json()
        (nxt,) = [lk for lk in page1["links"] if lk["rel"] == "next"]
        page2 = c.get(nxt["href"]).json()
        assert {page1["features"][0]["id"], page2["features"][0]["id"]} == {"open", "deu-only"}
        assert not [lk for lk in page2["links"] if lk["rel"] == "next"]
    with live.client(FRA_PROVIDER) as c:
        assert c.get("/search").json()["numberMatched"] == 4  # not the caveated one
    with live.client(user("FRA", "NS", caveats=("BALTIC",))) as c:
        assert c.get("/search").json()["numberMatched"] == 5


def test_unreleasable_item_is_indistinguishable_from_a_missing_one(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    with live.client(DEU_ANALYST) as c:
        hidden = c.get("/collections/sar/items/secret")
        missing = c.get("/collections/sar/items/no-such-item")
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json() == missing.json()
        assert c.get("/collections/sar/items/open").status_code == 200


def test_tokens_missing_expired_forged_are_401(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    with live.client() as c:
        assert c.get("/search").status_code == 401
        r = c.get("/search", headers={"Authorization": "Bearer not-a-token"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        past = datetime.now(UTC) - timedelta(hours=2)
        old = live.instance.tokens.issue(DEU_ANALYST, ttl=timedelta(minutes=1), now=past)
        assert c.get("/search", headers={"Authorization": f"Bearer {old}"}).json()["description"] == "token expired"
        good = live.token(DEU_ANALYST)
        claims = jwt.decode(good, options={"verify_signature": False})
        claims["clearance"] = "CTS"  # escalate, keep the old signature
        head, _, sig = good.split(".")
        forged = jwt.encode(claims, "x" * 32, algorithm="HS256").split(".")
        assert c.get("/search", headers={"Authorization": f"Bearer {forged[0]}.{forged[1]}.{sig}"}).status_code == 401


def test_provider_publishes_only_its_own_nation(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    with live.client(user("DEU", "NS", roles=("provider",))) as c:
        r = c.post("/collections/sar/items", json=item("x", orig="FRA"))
        assert r.status_code == 403
        assert c.post("/collections/sar/items", json=item("y", orig="DEU")).status_code == 201
    with live.client(DEU_ANALYST) as c:  # no provider role
        assert c.post("/collections/sar/items", json=item("z", orig="DEU")).status_code == 403
        assert c.post("/collections", json=collection("new")).status_code == 403


BAD = [
    (b'{"type": "Feature", ', "body"),
    (json.dumps(item("g", lon=200.0)).encode(), "geometry.coordinates"),
    (json.dumps(item("h", cls="SECRETISH")).encode(), "properties.sec:classification"),
    (json.dumps(item("k", orig="XXX")).encode(), "properties.sec:originator"),
    (json.dumps(item("m", rel=["ZZZ"])).encode(), "properties.sec:releasable_to"),
    (json.dumps({**item("n"), "geometry": {"type": "Polygon",
                                           "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}).encode(),
     "geometry"),
]


@pytest.mark.parametrize("body,field", BAD)
def test_bad_input_is_400_with_one_shape_and_stores_nothing(live, body: bytes, field: str) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    before = live.instance.store.count()
    with live.client(FRA_PROVIDER) as c:
        r = c.post("/collections/sar/items", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, r.text
        err = r.json()
        assert set(err) == {"code", "description", "field", "expected"} and err["field"] == field
    assert live.instance.store.count() == before


def test_oversized_body_and_bad_queries(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    with live.client(FRA_PROVIDER) as c:
        big = json.dumps(item("big", note="x" * 300_000))
        r = c.post("/collections/sar/items", content=big, headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and r.json()["code"] == "PayloadTooLarge"
        for params, field in (({"filter": "eo:cloud_cover <"}, "filter"), ({"bbox": "1,2,3"}, "bbox"),
                              ({"datetime": "yesterday"}, "datetime"), ({"limit": "0"}, "limit"),
                              ({"token": "%%%"}, "token")):
            r = c.get("/search", params=params)
            assert r.status_code == 400 and r.json()["field"] == field
        r = c.post("/search", json={"filter": {"op": "frobnicate", "args": []}})
        assert r.status_code == 400 and r.json()["field"] == "filter"
    assert live.instance.store.count() == 5


def test_filter_sort_fields_and_transactions(live) -> None:  # type: ignore[no-untyped-def]
    with live.client(ADMIN) as c:
        c.post("/collections", json=collection("eo"))
    with live.client(FRA_PROVIDER) as c:
        for k in range(6):
            assert c.post("/collections/eo/items", json=item(f"e{k}", "eo", rel=["NATO"], **{"eo:cloud_cover": k * 10})
                          ).status_code == 201
        r = c.post("/search", json={"filter": "\"eo:cloud_cover\" >= 20 AND \"eo:cloud_cover\" < 50",
                                    "filter-lang": "cql2-text",
                                    "sortby": [{"field": "properties.eo:cloud_cover", "direction": "desc"}],
                                    "fields": {"include": ["properties.eo:cloud_cover"], "exclude": ["links"]}})
        feats = r.json()["features"]
        assert [f["id"] for f in feats] == ["e4", "e3", "e2"]
        assert "links" not in feats[0] and feats[0]["properties"]["eo:cloud_cover"] == 40
        upd = item("e0", "eo", rel=["NATO"], **{"eo:cloud_cover": 99})
        assert c.put("/collections/eo/items/e0", json=upd).json()["properties"]["eo:cloud_cover"] == 99
        assert c.delete("/collections/eo/items/e1").status_code == 204
        assert c.get("/collections/eo/items/e1").status_code == 404
        assert c.get("/collections/eo/items", params={"limit": 100}).json()["numberMatched"] == 5


def test_audit_records_every_decision_and_providers_see_their_accesses(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    with live.client(DEU_ANALYST) as c:
        c.get("/collections/sar/items/secret")  # denied
        c.get("/collections/sar/items/open")  # allowed
    with live.client(user("FRA", "NS", roles=("provider",))) as c:
        entries = c.get("/audit", params={"originator": "FRA", "limit": 1000}).json()["entries"]
        reads = [(e["nation"], e["object"], e["allowed"]) for e in entries if e["action"] == "read item"]
        assert ("DEU", "sar/secret", False) in reads and ("DEU", "sar/open", True) in reads
        assert c.get("/audit", params={"originator": "DEU"}).status_code == 403
    with live.client(DEU_ANALYST) as c:
        assert c.get("/audit", params={"originator": "DEU"}).status_code == 403
    assert live.instance.audit.verify().ok


def test_every_search_decision_is_logged(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    n0 = live.instance.audit.verify().entries
    with live.client(DEU_ANALYST) as c:
        assert c.get("/search").status_code == 200  # the entry is durable before the response
    summary, per_originator = live.instance.audit.entries(after=n0)[-2:]
    assert summary.action == "search" and summary.nation == "DEU" and "returned 2 of 2" in summary.reason
    assert summary.originators == ()  # the summary names no one's objects
    # one entry per originator names that originator's returned items only
    assert per_originator.originators == ("FRA",) and per_originator.nation == "DEU"
    assert set(per_originator.object.split(",")) == {"sar/open", "sar/deu-only"}



def test_assets_upload_and_download_under_the_items_label(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    payload = bytes(range(256)) * 4096  # 1 MiB: above the JSON body limit, below the asset limit
    with live.client(FRA_PROVIDER) as c:
        r = c.put("/collections/sar/items/secret/assets/image", content=payload,
                  headers={"Content-Type": "image/tiff"})
        assert r.status_code == 201, r.text
        href = r.json()["assets"]["image"]["href"]
        assert href == f"{live.url}/collections/sar/items/secret/assets/image"
        assert r.json()["assets"]["image"]["file:size"] == len(payload)
        got = c.get(href)
        assert got.status_code == 200 and got.content == payload and got.headers["content-type"] == "image/tiff"
    with live.client(DEU_ANALYST) as c:  # NC clearance: the NS item's bytes are as missing as the item
        assert c.get(href).status_code == 404
        assert c.get(href).json() == c.get("/collections/sar/items/secret/assets/nothing").json()
    with live.client(user("DEU", "NS", roles=("provider",))) as c:  # may read, may not write FRA's item
        assert c.put("/collections/sar/items/secret/assets/x", content=b"x").status_code == 403


def test_patch_merges_and_keeps_the_label_rules(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    with live.client(FRA_PROVIDER) as c:
        r = c.patch("/collections/sar/items/open", json={"properties": {"eo:cloud_cover": 12.4, "note": "ok"}})
        assert r.status_code == 200, r.text
        props = c.get("/collections/sar/items/open").json()["properties"]
        assert props["eo:cloud_cover"] == 12.4 and props["note"] == "ok" and props["sec:classification"] == "NU"
        assert "note" not in c.patch("/collections/sar/items/open", json={"properties": {"note": None}}
                                     ).json()["properties"]
        bad = c.patch("/collections/sar/items/open", json={"properties": {"sec:originator": "DEU"}})
        assert bad.status_code == 403  # a FRA provider cannot hand the item to another originator
        assert c.patch("/collections/sar/items/open", json={"properties": {"sec:classification": "XX"}}
                       ).status_code == 400
    with live.client(DEU_ANALYST) as c:
        assert c.patch("/collections/sar/items/secret", json={"properties": {}}).status_code == 404
