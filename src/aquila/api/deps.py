"""What routes depend on, as FastAPI dependencies: the instance, its library, settings, the caller, the body.

Blocking work never runs on the event loop: the caller is a sync dependency (thread pool: token
check, revocation lookup, the audit entry of a refusal), and the body is read as it streams (stops
at the limit) and parsed in the thread pool.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from aquila.catalog.library import Library
from aquila.config import Settings
from aquila.errors import AuthenticationError, PayloadTooLarge
from aquila.instance import Instance
from aquila.safejson import loads
from aquila.security.policy import User

__all__ = ["get_instance", "get_library", "get_settings", "current_user", "verify_bearer", "json_body",
           "CurrentUser", "JsonBody", "Lib", "Inst", "AppSettings", "token_times"]


def _instance(request: Request) -> Instance:
    instance: Instance = request.app.state.instance
    return instance


async def get_instance(request: Request) -> Instance:
    """The application's instance (async: no work, so no thread-pool hop)."""
    return _instance(request)


async def get_settings(request: Request) -> Settings:
    """The settings the application was created with (environment `AQUILA_*` by default)."""
    settings: Settings = request.app.state.settings
    return settings


async def get_library(request: Request) -> Library:
    """The instance's library service (async: no work, so no thread-pool hop)."""
    return _instance(request).library


def verify_bearer(instance: Instance, token: str, action: str) -> User:
    """The user a bearer token stands for; a failure is audited as an anonymous denial of `action`, then raised."""
    reason = "no bearer token"
    if token:
        try:
            return instance.tokens.verify(token)
        except AuthenticationError as exc:
            reason = str(exc)
    instance.audit.append(subject="anonymous", nation="", action=action[:300], obj="", allowed=False, reason=reason)
    raise AuthenticationError("missing bearer token" if reason == "no bearer token" else reason)


def current_user(request: Request) -> User:
    """The verified caller; every failure is a 401, audited as an anonymous denial."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return verify_bearer(_instance(request), token.strip() if scheme.lower() == "bearer" else "",
                         f"{request.method} {request.url.path}")


async def json_body(request: Request) -> Any:
    """The request's JSON, read while it streams (stops at the limit), parsed strictly off the event loop."""
    limit = _instance(request).max_body_bytes
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body over {limit} bytes", field="body",
                                  expected=f"at most {limit} bytes (AQUILA_MAX_BODY_BYTES)")
        chunks.append(chunk)
    return await run_in_threadpool(loads, b"".join(chunks))


CurrentUser = Annotated[User, Depends(current_user)]
JsonBody = Annotated[Any, Depends(json_body)]
Lib = Annotated[Library, Depends(get_library)]
Inst = Annotated[Instance, Depends(get_instance)]
AppSettings = Annotated[Settings, Depends(get_settings)]


def token_times(request: Request) -> tuple[float, float, str]:
    """(iat, exp, jti) of the request's bearer token (after `current_user` verified it)."""
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    return _instance(request).tokens.times(token)
