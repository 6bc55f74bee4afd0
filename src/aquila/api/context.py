"""What every route needs: the instance, the caller, the body, links, the audit record and the error table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from aquila.catalog.backends.sqlite import AuditBatch, AuditLog, CatalogStore
from aquila.catalog.objects import LocalObjectStore
from aquila.errors import AuthenticationError, NotFound, PayloadTooLarge
from aquila.safejson import loads
from aquila.security.audit import Scope
from aquila.security.labels import Label
from aquila.security.policy import User
from aquila.security.tokens import OidcIssuer, TokenIssuer

__all__ = ["Instance", "Api", "as_own", "GEOJSON", "error_response"]

GEOJSON = "application/geo+json"


def error_response(status: int, code: str, description: str, field: str | None = None, expected: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    # error texts quote user input: make sure they can always be sent (lone surrogates escaped)
    description = description.encode("utf-8", "backslashreplace").decode("utf-8")
    body: dict[str, Any] = {"code": code, "description": description}
    if field:
        body["field"] = field
    if expected:
        body["expected"] = expected
    return JSONResponse(body, status_code=status, headers=headers)


@dataclass
class Instance:
    """Everything one running catalog needs, opened from its data directory."""

    data_dir: Path
    store: CatalogStore
    audit: AuditLog
    tokens: TokenIssuer
    objects: LocalObjectStore
    max_body_bytes: int = 5 * 1024 * 1024
    max_asset_bytes: int = 1024 * 1024 * 1024

    @classmethod
    def open(cls, data_dir: str | Path, max_body_bytes: int = 5 * 1024 * 1024,
             max_asset_bytes: int = 1024 * 1024 * 1024, oidc: OidcIssuer | None = None,
             query_budget_s: float = 10.0) -> Instance:
        d = Path(data_dir)
        d.mkdir(parents=True, exist_ok=True)
        # The audit log lives in the catalog's database file so that a write and its audit entries
        # commit in one transaction.
        inst = cls(d, CatalogStore(d / "catalog.db", query_budget_s), AuditLog(d / "catalog.db"),
                   TokenIssuer(d, oidc=oidc), LocalObjectStore(d / "assets"), max_body_bytes, max_asset_bytes)
        inst.store.collect(inst.objects.delete)  # bytes left by a crash between a delete and its collection
        return inst

    def close(self) -> None:
        self.store.close()
        self.audit.close()


def as_own(label: Label, nation: str) -> Label:
    """`label` attributed to `nation`: a refused write is the writer's nation's business, not the one it named."""
    return Label(label.classification, nation, frozenset(), label.caveats)


class Api:
    """Per-application helpers shared by the route modules."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.store = instance.store
        self.audit = instance.audit

    # --- identity ------------------------------------------------------------------------------
    def user(self, request: Request) -> User:
        """The verified caller; every failure is a 401, audited as an anonymous denial."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        reason = "no bearer token"
        if scheme.lower() == "bearer" and token.strip():
            try:
                return self.instance.tokens.verify(token.strip())
            except AuthenticationError as exc:
                reason = str(exc)
        self.audit.append(subject="anonymous", nation="", action=f"{request.method} {request.url.path}"[:300], obj="",
                          allowed=False, reason=reason)
        raise AuthenticationError("missing bearer token" if reason == "no bearer token" else reason)

    # --- body ----------------------------------------------------------------------------------
    async def json_body(self, request: Request) -> Any:
        """The request's JSON, read while it streams (stops at the limit), parsed strictly off the event loop."""
        limit = self.instance.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"body over {limit} bytes", field="body",
                                      expected=f"at most {limit} bytes (AQUILA_MAX_BODY_BYTES)")
            chunks.append(chunk)
        return await run_in_threadpool(loads, b"".join(chunks))

    async def caller_and_body(self, request: Request) -> tuple[User, Any]:
        """For async routes: the verified caller and the JSON body, the blocking parts in the thread pool.

        Nothing that blocks (token check, audit fsync, parsing, SQL) may run on the event loop: a
        slow request would stall every other one.
        """
        user = await run_in_threadpool(self.user, request)
        return user, await self.json_body(request)

    # --- audit ---------------------------------------------------------------------------------
    @staticmethod
    def decision(user: User, action: str, obj: str, allowed: bool, reason: str,
                 labels: Iterable[Label | Scope] = ()) -> dict[str, Any]:
        """An audit entry; `labels` are those of the objects it concerns (their nations' cleared viewers see it)."""
        return dict(subject=user.subject, nation=user.nation, action=action, obj=obj[:2000], allowed=allowed,
                    reason=reason, labels=list(labels))

    def record(self, user: User, action: str, obj: str, allowed: bool, reason: str,
               labels: Iterable[Label | Scope] = ()) -> None:
        self.audit.append_many([self.decision(user, action, obj, allowed, reason, labels)])

    def batch(self, decisions: Sequence[dict[str, Any]]) -> AuditBatch:
        return self.audit.batch(decisions)

    def deny(self, user: User, action: str, obj: str, reason: str, labels: Iterable[Label | Scope] = (),
             exc: Exception | None = None) -> Exception:
        """Audit a denial and return the exception to raise (NotFound unless given)."""
        self.record(user, action, obj, False, reason, labels)
        return exc if exc is not None else NotFound(obj)

    # --- links ---------------------------------------------------------------------------------
    @staticmethod
    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def item_links(self, request: Request, item: dict[str, Any]) -> dict[str, Any]:
        b = self.base(request)
        c = item.get("collection")
        item = dict(item)
        own = [lk for lk in item.get("links", []) if isinstance(lk, dict) and
               lk.get("rel") not in ("self", "parent", "collection", "root")]
        assets = {}
        for k, a in (item.get("assets") or {}).items():
            if isinstance(a, dict) and str(a.get("href", "")).startswith("/collections/"):
                a = dict(a, href=b + a["href"])
            assets[k] = a
        item["assets"] = assets
        item["links"] = own + [
            {"rel": "self", "type": GEOJSON, "href": f"{b}/collections/{c}/items/{item['id']}"},
            {"rel": "parent", "type": "application/json", "href": f"{b}/collections/{c}"},
            {"rel": "collection", "type": "application/json", "href": f"{b}/collections/{c}"},
            {"rel": "root", "type": "application/json", "href": f"{b}/"},
        ]
        return item

    def collection_links(self, request: Request, coll: dict[str, Any]) -> dict[str, Any]:
        b = self.base(request)
        coll = dict(coll)
        cid = coll["id"]
        queryables = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
        own = [lk for lk in coll.get("links", []) if isinstance(lk, dict) and
               lk.get("rel") not in ("self", "parent", "root", "items", queryables)]
        coll["links"] = own + [
            {"rel": "self", "type": "application/json", "href": f"{b}/collections/{cid}"},
            {"rel": "parent", "type": "application/json", "href": f"{b}/"},
            {"rel": "root", "type": "application/json", "href": f"{b}/"},
            {"rel": "items", "type": GEOJSON, "href": f"{b}/collections/{cid}/items"},
            {"rel": queryables, "type": "application/schema+json", "href": f"{b}/collections/{cid}/queryables"},
        ]
        return coll
