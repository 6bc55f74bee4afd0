"""Alerts over a WebSocket: `/alerts/ws`, the same deliveries as `GET /alerts/stream` for clients that
prefer one (browsers cannot send an `Authorization` header on either, so the token comes as the first
message rather than in the URL, where logs would keep it).

    → {"token": "<bearer token>", "after": <seq>?}          (or an Authorization header on the upgrade)
    ← {"event": "alert", "id": <seq>, "data": {"id", "subscription_id", "item", "published"}}
    ← {"event": "ping"} every 15 s;  {"event": "end", "reason": "..."} then close 4401 on revocation/expiry

A missing, bad or late (10 s) token closes with 4401 and is audited as an anonymous denial; a malformed
first message with 4400. `after` resumes after the last alert received, as `Last-Event-ID` does.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from aquila.api.deps import verify_bearer
from aquila.api.routes.alerts import begin, deliveries
from aquila.errors import AuthenticationError, InputError
from aquila.safejson import loads

__all__ = ["router", "CONFORMANCE", "SIGN_IN_S"]

CONFORMANCE: list[str] = []

router = APIRouter()

SIGN_IN_S = 10.0  # how long an unauthenticated socket may stay open
_AUTH_CLOSE, _BAD_CLOSE = 4401, 4400


async def _sign_in(ws: WebSocket) -> tuple[str, int]:
    """(token, after) from the upgrade's Authorization header, else from the first message."""
    scheme, _, token = ws.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        after = ws.query_params.get("after")
        return token.strip(), int(after) if after is not None and after.isdecimal() and len(after) < 18 else -1
    text = await asyncio.wait_for(ws.receive_text(), timeout=SIGN_IN_S)
    if len(text) > 16_384:
        raise InputError("first message over 16 KiB", field="token", expected='{"token": "..."}')
    msg = loads(text.encode())
    if not isinstance(msg, dict) or not isinstance(msg.get("token"), str):
        raise InputError("no token", field="token", expected='{"token": "<bearer token>", "after": <seq>?}')
    after = msg.get("after", -1)
    if isinstance(after, bool) or not isinstance(after, int) or not -1 <= after <= 10**17:
        raise InputError(f"{str(after)[:40]!r}", field="after", expected="the id of the last alert received")
    return msg["token"].strip(), after


@router.websocket("/alerts/ws")
async def alerts_ws(ws: WebSocket) -> None:
    instance = ws.app.state.instance
    await ws.accept()
    try:
        token, after = await _sign_in(ws)
    except TimeoutError:
        token, after = "", -1  # refused and audited below, as a missing token
    except InputError as exc:
        await ws.close(_BAD_CLOSE, str(exc)[:120])
        return
    except WebSocketDisconnect:
        return
    try:
        user = await run_in_threadpool(verify_bearer, instance, token, "WS /alerts/ws")
    except AuthenticationError as exc:
        await ws.close(_AUTH_CLOSE, str(exc)[:120])
        return
    start = await begin(ws, user, token, after)
    gone = asyncio.Event()

    async def watch() -> None:  # a client only talks to sign in: anything after is read to notice it leave
        try:
            while True:
                await ws.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            gone.set()

    watcher = asyncio.create_task(watch())

    async def disconnected() -> bool:
        return gone.is_set()

    try:
        async for kind, seq, data in deliveries(ws, user, token, start, disconnected):
            if kind == "alert":
                msg: dict[str, Any] = {"event": "alert", "id": seq, "data": data}
            elif kind == "ping":
                msg = {"event": "ping"}
            else:
                await ws.send_text(json.dumps({"event": "end", "reason": data}))
                await ws.close(_AUTH_CLOSE, str(data))
                return
            await ws.send_text(json.dumps(msg))
    except (WebSocketDisconnect, RuntimeError):
        return  # the client left mid-send
    finally:
        watcher.cancel()

