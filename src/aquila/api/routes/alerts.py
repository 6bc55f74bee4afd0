"""Alerts over HTTP: `GET /alerts?since=` replays what the token's subject was delivered, `GET /alerts/stream`
pushes them as Server-Sent Events (one `alert` event per delivery; `Last-Event-ID` resumes after a reconnect).

What is sent is the item as the connected token may read it at sending time; a stream ends when its token
is revoked or expires (the client reconnects with a new one and loses nothing)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from aquila.api.deps import CurrentUser, token_times
from aquila.api.links import Links
from aquila.api.routes.subscriptions import dissemination
from aquila.errors import AuthenticationError, InputError
from aquila.security.policy import User
from aquila.times import parse_instant

__all__ = ["router", "CONFORMANCE", "begin", "deliveries", "HEARTBEAT_S"]

CONFORMANCE: list[str] = []

router = APIRouter()

HEARTBEAT_S = 15.0


def _after(since: str | None) -> str:
    return parse_instant(since, "since").strftime("%Y-%m-%dT%H:%M:%S.%fZ") if since else ""


def _limit(limit: int) -> int:
    if not 1 <= limit <= 1000:
        raise InputError(f"{limit}", field="limit", expected="1 to 1000")
    return limit


def _render(links: Links, a: dict[str, Any]) -> dict[str, Any]:
    return {"id": a["id"], "subscription_id": a["subscription_id"], "item": links.item(a["item"]),
            "published": a["published"]}


@router.get("/alerts")
async def list_alerts(request: Request, user: CurrentUser, since: str | None = Query(None, max_length=64),
                      limit: int = Query(100)) -> JSONResponse:
    after = _after(since)
    alerts = await run_in_threadpool(dissemination(request).alerts, user, 0, after, _limit(limit),
                                     token_times(request))
    links = Links(request)
    return JSONResponse({"alerts": [_render(links, a) for a in alerts],
                         "next_since": alerts[-1]["published"] if alerts else since})


def _last_event_id(request: Request, after: int | None) -> int:
    raw = request.headers.get("last-event-id")
    if after is not None:
        return after
    if raw is None or raw == "":
        return -1  # a new stream: from now on
    if re.fullmatch(r"[0-9]{1,18}", raw) is None:  # (str.isdigit takes superscripts int() refuses)
        raise InputError(f"{raw[:40]!r}", field="Last-Event-ID", expected="the id of the last event received")
    return int(raw)


async def begin(request: Any, user: User, token: str, start: int) -> int:
    """Where a new feed starts (`start`, or -1: after the newest delivered so far), with the connection audited,
    the subscriber's rights recorded and the dispatcher running — before any answer is sent, so that a failure
    here is an error response, not a broken stream."""
    service = dissemination(request)
    if start < 0:
        start = await run_in_threadpool(service.store.newest_alert, user.subject)
    await run_in_threadpool(service.alerts, user, start, "", 1, service.instance.tokens.times(token))
    return start


async def deliveries(request: Any, user: User, token: str, start: int,
                     disconnected: Callable[[], Awaitable[bool]]) -> AsyncIterator[tuple[str, int, Any]]:
    """The alerts of `user` after `start` (from `begin`) as they are delivered: ("alert", seq, rendered alert),
    ("ping", 0, None) every HEARTBEAT_S, and a last ("end", 0, reason) when the token is revoked or expires. One
    loop for both channels (SSE, WebSocket); `request` is the HTTP request or WebSocket it serves."""
    service = dissemination(request)
    instance = service.instance
    links = Links(request)
    checked_at, checked_user = time.monotonic(), user

    async def still_valid() -> User | None:
        """The connected token's user, verified again at most once a second (revocation, expiry)."""
        nonlocal checked_at, checked_user
        if time.monotonic() - checked_at < 1.0:
            return checked_user
        try:
            checked_user = await run_in_threadpool(instance.tokens.verify, token)
        except AuthenticationError:
            return None
        checked_at = time.monotonic()
        return checked_user

    client = service.hub.connect(user.subject)
    cursor = start
    last_beat = time.monotonic()
    try:
        while True:
            now_user = await still_valid()
            if now_user is None:
                yield "end", 0, "token revoked or expired"
                return
            batch = await run_in_threadpool(service.pending, now_user, cursor, 100)
            for a in batch:
                yield "alert", a["seq"], _render(links, a)
            if batch:
                cursor = batch[-1]["seq"]
                if len(batch) == 100:
                    continue
            try:
                await asyncio.wait_for(client[1].get(), timeout=HEARTBEAT_S)
                while not client[1].empty():
                    client[1].get_nowait()
            except TimeoutError:
                pass
            if await disconnected():
                return
            if time.monotonic() - last_beat >= HEARTBEAT_S:
                last_beat = time.monotonic()
                yield "ping", 0, None
    finally:
        service.hub.disconnect(user.subject, client)


@router.get("/alerts/stream")
async def stream_alerts(request: Request, user: CurrentUser, after: int | None = Query(None, ge=0, le=10**17)
                        ) -> StreamingResponse:
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    start = await begin(request, user, token, _last_event_id(request, after))
    feed = deliveries(request, user, token, start, request.is_disconnected)

    async def events() -> AsyncIterator[bytes]:
        yield b": connected\n\n"
        async for kind, seq, data in feed:
            if kind == "alert":
                yield f"event: alert\nid: {seq}\ndata: {json.dumps(data)}\n\n".encode()
            elif kind == "ping":
                yield b": ping\n\n"
            else:
                yield f"event: end\ndata: {json.dumps({'reason': data})}\n\n".encode()

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
