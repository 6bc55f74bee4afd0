"""Strict JSON for untrusted input: bounded depth, finite numbers, keys without control characters.

Python's `json` accepts `NaN`, `Infinity` and `1e999` (which becomes inf), integers of any size,
and nesting until the interpreter's recursion limit. Any of these reaching storage or SQL either
poisons later reads or answers 500. `loads` refuses them all with an `InputError` that names the
field, and checks the nesting depth *before* parsing so that no input can exhaust a stack.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

from aquila.errors import InputError

__all__ = ["MAX_DEPTH", "MAX_INT", "loads", "nesting_depth", "check_tree", "has_control"]

MAX_DEPTH = 32
"""Deepest nesting of arrays and objects accepted (a STAC item needs 7; CQL2 JSON rarely 20)."""
MAX_INT = 2**53
"""Largest integer magnitude accepted: exact in every JSON implementation and in SQLite."""

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def has_control(text: str) -> bool:
    """True when `text` holds a control character (NUL, newline, escape, ...)."""
    return _CONTROL.search(text) is not None


def nesting_depth(raw: bytes) -> int:
    """Deepest bracket nesting of a JSON text, counted outside strings, without parsing it."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    b = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((b == ord("[")) | (b == ord("{")), 1, -1).astype(np.int32)
    return int(np.cumsum(steps).max())


def _bad_number(text: str) -> Any:
    raise InputError(f"{text} is not a finite number", field="body", expected="finite JSON numbers only")


def _float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        _bad_number(text)
    return v


def _int(text: str) -> int:
    if len(text) > 17:
        _bad_number(text)
    v = int(text)
    if abs(v) > MAX_INT:
        raise InputError(f"{text} is too large", field="body", expected=f"integers within +-2^53 ({MAX_INT})")
    return v


def check_tree(value: Any, field: str = "body", max_depth: int = MAX_DEPTH) -> None:
    """Walk an already-parsed value (iteratively): depth, finite numbers, keys without control characters."""
    stack: list[tuple[Any, int, str]] = [(value, 1, field)]
    while stack:
        v, depth, where = stack.pop()
        if isinstance(v, dict):
            if depth > max_depth:
                raise InputError(f"nested deeper than {max_depth} levels", field=where,
                                 expected=f"at most {max_depth} levels of arrays and objects")
            for k, x in v.items():
                if not isinstance(k, str) or has_control(k) or len(k) > 256:
                    raise InputError(f"key {str(k)[:40]!r} holds control characters or is too long", field=where,
                                     expected="object keys of 1-256 printable characters")
                stack.append((x, depth + 1, f"{where}.{k}" if len(where) < 200 else where))
        elif isinstance(v, list):
            if depth > max_depth:
                raise InputError(f"nested deeper than {max_depth} levels", field=where,
                                 expected=f"at most {max_depth} levels of arrays and objects")
            stack.extend((x, depth + 1, where) for x in v)
        elif isinstance(v, float):
            if not math.isfinite(v):
                raise InputError(f"{v} is not a finite number", field=where, expected="a finite number")
        elif isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_INT:
            raise InputError(f"{v} is too large", field=where, expected=f"integers within +-2^53 ({MAX_INT})")


def loads(raw: bytes | str, field: str = "body", max_depth: int = MAX_DEPTH) -> Any:
    """Parse untrusted JSON; every refusal is an `InputError` naming `field` and the expected form."""
    data = raw.encode() if isinstance(raw, str) else raw
    depth = nesting_depth(data)
    if depth > max_depth:
        raise InputError(f"nested {depth} levels deep", field=field,
                         expected=f"at most {max_depth} levels of arrays and objects")
    try:
        value = json.loads(data, parse_constant=_bad_number, parse_float=_float, parse_int=_int)
    except InputError as exc:
        raise InputError(exc.reason, field=field, expected=exc.expected) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"malformed JSON: {getattr(exc, 'msg', None) or exc}", field=field,
                         expected="a JSON document") from None
    except (RecursionError, ValueError) as exc:  # pragma: no cover - the depth check comes first
        raise InputError(f"malformed JSON: {exc}", field=field, expected="a JSON document") from None
    check_tree(value, field, max_depth)
    return value
