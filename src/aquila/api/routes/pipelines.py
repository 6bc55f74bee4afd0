"""Analytics pipelines over HTTP: `GET /pipelines/runs?since=` — what ran on which scene, how long each stage
took, what failed and why; each caller sees the runs whose source scene it may read."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from aquila.analytics.pipeline import visible_runs
from aquila.api.deps import CurrentUser, Inst
from aquila.errors import InputError
from aquila.times import parse_instant

__all__ = ["router", "CONFORMANCE"]

CONFORMANCE: list[str] = []

router = APIRouter()


@router.get("/pipelines/runs")
async def list_runs(user: CurrentUser, instance: Inst, since: str | None = Query(None, max_length=64),
                    limit: int = Query(100)) -> JSONResponse:
    if not 1 <= limit <= 1000:
        raise InputError(f"{limit}", field="limit", expected="1 to 1000")
    after = ""
    if since:
        t = parse_instant(since, "since")
        after = t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    runs = await run_in_threadpool(visible_runs, instance, user, after, limit)
    return JSONResponse({"runs": runs, "since": since, "next_since": runs[-1]["updated"] if runs else since})
