"""CQL2 filters (text or JSON) parsed safely into CQL2 JSON: what every backend translates.

Supported: and/or/not, = <> < <= > >=, like, between, in, isNull, s_intersects,
t_intersects/anyinteracts on `datetime`, and property-property comparisons; a backend refuses
anything else with a 400 that names the operator.

Untrusted filters cannot hurt the service: the text is at most `MAX_FILTER_TEXT` characters, the
reference parser (which recurses natively: ~3,000 nested parentheses or ~20,000 `AND` terms
overflow an 8 MiB stack) runs on a thread with a 256 MiB stack where no text of that length
can reach the end of it, and gives up after `FILTER_PARSE_TIMEOUT_S`. Its time doubles with every level
of parentheses it fails inside (47 s at 24), so text must balance its parentheses and quotes and
nest at most `MAX_FILTER_PARENTHESES` deep (~3 ms worst case). The parsed tree is at most `MAX_FILTER_NESTING`
levels deep.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import cql2

from aquila.errors import FilterError
from aquila.limits import (
    FILTER_PARSE_TIMEOUT_S,
    MAX_FILTER_NESTING,
    MAX_FILTER_PARENTHESES,
    MAX_FILTER_TEXT,
)
from aquila.safejson import check_tree, loads

__all__ = ["parse_filter", "SUPPORTED_OPS", "filter_error"]

SUPPORTED_OPS = {"and", "or", "not", "=", "<>", "<", "<=", ">", ">=", "like", "between", "in", "isNull",
                 "s_intersects", "t_intersects", "anyinteracts"}
_EXPECTED = "CQL2 text such as \"eo:cloud_cover < 20 AND platform = 'sentinel-2a'\" or the equivalent CQL2 JSON"
_STACK_BYTES = 256 * 1024 * 1024


def filter_error(msg: str, expected: str = _EXPECTED) -> FilterError:
    """The 400 for a filter, naming the field and the expected form."""
    return FilterError(msg, field="filter", expected=expected)


def _run_parser(fn: Callable[[], Any], timeout_s: float) -> Any:
    """Run the native parser on a fresh thread with a large stack; give up (400) after `timeout_s`.

    A thread per call, so one slow parse never queues the others behind it.
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except Exception as exc:  # handed back to the caller
            box["error"] = exc

    with _STACK_LOCK:
        old = threading.stack_size(_STACK_BYTES)
        try:
            t = threading.Thread(target=run, name="cql2-parser", daemon=True)
            t.start()
        finally:
            threading.stack_size(old)
    t.join(timeout_s)
    if t.is_alive():
        raise filter_error(f"took over {timeout_s:g} s to parse", "a simpler filter: fewer nested parentheses")
    if "error" in box:
        raise box["error"]
    return box["value"]


_STACK_LOCK = threading.Lock()


def _scan(text: str) -> tuple[int, bool]:
    """(deepest parenthesis nesting, balanced?) outside '...' strings ('' escapes) and "..." identifiers."""
    depth = deepest = 0
    quote = ""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quote:
            if ch == quote:
                if i + 1 < n and text[i + 1] == quote:  # doubled quote: an escaped one
                    i += 1
                else:
                    quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return deepest, False
        i += 1
    return deepest, depth == 0 and not quote


def parse_filter(value: str | dict[str, Any], lang: str | None) -> dict[str, Any]:
    """CQL2 JSON (dict) from the `filter` parameter, validated by the cql2 reference parser."""
    if lang is not None and not isinstance(lang, str):
        raise FilterError(f"{str(lang)[:40]!r}", field="filter-lang", expected="cql2-text or cql2-json")
    if isinstance(value, dict):
        if lang not in (None, "cql2-json"):
            raise FilterError(f"filter-lang {lang!r} with a JSON filter", field="filter-lang", expected="cql2-json")
        check_tree(value, "filter", MAX_FILTER_NESTING, paths=False)
        text = json.dumps(value)
        lang = "cql2-json"
    elif isinstance(value, str):
        if lang not in (None, "cql2-text", "cql2-json"):
            raise FilterError(f"{lang[:40]!r}", field="filter-lang", expected="cql2-text or cql2-json")
        text = value
        if lang == "cql2-json":
            loads(text, "filter", MAX_FILTER_NESTING)
    else:
        raise filter_error(f"{type(value).__name__} is not a filter")
    if len(text) > MAX_FILTER_TEXT:
        raise filter_error(f"{len(text)} characters long", f"a filter of at most {MAX_FILTER_TEXT} characters")
    if "\x00" in text:
        raise filter_error("holds a NUL character")
    if lang != "cql2-json":
        deepest, balanced = _scan(text)
        if not balanced:
            raise filter_error("unbalanced parentheses or quotes", "every ( closed by ) and every quote closed")
        if deepest > MAX_FILTER_PARENTHESES:
            # the reference parser's time doubles with each level when it fails inside them
            raise filter_error(f"{deepest} levels of parentheses",
                               f"at most {MAX_FILTER_PARENTHESES} levels of parentheses")

    def parse() -> Any:
        expr = cql2.parse_json(text) if lang == "cql2-json" else cql2.parse_text(text)
        return expr.to_json()

    try:
        out = _run_parser(parse, FILTER_PARSE_TIMEOUT_S)
    except (cql2.ParseError, cql2.ValidationError, ValueError, TypeError) as exc:
        why = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise filter_error(f"does not parse: {why}") from None
    if not isinstance(out, dict):
        raise filter_error("is not a boolean expression")
    check_tree(out, "filter", MAX_FILTER_NESTING, paths=False)
    return out
