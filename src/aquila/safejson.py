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
from aquila.limits import MAX_DEPTH, MAX_INT

__all__ = ["MAX_DEPTH", "MAX_INT", "loads", "dumps_checked", "nesting_depth", "check_tree", "has_control",
           "merge_patch"]

"""Deepest nesting of arrays and objects accepted (a STAC item needs 7; CQL2 JSON rarely 20)."""
"""Largest integer magnitude accepted: exact in every JSON implementation and in SQLite."""

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What a clean document's JSON text never holds: escaped control characters, DEL, 17+ digit runs
# (and lone surrogates, which cannot be stored or sent as UTF-8: escaped surrogates trigger a walk)
_SUSPECT = re.compile(rb"\\u00[01]|\\u007f|\x7f|\d{17}|\\u[dD][89a-fA-F]")
_LONG_DIGITS = re.compile(rb"\d{17}")


def _suspect(raw: bytes) -> bool:
    """Fast path first: plain substring tests in C, the regex only when an escape is present."""
    if b"\\u" in raw:
        return _SUSPECT.search(raw) is not None
    return b"\x7f" in raw or _LONG_DIGITS.search(raw) is not None


def has_control(text: str) -> bool:
    """True when `text` holds a control character (NUL, newline, escape, ...) or a lone surrogate."""
    return _CONTROL.search(text) is not None or not _utf8(text)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:  # a lone surrogate such as "\ud800"
        return False


def nesting_depth(raw: bytes) -> int:
    """Deepest bracket nesting of a JSON text, counted outside strings, without parsing it."""
    opening = raw.count(b"[") + raw.count(b"{")
    if opening <= 8:  # cannot nest deeper than it has brackets (most small documents)
        return opening
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    b = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((b == ord("[")) | (b == ord("{")), 1, -1).astype(np.int32)
    return int(np.cumsum(steps).max())


class _Huge:
    """Stands for an integer literal too long to convert (reported with its field by `check_tree`)."""

    def __repr__(self) -> str:
        return "a huge integer"


_HUGE = _Huge()


def _int(text: str) -> Any:
    return _HUGE if len(text) > 17 else int(text)


def check_tree(value: Any, field: str = "body", max_depth: int = MAX_DEPTH, paths: bool = True) -> None:
    """Walk an already-parsed value (iteratively): depth, finite numbers, keys without control characters.

    Errors name the member at fault by its dotted path under `field` (`geometry.coordinates`; under
    the request body, `body`, the path alone: `properties.eo:cloud_cover`), or `field` itself for
    nesting and when `paths` is off.
    """
    root = "" if field == "body" else field
    stack: list[tuple[Any, int, str]] = [(value, 1, root)]
    while stack:
        v, depth, path = stack.pop()
        where = path or field
        if isinstance(v, dict | list) and depth > max_depth:
            raise InputError(f"nested deeper than {max_depth} levels", field=field,
                             expected=f"at most {max_depth} levels of arrays and objects")
        if isinstance(v, dict):
            for k, x in v.items():
                if not isinstance(k, str) or has_control(k) or not 0 < len(k) <= 256:
                    raise InputError(f"key {str(k)[:40]!r} is empty, too long or holds control characters",
                                     field=where, expected="object keys of 1-256 printable characters")
                stack.append((x, depth + 1, (f"{path}.{k}" if path else k) if paths else path))
        elif isinstance(v, list):
            stack.extend((x, depth + 1, path) for x in v)
        elif isinstance(v, str) and not _utf8(v):
            raise InputError("a string holds a lone UTF-16 surrogate", field=where, expected="valid Unicode text")
        elif isinstance(v, float) and not math.isfinite(v):
            raise InputError(f"{v} is not a finite number", field=where, expected="a finite number")
        elif v is _HUGE or (isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_INT):
            raise InputError("integer too large", field=where, expected=f"an integer within +-2^53 ({MAX_INT})")


def dumps_checked(value: Any, field: str = "body", max_depth: int = MAX_DEPTH) -> str:
    """Compact JSON of a value built in Python, after the same checks as `loads` (fast when clean)."""
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:  # a non-finite number: find it, with its path
        check_tree(value, field, max_depth)
        raise
    raw = text.encode()
    if _suspect(raw) or (raw.count(b"[") + raw.count(b"{") > max_depth and nesting_depth(raw) > max_depth):
        check_tree(value, field, max_depth)
    return text


def loads(raw: bytes | str, field: str = "body", max_depth: int = MAX_DEPTH) -> Any:
    """Parse untrusted JSON; every refusal is an `InputError` naming `field` and the expected form."""
    data = raw.encode() if isinstance(raw, str) else raw
    depth = nesting_depth(data)
    if depth > max_depth:
        raise InputError(f"nested {depth} levels deep", field=field,
                         expected=f"at most {max_depth} levels of arrays and objects")
    odd: list[bool] = []

    def constant(text: str) -> float:
        odd.append(True)
        return float(text)

    def number(text: str) -> float:
        v = float(text)
        if not math.isfinite(v):
            odd.append(True)
        return v

    try:
        # strict UTF-8 (json.loads on bytes would let encoded lone surrogates through); NaN, Infinity
        # and 1e999 parse to non-finite floats, found (with their path) by check_tree
        value = json.loads(data.decode("utf-8"), parse_int=_int, parse_constant=constant, parse_float=number)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"malformed JSON: {getattr(exc, 'msg', None) or exc}", field=field,
                         expected="a JSON document") from None
    except (RecursionError, ValueError) as exc:  # pragma: no cover - the depth check comes first
        raise InputError(f"malformed JSON: {exc}", field=field, expected="a JSON document") from None
    if odd or _suspect(data):  # only then walk the tree to name what is wrong
        check_tree(value, field, max_depth)
    return value


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out
