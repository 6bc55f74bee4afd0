"""Subscriptions over HTTP: a user's standing queries (`POST/GET /subscriptions`, `GET/DELETE /subscriptions/{id}`,
`GET /subscriptions/{id}/deliveries` for a webhook's deliveries and dead letters).

A subscription belongs to the token's subject; another subject's id answers 404, as a missing one does."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from aquila.api.deps import CurrentUser, JsonBody, token_times
from aquila.dissemination import Dissemination

__all__ = ["router", "CONFORMANCE", "dissemination"]

CONFORMANCE: list[str] = []

router = APIRouter()


def dissemination(request: Request) -> Dissemination:
    """The application's dissemination service (made with the app; its dispatcher starts on first use)."""
    service: Dissemination = request.app.state.dissemination
    return service


@router.post("/subscriptions", status_code=201)
async def create_subscription(request: Request, user: CurrentUser, body: JsonBody) -> JSONResponse:
    sub = await run_in_threadpool(dissemination(request).subscribe, user, body, token_times(request))
    return JSONResponse(sub.as_json(), status_code=201)


@router.get("/subscriptions")
async def list_subscriptions(request: Request, user: CurrentUser) -> JSONResponse:
    subs = await run_in_threadpool(dissemination(request).subscriptions_of, user, token_times(request))
    return JSONResponse({"subscriptions": [s.as_json() for s in subs]})


@router.get("/subscriptions/{sid}")
async def get_subscription(sid: str, request: Request, user: CurrentUser) -> JSONResponse:
    sub = await run_in_threadpool(dissemination(request).get, user, sid)
    return JSONResponse(sub.as_json())


@router.delete("/subscriptions/{sid}")
async def delete_subscription(sid: str, request: Request, user: CurrentUser) -> Response:
    await run_in_threadpool(dissemination(request).unsubscribe, user, sid)
    return Response(status_code=204)


@router.get("/subscriptions/{sid}/deliveries")
async def subscription_deliveries(sid: str, request: Request, user: CurrentUser,
                                  state: str | None = Query(None, max_length=20)) -> JSONResponse:
    """A webhook subscription's deliveries: counts per state, and the deliveries (`?state=dead`: dead letters)."""
    return JSONResponse(await run_in_threadpool(dissemination(request).deliveries, user, sid, state))
