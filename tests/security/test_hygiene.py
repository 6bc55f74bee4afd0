"""Input hygiene: finite numbers, clean ids and keys, strict tokens, revocation, assets that browsers will not run.

Every malformed input is a 400 (or 401 for tokens) naming the field, never a 500, and leaves
nothing stored.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import subprocess
import sys
import threading
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from library_helpers import collection, item, user

ADMIN = user("FRA", "CTS", roles=("admin",))
PROVIDER = user("FRA", "NS", roles=("provider",))
ANALYST = user("DEU", "NC")


def _seed(live: Any) -> None:
    with live.client(ADMIN) as c:
        assert c.post("/collections", json=collection("sar", rel=["NATO"])).status_code == 201
    with live.client(PROVIDER) as c:
        assert c.post("/collections/sar/items", json=item("a", rel=["NATO"], **{"eo:cloud_cover": 5})
                      ).status_code == 201


def _raw_item(prop: str) -> bytes:
    return json.dumps(item("bad", rel=["NATO"])).replace('"datetime"', f'"x:v": {prop}, "datetime"').encode()


@pytest.mark.parametrize("literal", ["1e999", "-1e999", "NaN", "Infinity", "-Infinity", "1" * 40])
def test_non_finite_and_huge_numbers_are_400_naming_the_field_and_store_nothing(live, literal: str) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    before = live.instance.store.count()
    with live.client(PROVIDER) as c:
        r = c.post("/collections/sar/items", content=_raw_item(literal), headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["field"] == "properties.x:v", r.text
        r = c.post("/search", content=f'{{"limit": {literal}}}', headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["field"] == "limit", r.text
        r = c.post("/search", content=f'{{"bbox": [0, 0, {literal}, 1]}}', headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["field"] == "bbox"
    assert live.instance.store.count() == before
    with live.client(ANALYST) as c:  # nothing poisoned: every read still works for everyone
        assert c.get("/search").json()["numberMatched"] == 1
        assert c.get("/collections/sar/items/a").status_code == 200


def test_non_finite_values_in_query_strings_and_filters_are_400(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    with live.client(ANALYST) as c:
        for params, field in (({"bbox": "0,0,inf,1"}, "bbox"), ({"bbox": "nan,0,1,1"}, "bbox"),
                              ({"filter": "eo:cloud_cover < 1e999"}, "filter"),
                              ({"limit": "9" * 5000}, "limit"), ({"datetime": "99999-01-01T00:00:00Z"}, "datetime")):
            r = c.get("/search", params=params)
            assert r.status_code == 400 and r.json()["field"] == field, (params, r.text)


@pytest.mark.parametrize("filt", [
    {"op": "not", "args": []}, {"op": "=", "args": [{"property": "a"}]}, {"op": "and", "args": []},
    {"op": "<", "args": [{"property": "a"}, 1, 2]}, {"op": "isNull", "args": []}, {"op": "like", "args": "x"},
    {"op": "=", "args": [{"property": "a\u0000b"}, 1]}, {"op": "=", "args": [{"property": ""}, 1]},
    {"op": "=", "args": [{"property": "a"}, "x\u0000"]}, {"op": "t_intersects", "args": [{"property": "datetime"},
                                                                                         {"interval": ["x"]}]},
])
def test_malformed_cql2_json_is_400_not_500(live, filt: dict) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    with live.client(ANALYST) as c:
        r = c.post("/search", json={"filter": filt})
        assert r.status_code == 400 and r.json()["field"] in ("filter", "property"), r.text


def test_ids_and_keys_without_control_characters(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    with live.client(PROVIDER) as c:
        for bad in ("x\n", "x\x00", " x", "x y", "é"):
            r = c.post("/collections/sar/items", json=item(bad, rel=["NATO"]))
            assert r.status_code == 400 and r.json()["field"] == "id", (bad, r.text)
        it = item("k", rel=["NATO"])
        it["properties"]["a\u0000b"] = 1
        r = c.post("/collections/sar/items", json=it)
        assert r.status_code == 400 and r.json()["field"] == "properties"
        r = c.put("/collections/sar/items/a/assets/x%0A", content=b"z")
        assert r.status_code in (400, 404)
    with live.client(ADMIN) as c:
        r = c.post("/collections", json=collection("c\n"))
        assert r.status_code == 400 and r.json()["field"] == "id"
    assert live.instance.store.count() == 1


def test_paging_tokens_offsets_and_audit_cursors_are_bounded(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)

    def tok(v: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps({"o": v}).encode()).decode().rstrip("=")

    with live.client(ANALYST) as c:
        for t in (tok(10**30), tok(-1), tok(10**6), tok(1.5), tok(True), "A" * 5000):
            r = c.get("/search", params={"token": t})
            assert r.status_code == 400 and r.json()["field"] == "token", (t[:20], r.text)
    with live.client(PROVIDER) as c:
        for params in ({"after": str(10**30)}, {"after": "-1"}, {"limit": "0"}, {"limit": str(10**30)}):
            assert c.get("/audit", params=params).status_code == 400, params


def _get(live: Any, path: str, token: str | None = None) -> Any:
    with live.client() as c:
        return c.get(path, headers={"Authorization": f"Bearer {token}"} if token else {})


def _signed(live: Any, claims: dict[str, Any]) -> str:
    key = serialization.load_pem_private_key(live.instance.tokens.key_path.read_bytes(), password=None)
    now = int(time.time())
    base = {"iss": "aquila", "sub": "mallory", "jti": "j1", "iat": now, "exp": now + 3600, "nation": "DEU",
            "clearance": "NS", "caveats": [], "roles": []}
    merged = {k: v for k, v in {**base, **claims}.items() if v is not None}  # None: leave the claim out
    return jwt.encode(merged, key, algorithm="EdDSA")


@pytest.mark.parametrize("claims", [
    {"caveats": "BALTIC"},                      # a string was split into characters
    {"caveats": ["baltic"]}, {"caveats": [1]}, {"roles": ["superuser"]}, {"roles": "admin"},
    {"exp": int(time.time()) + 100 * 365 * 86400},   # a 100-year token
    {"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200},  # issued in the future
    {"nation": "XXX"}, {"nation": ["DEU"]}, {"clearance": 3}, {"sub": "a\nb"}, {"jti": None},
])
def test_loosely_typed_or_overlong_tokens_are_401(live, claims: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    bad = _signed(live, claims)
    r = _get(live, "/search", bad)
    assert r.status_code == 401, claims
    good = _signed(live, {})
    assert _get(live, "/search", good).status_code == 200


def test_revoked_tokens_stop_working_at_once_on_a_running_server(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    data = str(live.instance.data_dir)
    watch = dataclasses.replace(user("DEU", "NC"), subject="deu-watch")
    t1, t2 = live.token(ANALYST), live.token(watch)
    other = live.token(user("EST", "NR"))
    for t in (t1, t2, other):
        assert _get(live, "/search", t).status_code == 200
    out = subprocess.run([sys.executable, "-m", "aquila", "token", "revoke", "--data", data, "--token", t1],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    r = _get(live, "/search", t1)
    assert r.status_code == 401 and r.json()["description"] == "token revoked"
    assert _get(live, "/search", t2).status_code == 200
    out = subprocess.run([sys.executable, "-m", "aquila", "token", "revoke", "--data", data, "--subject", "deu-watch"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    before = json.loads(out.stdout)["revoked"]["issued_before"]
    assert _get(live, "/search", t2).status_code == 401
    assert _get(live, "/search", other).status_code == 200
    deadline = time.monotonic() + 5
    while time.time() < before:  # tokens carry whole seconds: poll until the clock passes the revocation's second
        assert time.monotonic() < deadline
        threading.Event().wait(0.01)
    fresh = live.token(watch)  # issued after the revocation of the subject: valid
    assert _get(live, "/search", fresh).status_code == 200
    bad = subprocess.run([sys.executable, "-m", "aquila", "token", "--data", data, "--nation", "DEU", "--clearance",
                          "NS", "--ttl", "30d"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--ttl" in bad.stderr


@pytest.mark.parametrize("declared,served", [
    ("text/html", "application/octet-stream"), ("image/svg+xml", "application/octet-stream"),
    ("application/javascript", "application/octet-stream"), ("text/html; charset=utf-8", "application/octet-stream"),
    ("image/tiff; application=geotiff; profile=cloud-optimized",
     "image/tiff; application=geotiff; profile=cloud-optimized"),
    ("application/json", "application/json"), (None, "application/octet-stream"),
])
def test_assets_are_served_so_that_browsers_never_run_them(live, declared: str | None, served: str) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    with live.client(PROVIDER) as c:
        headers = {"Content-Type": declared} if declared else {}
        r = c.put("/collections/sar/items/a/assets/page", content=b"<script>alert(1)</script>", headers=headers)
        assert r.status_code == 201 and r.json()["assets"]["page"]["type"] == served
        got = c.get("/collections/sar/items/a/assets/page")
        assert got.headers["content-type"].split(";")[0] == served.split(";")[0]
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-disposition"] == 'attachment; filename="page"'


def test_every_answer_carries_the_security_headers(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    with live.client(ANALYST) as c:
        for r in (c.get("/search"), c.get("/collections/sar/items/nope"), _get(live, "/")):
            assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path,body", [
    ("/search", {"filter": {"op": "in", "args": [{"property": "a"}, []]}, "filter-lang": "cql2-json"}),
    ("/search", {"filter": {"op": "t_intersects", "args": [{"property": "datetime"}, {"timestamp": ""}]}}),
    ("/search", {"fields": {"include": 5}}), ("/search", {"fields": {"exclude": True}}),
    ("/search", {"limit": 1.5}), ("/search", {"ids": ["\ud800"]}), ("/search", {"collections": ["\udfff"]}),
    ("/search", {"sortby": [{"field": "\ud800"}]}),
    ("/collections/sar/items", item("r1", rel=[[1]])), ("/collections/sar/items", item("r2", rel=[{}])),
    ("/collections/sar/items", item("s1", rel=["NATO"], note="\ud800")),
])
def test_inputs_that_answered_500_are_400(live, path: str, body: dict) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    raw = json.dumps(body).encode()  # json.dumps escapes lone surrogates as \udXXX, as an attacker would send
    with live.client(PROVIDER) as c:
        r = c.post(path, content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code in (200, 400), (path, r.status_code, r.text[:200])
    with live.client(ANALYST) as c:  # nothing stored that poisons reads
        assert c.get("/search").status_code == 200 and c.get("/collections").status_code == 200


def test_a_surrogate_in_a_denied_request_is_still_audited(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    n0 = live.instance.audit.verify().entries
    with live.client(ANALYST) as c:
        r = c.post("/collections", content=b'{"type":"Collection","id":"\\ud800"}',
                   headers={"Content-Type": "application/json"})
        assert r.status_code in (400, 403)
        r = c.post("/collections", content=b'{"type":"Collection","id":"ok","description":"x"}',
                   headers={"Content-Type": "application/json"})
        assert r.status_code == 403
    assert [e.action for e in live.instance.audit.entries(after=n0) if not e.allowed] == ["create collection"]
    assert live.instance.audit.verify().ok


def test_raw_utf8_lone_surrogates_and_projection_edge_cases(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    with live.client(ANALYST) as c:
        for field in (b"collections", b"ids"):  # the bytes of an encoded surrogate, not a \\u escape
            r = c.post("/search", content=b'{"' + field + b'": ["\xed\xa0\x80"]}',
                       headers={"Content-Type": "application/json"})
            assert r.status_code == 400 and r.json()["field"] == "body", r.text
        r = c.post("/search", json={"fields": {"exclude": ["properties.sec:originator"]}})
        assert r.status_code == 200 and "sec:originator" not in r.json()["features"][0]["properties"]


def test_a_caveat_registered_while_the_server_runs_is_usable_at_once(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    out = subprocess.run([sys.executable, "-m", "aquila", "token", "--data", str(live.instance.data_dir), "--nation",
                          "FRA", "--clearance", "NS", "--caveat", "NEWOPS", "--role", "provider"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    with live.client() as c:
        r = c.post("/collections/sar/items", json=item("n1", rel=["NATO"], cav=["NEWOPS"]),
                   headers={"Authorization": f"Bearer {out.stdout.strip()}"})
        assert r.status_code == 201, r.text  # was a false 409 from a stale caveat cache
        assert c.get("/collections/sar/items/n1", headers={"Authorization": f"Bearer {out.stdout.strip()}"}
                     ).status_code == 200
