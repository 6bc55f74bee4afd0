"""A nation's view of the audit log: accesses to its own objects, as far as the caller is cleared."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from aquila.api.deps import CurrentUser, Lib
from aquila.errors import Forbidden
from aquila.security.policy import Role

__all__ = ["router", "CONFORMANCE"]

CONFORMANCE: list[str] = []

router = APIRouter()


@router.get("/audit")
def audit_list(user: CurrentUser, library: Lib, originator: str | None = None,
               after: int = Query(0, ge=0, le=2**62), limit: int = Query(100, ge=1, le=1000)) -> JSONResponse:
    """Accesses to the caller's nation's objects (providers and admins); the whole log is the operator's (CLI)."""
    wanted = originator if originator is not None else user.nation
    if not (user.has(Role.PROVIDER) or user.has(Role.ADMIN)):
        raise library.deny(user, "read audit", wanted[:40], "needs the provider or admin role", (),
                           Forbidden("reading the audit log needs the provider or admin role"))
    if wanted != user.nation:
        raise library.deny(user, "read audit", wanted[:40], "a nation reads accesses to its own objects only", (),
                           Forbidden(f"a {user.nation} provider may read ?originator={user.nation} only"))
    # only entries about the nation's objects, and of those only what the caller is cleared for
    entries, cursor = library.audit.entries_page(originator=wanted, after=after, limit=limit,
                                                 viewer=(int(user.clearance), user.caveats))
    library.record(user, "read audit", wanted, True, "accesses to the nation's own objects")
    return JSONResponse({"entries": [e.as_dict() for e in entries], "next_after": cursor})
