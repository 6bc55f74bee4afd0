"""Every operation of the OpenAPI description, fed hostile values: no 5xx, no crash, the server still answers.

Schemathesis (tests/test_fuzz_api.py) draws well-formed-ish cases from the schema; this adds what
an attacker sends on purpose: deep nesting, non-finite and huge numbers, NUL and newlines in ids
and keys, oversized lists, path tricks. The list of operations comes from the live description,
so a new route is fuzzed the day it is added.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import httpx
import pytest

from aquila.catalog import validate_item
from conftest import LiveServer, send
from library_helpers import collection, item, user

POWER = user("FRA", "CTS", caveats=("BALTIC",), roles=("admin", "provider"))
LOW = user("EST", "NU", roles=("analyst",))

HOSTILE_IDS = ["x%0A", "x%00y", "a" * 300, "..%2F..%2Fetc", "%E2%80%AE", "sar%0D%0AX-Injected:%201", "-1", "0"]
HOSTILE_VALUES: list[Any] = ["1e999", "NaN", "-Infinity", "9" * 400, "", "\x00", "a\nb", "[" * 200,
                             '{"op":"not","args":[]}', "0,0,1e999,1", "..", "-1", "99999999999999999999999"]
HOSTILE_BODIES: list[bytes] = [
    b"[" * 3000 + b"]" * 3000, b'{"a":' * 300 + b"1" + b"}" * 300, b'{"limit": 1e999}', b'{"limit": NaN}',
    b'{"bbox": [0, 0, Infinity, 1]}', b'{"id": "x\\u0000", "type": "Feature"}', b'{"ids": ' +
    json.dumps(["i"] * 50000).encode() + b"}", b'{"filter": "' + b"(" * 2000 + b'"}', b"\xff\xfe\x00",
    json.dumps(item("h", "sar", rel=["NATO"], big=10**30)).encode(), b'{"type": "Collection", "id": "z", '
    b'"sec:classification": "NU", "sec:originator": "FRA", "sec:releasable_to": "NATO"}', b"null", b"1e999",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # type: ignore[no-untyped-def]
    srv = LiveServer(tmp_path_factory.mktemp("hostile"))
    srv.instance.store.put_collection(collection("sar", rel=["NATO"]), create=True)
    srv.instance.store.add_items([validate_item(item(f"f{k}", "sar", rel=["NATO"])) for k in range(5)])
    yield srv
    srv.stop()


def _paths(template: str) -> list[str]:
    names = re.findall(r"\{(\w+)\}", template)
    good = {"cid": "sar", "iid": "f1", "key": "data", "rule_id": "r1", "sid": "sub-1", "z": "0", "x": "0", "y": "0"}
    out = []
    for name in names:
        for bad in HOSTILE_IDS:
            out.append(template.format(**{n: (bad if n == name else good.get(n, "x")) for n in names}))
    return out or [template]


def test_every_operation_survives_hostile_values(server) -> None:  # type: ignore[no-untyped-def]
    doc = httpx.get(server.url + "/api").json()
    operations = [(path, method.upper(), spec) for path, ops in doc["paths"].items() for method, spec in ops.items()]
    assert len(operations) >= 14
    failures: list[str] = []
    count = 0
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for (path, method, spec), u in itertools.product(operations, (POWER, LOW)):
            headers = {"Authorization": f"Bearer {server.token(u)}", "Content-Type": "application/json"}
            params = [p["name"] for p in spec.get("parameters", []) if p.get("in") == "query"]
            requests: list[tuple[str, dict[str, Any], bytes | None]] = []
            for p in _paths(path):
                requests.append((p, {}, None))
            base = path.format(cid="sar", iid="f1", key="data", rule_id="r1", sid="sub-1", z="0", x="0", y="0")
            for name, value in itertools.product(params, HOSTILE_VALUES):
                requests.append((base, {name: value}, None))
            if method in ("POST", "PUT", "PATCH"):
                requests += [(base, {}, body) for body in HOSTILE_BODIES]
            for url, query, body in requests:
                try:
                    r = send(client, method, url, params=query, content=body, headers=headers)
                except (httpx.TransportError, httpx.InvalidURL):
                    r = None  # refused below the application (e.g. a 413 closing the connection)
                count += 1
                if r is not None and r.status_code >= 500:
                    failures.append(f"{method} {url} {query} {body[:60] if body else ''!r}: {r.status_code} "
                                    f"{r.text[:150]}")
    assert not failures, failures[:5]
    assert count > 500
    with httpx.Client(base_url=server.url, timeout=30) as client:  # the server still answers, and correctly
        r = client.get("/search", headers={"Authorization": f"Bearer {server.token(LOW)}"})
        assert r.status_code == 200 and r.json()["numberMatched"] == 5
    assert server.instance.audit.verify().ok
