"""Alerts over the WebSocket channel (`/alerts/ws`), with a real client (`websockets`) against a real server:
the same deliveries as the SSE stream (only what the labels release), `after` resumes, the links are http(s),
and a missing, bad or revoked token closes the socket with 4401 and is audited; a malformed sign-in with 4400."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from conftest import LiveServer
from library_helpers import collection, item, user

FRA = user("FRA", "CTS", roles=("provider",))
EST = replace(user("EST", "NR"), subject="est-ws")


def _ws(live: LiveServer) -> str:
    return live.url.replace("http://", "ws://") + "/alerts/ws"


@contextmanager
def _subscriber_socket(live: LiveServer) -> Iterator[Any]:
    """EST subscribed to a NATO-releasable collection `sar`, signed in on a fresh socket."""
    live.instance.library.operator_collection(collection("sar", rel=["NATO"]))
    with live.client(EST) as c:
        assert c.post("/subscriptions", json={"collections": ["sar"]}).status_code == 201
    with connect(_ws(live)) as sock:
        sock.send(json.dumps({"token": live.token(EST)}))
        yield sock


def _next_alert(sock: Any) -> dict[str, Any]:
    while True:
        msg = json.loads(sock.recv(timeout=30))
        if msg["event"] == "alert":
            return msg
        assert msg["event"] == "ping", msg


def test_alerts_arrive_over_a_websocket_and_resume_after(live: LiveServer) -> None:
    with _subscriber_socket(live) as sock:
        live.instance.library.publish(FRA, "sar", [item("secret", "sar", cls="NS", rel=["NATO"])])  # not for EST
        live.instance.library.publish(FRA, "sar", [item("a1", "sar", rel=["NATO"])])
        first = _next_alert(sock)
        assert first["data"]["item"]["id"] == "a1"  # the NS item came first and was not sent
        assert first["data"]["item"]["links"][0]["href"].startswith("http://")
        live.instance.library.publish(FRA, "sar", [item("a2", "sar", rel=["NATO"])])
        assert _next_alert(sock)["data"]["item"]["id"] == "a2"
    # a new socket with `after` = the first alert's id gets the second again (the header form, too)
    with connect(_ws(live) + f"?after={first['id']}",
                 additional_headers={"Authorization": f"Bearer {live.token(EST)}"}) as sock:
        assert _next_alert(sock)["data"]["item"]["id"] == "a2"


@pytest.mark.parametrize("first", [json.dumps({"token": "forged.token.here"}), json.dumps({"token": ""})])
def test_a_bad_token_closes_with_4401_and_is_audited(live: LiveServer, first: str) -> None:
    before = live.instance.audit.verify().entries
    with connect(_ws(live)) as sock:
        sock.send(first)
        with pytest.raises(ConnectionClosed) as info:
            sock.recv(timeout=30)
    assert info.value.rcvd is not None and info.value.rcvd.code == 4401
    assert live.instance.audit.verify().entries == before + 1


@pytest.mark.parametrize("first", ["not json", json.dumps(["token"]), json.dumps({"token": 5}),
                                   json.dumps({"token": "x", "after": True}), "x" * 20_000,
                                   json.dumps({"token": "x", "after": 1e309})])
def test_a_malformed_sign_in_closes_with_4400(live: LiveServer, first: str) -> None:
    with connect(_ws(live), max_size=2**20) as sock:
        sock.send(first)
        with pytest.raises(ConnectionClosed) as info:
            sock.recv(timeout=30)
    assert info.value.rcvd is not None and info.value.rcvd.code == 4400


def test_a_revoked_token_ends_the_socket(live: LiveServer) -> None:
    with _subscriber_socket(live) as sock:
        live.instance.library.publish(FRA, "sar", [item("before", "sar", rel=["NATO"])])
        assert _next_alert(sock)["data"]["item"]["id"] == "before"  # signed in and delivering
        live.instance.tokens.revocations.revoke_subject("est-ws")
        live.instance.library.publish(FRA, "sar", [item("after", "sar", rel=["NATO"])])
        ended = None
        with pytest.raises(ConnectionClosed) as closed:
            while True:  # at most a heartbeat (15 s) until the token is checked again
                msg = json.loads(sock.recv(timeout=30))
                assert msg["event"] != "alert", msg
                ended = msg if msg["event"] == "end" else ended
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        assert ended is not None and "revoked" in ended["reason"]
