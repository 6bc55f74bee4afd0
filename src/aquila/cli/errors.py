"""The CLI's one error handler: an explained error is one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from aquila.errors import AquilaError, exit_code

__all__ = ["handle_errors", "fail"]

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> None:
    click.echo(f"aquila: error: {message}", err=True)
    sys.exit(code)


def handle_errors(fn: F) -> F:
    """Turn Aquila's errors (and unreadable files) into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AquilaError as exc:
            fail(str(exc), exit_code(exc))
        except OSError as exc:
            fail(f"{getattr(exc, 'filename', '') or ''}: {exc.strerror or exc}")
        except Exception as exc:  # a backend's load error (a database locked by writers) is not a bug
            from aquila.instance import Instance

            mapped = Instance.transient_error(exc)
            if mapped is None:
                raise
            fail(str(mapped), exit_code(mapped))

    return wrapper  # type: ignore[return-value]
