"""The collection outlook over HTTP: `GET /outlook` — the instance's areas of interest, the pooled
constellation's imaging opportunities over them in the next hours (each with the ground its satellite can
image during the window) and the revisit heat map inside them (`aquila.orbits.outlook`). The same for every
user with a valid token (satellites and orbits carry no label), but for labelled areas, which only users the
label releases to see; computed in the background, refreshed hourly.
Each read is audited like any other (who looked at the collection outlook, and when), and so is each
labelled area left out of it (which one, and why)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from aquila.api.deps import CurrentUser
from aquila.errors import Busy

__all__ = ["router", "CONFORMANCE"]

CONFORMANCE: list[str] = []

router = APIRouter()


@router.get("/outlook")
async def outlook(request: Request, user: CurrentUser) -> JSONResponse:
    value = await run_in_threadpool(request.app.state.outlook.get, 30.0)
    library = request.app.state.instance.library
    if value is None:
        await run_in_threadpool(library.record, user, "read outlook", "outlook", False, "still being computed")
        raise Busy("the outlook is still being computed (it takes seconds after the server starts)")
    doc, withheld = value.for_user(user)
    for area, (why, label) in withheld.items():  # each area left out is a decision too, scoped by its label
        await run_in_threadpool(library.record, user, "read outlook area", f"outlook/{area}", False, why, [label])
    n_aois = len(doc["aois"].get("features", [])) if isinstance(doc["aois"], dict) else 0
    n_opps = len(doc["opportunities"].get("features", [])) if isinstance(doc["opportunities"], dict) else 0
    await run_in_threadpool(library.record, user, "read outlook", "outlook", True,
                            f"{n_opps} opportunities over {n_aois} areas")
    return JSONResponse(doc)
