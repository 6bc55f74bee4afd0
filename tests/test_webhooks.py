"""Webhooks against a real receiver that is up, down, slow or answering 500: signed deliveries, retries with backoff,
dead letters, nothing lost across a restart, only to origins the operator allows."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aquila.config import Settings
from conftest import LiveServer
from conftest import poll_until as _wait
from library_helpers import collection, item, user

FRA = user("FRA", "CTS", roles=("provider",))
SECRET = "s3cret-shared-with-the-receiver"


class Receiver:
    """An HTTP receiver on loopback: `mode` is ok, 500 or slow; it records what it is sent."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.got: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.mode == "slow":
                    time.sleep(3)  # the receiver is slow (the sender's timeout is shorter)
                outer.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(500 if outer.mode == "500" else 204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _server(data: Path, allow: str, retry_s: float = 0.1) -> LiveServer:
    return LiveServer(data, Settings(webhook_allow=allow, webhook_retry_s=retry_s, webhook_timeout_s=0.5))


def _subscribe(live: LiveServer, u: Any, url: str) -> str:
    with live.client(u) as c:
        r = c.post("/subscriptions", json={"collections": ["sar"], "channel": "webhook", "url": url,
                                           "secret": SECRET})
        assert r.status_code == 201, r.text
        assert "secret" not in r.json()
        return str(r.json()["id"])


def _deliveries(live: LiveServer, u: Any, sid: str, **params: Any) -> dict[str, Any]:
    with live.client(u) as c:
        r = c.get(f"/subscriptions/{sid}/deliveries", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_signed_delivery_then_retries_and_a_dead_letter(tmp_path: Path) -> None:
    rx = Receiver()
    live = _server(tmp_path / "i", rx.url)
    live.instance.library.operator_collection(collection("sar", rel=["NATO"]))
    est = replace(user("EST", "NR"), subject="est-tak")
    sid = _subscribe(live, est, rx.url)
    live.instance.library.publish(FRA, "sar", [item("a", "sar", rel=["NATO"])])
    assert _wait(lambda: rx.got)
    headers, body = rx.got[0]
    want = "sha256=" + hmac.new(SECRET.encode(), headers["x-aquila-timestamp"].encode() + b"." + body,
                                hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-aquila-signature"], want)
    doc = json.loads(body)
    assert doc["item"]["id"] == "a" and doc["subscription_id"] == sid and headers["x-aquila-delivery"] == doc["id"]
    assert _wait(lambda: _deliveries(live, est, sid)["counts"] == {"done": 1})
    # the receiver fails: 5 attempts with backoff, then a dead letter the subscriber can read
    rx.mode = "500"
    live.instance.library.publish(FRA, "sar", [item("b", "sar", rel=["NATO"])])
    assert _wait(lambda: _deliveries(live, est, sid)["counts"].get("dead") == 1)
    dead = _deliveries(live, est, sid, state="dead")["deliveries"]
    assert [(d["item"], d["attempts"], d["error"]) for d in dead] == [("sar/b", 5, "HTTP 500")]
    tries = [h["x-aquila-delivery"] for h, _ in rx.got[1:]]
    assert len(tries) == 5 and len(set(tries)) == 1  # the same delivery id every time: receivers dedupe by it
    live.stop()
    rx.close()


def test_a_receiver_down_or_slow_loses_nothing_across_a_restart(tmp_path: Path) -> None:
    rx = Receiver()
    url = rx.url
    rx.close()  # down: connections are refused
    live = _server(tmp_path / "i", url, retry_s=2.0)  # 2, 4, 8 ... s: still pending after the restart
    live.instance.library.operator_collection(collection("sar", rel=["NATO"]))
    deu = replace(user("DEU", "NS"), subject="deu-c2")
    sid = _subscribe(live, deu, url)
    live.instance.library.publish(FRA, "sar", [item("x", "sar", rel=["NATO"])])
    assert _wait(lambda: any(d["attempts"] >= 1 for d in _deliveries(live, deu, sid)["deliveries"]))
    live.stop()  # the server stops with the delivery pending
    live.instance.close()
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    rx3 = _receiver_on(port)  # the receiver is back, on the same port
    store = live.instance.dissemination()
    (pending,) = store.due_deliveries(1e12)
    store.record_attempt(pending[0], "pending", pending[5], 0.0, "due now")  # (not to wait out the backoff)
    store.close()
    again = _server(tmp_path / "i", url)
    with again.client(deu) as c:
        c.get("/alerts")  # the dispatcher and sender start with the first request
    assert _wait(lambda: [json.loads(b)["item"]["id"] for _, b in rx3.got] == ["x"])
    assert _deliveries(again, deu, sid)["counts"] == {"done": 1}
    again.stop()
    rx3.close()


def test_a_slow_receiver_times_out_and_gets_the_same_delivery_again(tmp_path: Path) -> None:
    rx = Receiver()
    rx.mode = "slow"  # answers after 3 s; the sender waits 0.5 s
    live = _server(tmp_path / "i", rx.url)
    live.instance.library.operator_collection(collection("sar", rel=["NATO"]))
    deu = replace(user("DEU", "NS"), subject="deu-slow")
    sid = _subscribe(live, deu, rx.url)
    live.instance.library.publish(FRA, "sar", [item("z", "sar", rel=["NATO"])])
    assert _wait(lambda: any("Timeout" in (d["error"] or "") for d in _deliveries(live, deu, sid)["deliveries"]))
    rx.mode = "ok"
    assert _wait(lambda: _deliveries(live, deu, sid)["counts"] == {"done": 1})
    ids = {h["x-aquila-delivery"] for h, _ in rx.got}
    assert len(ids) == 1  # the slow one and the retry carry the same id: the receiver can drop the repeat
    live.stop()
    rx.close()


def _receiver_on(port: int) -> Receiver:
    rx = Receiver.__new__(Receiver)
    rx.mode, rx.got = "ok", []
    outer = rx

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            outer.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    rx.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    rx.url = f"http://127.0.0.1:{port}/hook"
    threading.Thread(target=rx.server.serve_forever, daemon=True).start()
    return rx


def test_webhooks_only_to_allowed_origins_and_withheld_when_rights_go(tmp_path: Path) -> None:
    rx = Receiver()
    live = _server(tmp_path / "i", rx.url)
    live.instance.library.operator_collection(collection("sar", rel=["NATO"]))
    est = replace(user("EST", "NR"), subject="est-2")
    with live.client(est) as c:
        for url in ("http://127.0.0.1:6379/", "http://169.254.169.254/latest/meta-data", "https://evil.example/x",
                    rx.url.replace("127.0.0.1", "localhost")):
            r = c.post("/subscriptions", json={"collections": ["sar"], "channel": "webhook", "url": url,
                                               "secret": SECRET})
            assert r.status_code == 400 and "AQUILA_WEBHOOK_ALLOW" in r.text, (url, r.text)
        r = c.post("/subscriptions", json={"collections": ["sar"], "channel": "webhook", "url": rx.url,
                                           "secret": "short"})
        assert r.status_code == 400 and "secret" in r.text
    sid = _subscribe(live, est, rx.url)
    live.instance.tokens.revocations.revoke_subject("est-2")  # the subscriber loses its rights
    live.instance.library.publish(FRA, "sar", [item("y", "sar", rel=["NATO"])])
    events = live.instance.events()
    last = events.since(0, 100_000)[-1].seq
    assert _wait(lambda: events.consumer("alerts").cursor >= last)
    events.close()
    assert rx.got == []
    store = live.instance.dissemination()
    assert store.delivery_counts(sid) == {}  # revoked: no alert, so nothing to deliver
    store.close()
    live.stop()
    rx.close()


def test_no_webhooks_without_an_operator_allowlist(live: LiveServer) -> None:
    with live.client(user("DEU", "NS")) as c:
        r = c.post("/subscriptions", json={"collections": ["sar"], "channel": "webhook",
                                           "url": "https://tak.example.org/hook", "secret": SECRET})
    assert r.status_code == 400 and "allows no webhook receivers" in r.text
