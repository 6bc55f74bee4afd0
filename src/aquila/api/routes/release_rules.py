"""Release rules over HTTP: a provider nation's standing tear-line decisions for derived products.

`/release-rules` always means the caller's own nation's rules: providers write them, providers and
admins read them; another nation's rules are never reachable, so ids reveal nothing.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from aquila.api.deps import CurrentUser, JsonBody, Lib

__all__ = ["router", "CONFORMANCE"]

CONFORMANCE: list[str] = []

router = APIRouter()


@router.get("/release-rules")
def list_rules(user: CurrentUser, library: Lib) -> JSONResponse:
    return JSONResponse({"nation": user.nation, "rules": [r.as_json() for r in library.release_rules_of(user)]})


@router.post("/release-rules", status_code=201)
def create_rule(user: CurrentUser, body: JsonBody, library: Lib) -> JSONResponse:
    rule, _ = library.write_release_rule(user, body)
    return JSONResponse(rule.as_json(), status_code=201)


@router.get("/release-rules/{rule_id}")
def get_rule(rule_id: str, user: CurrentUser, library: Lib) -> JSONResponse:
    return JSONResponse(library.get_release_rule(user, rule_id).as_json())


@router.put("/release-rules/{rule_id}")
def put_rule(rule_id: str, user: CurrentUser, body: JsonBody, library: Lib) -> JSONResponse:
    rule, new = library.write_release_rule(user, body, rule_id)
    return JSONResponse(rule.as_json(), status_code=201 if new else 200)


@router.delete("/release-rules/{rule_id}")
def delete_rule(rule_id: str, user: CurrentUser, library: Lib) -> Response:
    library.delete_release_rule(user, rule_id)
    return Response(status_code=204)
