"""One JSON error shape, answered from the one exception table (`aquila.errors.STATUS`).

    {"code": "NotFound", "description": "...", "field": "...", "expected": "..."}

Project errors map by the table; a backend's transient errors (a locked database) map through the
backend; request validation and routing errors get the same shape. Anything else is a bug: 500.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from aquila.errors import AquilaError, AuthenticationError, InputError, NotFound, status_of
from aquila.instance import Instance

__all__ = ["error_response", "install_error_handlers"]


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


def answer(exc: AquilaError) -> JSONResponse:
    """The response for a project error, from the table."""
    found = status_of(exc)
    if found is None:
        raise exc  # not user input: a bug, answered 500 by the server
    status, code = found
    if isinstance(exc, NotFound):  # the same body for missing and unreleasable: no id echoed
        return error_response(404, code, "no such resource")
    if isinstance(exc, AuthenticationError):
        return error_response(401, code, str(exc), "Authorization", "Authorization: Bearer <token from aquila token>",
                              headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, InputError):  # 413: close, the server stops reading the rest of an endless body
        return error_response(status, code, str(exc), exc.field, exc.expected,
                              headers={"Connection": "close"} if status == 413 else None)
    if status in (429, 503):
        return error_response(status, code, str(exc), headers={"Retry-After": "1"})
    return error_response(status, code, str(exc))


def install_error_handlers(app: FastAPI, instance: Instance) -> None:
    """Every error a request can cause answered in the one shape."""

    async def project_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AquilaError)
        return answer(exc)

    async def transient(request: Request, exc: Exception) -> JSONResponse:
        mapped = instance.store.transient_error(exc)  # load, not input (a locked database): ask to come back
        if mapped is None:
            raise exc
        return answer(mapped)

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        loc = ".".join(str(x) for x in first.get("loc", []) if x not in ("body", "query", "path"))
        return error_response(400, "BadRequest", str(first.get("msg", "invalid request"))[:300], loc or None, None)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(exc.status_code, "NotFound" if exc.status_code == 404 else "HTTPError", str(exc.detail))

    app.add_exception_handler(AquilaError, project_error)
    for kind in instance.store.transient_types:
        app.add_exception_handler(kind, transient)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
