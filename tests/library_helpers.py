"""Helpers for the shared-library tests: labelled items, tokens, a client per user."""

from __future__ import annotations

from typing import Any

from aquila.security.labels import Classification
from aquila.security.policy import Role, User


def item(iid: str, coll: str = "sar", *, cls: str = "NU", rel: list[str] | None = None, cav: list[str] | None = None,
         orig: str = "FRA", lon: float = 19.6, lat: float = 57.4, dt: str = "2026-03-19T10:00:00Z",
         **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "stac_version": "1.1.0", "id": iid, "collection": coll,
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"datetime": dt, "sec:classification": cls, "sec:releasable_to": rel or [],
                           "sec:caveats": cav or [], "sec:originator": orig, **props},
            "links": [], "assets": {}}


def collection(cid: str = "sar", *, cls: str = "NU", rel: list[str] | None = None, orig: str = "FRA") -> dict[str, Any]:
    return {"type": "Collection", "stac_version": "1.1.0", "id": cid, "description": f"{cid} products",
            "license": "other", "links": [],
            "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                       "temporal": {"interval": [["2020-01-01T00:00:00Z", None]]}},
            "sec:classification": cls, "sec:releasable_to": rel if rel is not None else ["NATO"],
            "sec:caveats": [], "sec:originator": orig}


def user(nation: str, clearance: str = "NS", caveats: tuple[str, ...] = (), roles: tuple[str, ...] = ()) -> User:
    return User(nation, Classification[clearance], frozenset(caveats), frozenset(Role(r) for r in roles))


def bearer(inst, u: User) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {inst.tokens.issue(u)}"}
