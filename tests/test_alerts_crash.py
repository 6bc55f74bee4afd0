"""Nothing acknowledged is lost when the server is killed: `aquila serve` as a child process, SIGKILLed (no
shutdown code runs) right after a batch of products is acknowledged and before its alerts can all have been
dispatched, started again on the same data. Every acknowledged product the subscriber may read yields exactly
one alert (replayed with `GET /alerts`), none it may not read, and subscriptions survive."""

from __future__ import annotations

import signal
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from aquila.instance import Instance
from conftest import poll_until, serve_child
from library_helpers import collection, item, user

FRA = user("FRA", "CTS", roles=("provider",))
EST = replace(user("EST", "NR"), subject="est-watch")


def _batch(k0: int) -> dict[str, Any]:
    """Twenty products: three in four readable by EST (NR, REL NATO), the rest NS REL FRA only."""
    feats = [item(f"p{k}", rel=["NATO"], cls="NR") if k % 4 else item(f"p{k}", rel=["FRA"], cls="NS")
             for k in range(k0, k0 + 20)]
    return {"type": "FeatureCollection", "features": feats}


def test_a_killed_server_loses_no_acknowledged_alert_and_sends_none_twice(tmp_path: Path) -> None:
    data = tmp_path / "i"
    inst = Instance.open(data)
    inst.library.operator_collection(collection("sar", rel=["NATO"]))
    est = inst.tokens.issue(EST)
    fra = inst.tokens.issue(FRA)
    inst.close()
    proc, port = serve_child(data, "--no-pipelines")
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {est}"}, timeout=30) as c:
            sid = c.post("/subscriptions", json={"collections": ["sar"]}).json()["id"]
        acked: list[str] = []
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {fra}"}, timeout=30) as c:
            for k0 in range(0, 100, 20):
                body = _batch(k0)
                assert c.post("/collections/sar/items", json=body).status_code == 201
                acked += [f["id"] for f in body["features"]]
        proc.send_signal(signal.SIGKILL)  # at once: the dispatcher is still behind the last batches
        proc.wait(30)
        dead = Instance.open(data)  # what the dispatcher had written when it was killed: here, typically, 60 of
        store = dead.dissemination()  # the 75 (the last batch still in the outbox, so the restart must pick it up)
        written = len(store.alerts(EST.subject, 0, "", 1000))
        store.close()
        dead.close()
        assert written <= 75
        proc, _ = serve_child(data, "--no-pipelines", port=port)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {fra}"}, timeout=30) as c:
            for k0 in range(100, 160, 20):
                body = _batch(k0)
                assert c.post("/collections/sar/items", json=body).status_code == 201
                acked += [f["id"] for f in body["features"]]
        readable = {i for i in acked if int(i[1:]) % 4}
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {est}"}, timeout=30) as c:

            def replayed() -> list[dict[str, Any]] | None:
                got = c.get("/alerts", params={"since": "2000-01-01T00:00:00Z", "limit": 1000}).json()["alerts"]
                return got if len(got) >= len(readable) else None

            alerts = poll_until(replayed, 60) or c.get("/alerts", params={"limit": 1000}).json()["alerts"]
            ids = [a["item"]["id"] for a in alerts]
            assert len(ids) == len(set(ids)), "an alert delivered twice"
            assert set(ids) == readable  # every acknowledged readable product, nothing else
            assert {a["subscription_id"] for a in alerts} == {sid}
            assert [x["id"] for x in c.get("/subscriptions").json()["subscriptions"]] == [sid]
    finally:
        proc.terminate()
        proc.wait(30)
