"""Schemathesis fuzzes every operation of the OpenAPI description: no input gets a 500.

Cases are drawn from each operation's hypothesis strategy and sent to a real server with a
token that may do everything (so the fuzz reaches the code behind authorisation).
"""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from aquila.catalog import validate_item
from conftest import LiveServer, send
from library_helpers import collection, item, user

POWER_USER = user("FRA", "CTS", caveats=("BALTIC",), roles=("admin", "provider"))


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # type: ignore[no-untyped-def]
    srv = LiveServer(tmp_path_factory.mktemp("fuzz"))
    srv.instance.store.put_collection(collection("sar"), create=True)
    srv.instance.store.add_items([validate_item(item(f"f{k}", "sar", rel=["NATO"])) for k in range(5)])
    yield srv
    srv.stop()


def test_every_operation_survives_fuzzing(server) -> None:  # type: ignore[no-untyped-def]
    doc = httpx.get(server.url + "/api").json()
    schema = schemathesis.openapi.from_dict(doc)
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 12
    token = server.token(POWER_USER)
    failures: list[str] = []
    seen: list[int] = []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for op in operations:
            @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                      derandomize=True)
            @given(op.as_strategy())
            def run(case) -> None:  # type: ignore[no-untyped-def]
                kwargs = case.as_transport_kwargs(base_url=server.url)
                kwargs.pop("base_url", None)
                headers = dict(kwargs.pop("headers", {}) or {})
                headers["Authorization"] = f"Bearer {token}"
                try:
                    resp = send(client, kwargs.pop("method"), kwargs.pop("url"), headers=headers,
                                params=kwargs.get("params"), content=kwargs.get("data"), json=kwargs.get("json"))
                except (httpx.TransportError, httpx.InvalidURL, UnicodeError):  # noqa: PERF203
                    # a request that is not valid HTTP (generated header bytes, say) is refused by
                    # the HTTP layer before the application; the server must keep serving
                    assert httpx.get(server.url + "/api").status_code == 200
                    return
                seen.append(resp.status_code)
                if resp.status_code >= 500:
                    sent = resp.request
                    failures.append(f"{sent.method} {sent.url.path}: {resp.status_code} {resp.text[:200]}")

            run()
    assert not failures, failures[:5]
    assert len(seen) >= 10 * len(operations)  # the fuzz really reached the server
    assert {200, 400, 404} <= set(seen)
