"""CQL2 (text or JSON) to a parameterised SQLite expression over the item table.

Supported: and/or/not, = <> < <= > >=, like, between, in, isNull, s_intersects (exact, via a
prepared shapely geometry), t_intersects/anyinteracts on `datetime`, and property-property
comparisons. Anything else is a 400 that names the operator. Property names never reach the SQL
text unquoted: they are JSON paths bound as parameters.

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
import math
import threading
from collections.abc import Callable
from typing import Any

import cql2
from shapely.geometry.base import BaseGeometry

from aquila.catalog.validate import validate_geometry
from aquila.errors import FilterError, InputError
from aquila.limits import (
    FILTER_PARSE_TIMEOUT_S,
    LIKE_PREFIX_CHARS,
    MAX_FILTER_NESTING,
    MAX_FILTER_PARENTHESES,
    MAX_FILTER_TEXT,
    MAX_LIKE_PATTERN,
)
from aquila.safejson import MAX_INT, check_tree, has_control, loads
from aquila.times import parse_rfc3339

__all__ = ["FilterError", "parse_filter", "to_sql", "property_sql", "SUPPORTED_OPS", "PROMOTED", "MAX_FILTER_TEXT",
           "MAX_FILTER_NESTING", "MAX_FILTER_PARENTHESES"]

# Common STAC queryables held as real columns as well as in the JSON document, so that filtering
# and sorting on them does not parse every document (8 us each; 190 ms for a week of 1M items).
PROMOTED = {"eo:cloud_cover": "p_eo_cloud_cover", "gsd": "p_gsd", "view:off_nadir": "p_view_off_nadir",
            "platform": "p_platform", "constellation": "p_constellation"}
SUPPORTED_OPS = {"and", "or", "not", "=", "<>", "<", "<=", ">", ">=", "like", "between", "in", "isNull",
                 "s_intersects", "t_intersects", "anyinteracts"}
_EXPECTED = "CQL2 text such as \"eo:cloud_cover < 20 AND platform = 'sentinel-2a'\" or the equivalent CQL2 JSON"
_STACK_BYTES = 256 * 1024 * 1024


def _fail(msg: str, expected: str = _EXPECTED) -> FilterError:
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
        raise _fail(f"took over {timeout_s:g} s to parse", "a simpler filter: fewer nested parentheses")
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
        raise _fail(f"{type(value).__name__} is not a filter")
    if len(text) > MAX_FILTER_TEXT:
        raise _fail(f"{len(text)} characters long", f"a filter of at most {MAX_FILTER_TEXT} characters")
    if "\x00" in text:
        raise _fail("holds a NUL character")
    if lang != "cql2-json":
        deepest, balanced = _scan(text)
        if not balanced:
            raise _fail("unbalanced parentheses or quotes", "every ( closed by ) and every quote closed")
        if deepest > MAX_FILTER_PARENTHESES:
            # the reference parser's time doubles with each level when it fails inside them
            raise _fail(f"{deepest} levels of parentheses", f"at most {MAX_FILTER_PARENTHESES} levels of parentheses")

    def parse() -> Any:
        expr = cql2.parse_json(text) if lang == "cql2-json" else cql2.parse_text(text)
        return expr.to_json()

    try:
        out = _run_parser(parse, FILTER_PARSE_TIMEOUT_S)
    except (cql2.ParseError, cql2.ValidationError, ValueError, TypeError) as exc:
        raise _fail(f"does not parse: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}") from None
    if not isinstance(out, dict):
        raise _fail("is not a boolean expression")
    check_tree(out, "filter", MAX_FILTER_NESTING, paths=False)
    return out


def _epoch(text: Any) -> float:
    if not isinstance(text, str):
        raise _fail(f"{str(text)[:40]!r} is not a time", "e.g. TIMESTAMP('2026-03-19T00:00:00Z')")
    return parse_rfc3339(text, "filter")


def property_sql(name: str, params: list[Any]) -> str:
    """SQL for a queryable: top-level columns, or a JSON path into the item's properties."""
    if not isinstance(name, str) or not name or len(name) > 200 or has_control(name):
        raise InputError(f"{str(name)[:40]!r}", field="property",
                         expected="a property name of 1-200 printable characters")
    if name == "id":
        return "items.id"
    if name == "collection":
        return "items.collection"
    if name in ("datetime", "start_datetime"):
        return "items.start_dt"
    if name == "end_datetime":
        return "items.end_dt"
    if name.startswith("properties."):
        name = name[len("properties."):]
    if name in PROMOTED:
        return f"items.{PROMOTED[name]}"
    params.append('$.properties."' + name.replace('"', '').replace("\\", "") + '"')
    return "json_extract(items.doc, ?)"


def _scalar(x: Any) -> Any:
    if isinstance(x, bool):
        return 1 if x else 0
    if isinstance(x, float) and not math.isfinite(x):
        raise _fail(f"{x} is not a finite number")
    if isinstance(x, int) and abs(x) > MAX_INT:
        raise _fail(f"{x} is too large", f"numbers within +-2^53 ({MAX_INT})")
    if isinstance(x, str) and "\x00" in x:
        raise _fail("a string holds a NUL character")
    return x


class _Context:
    def __init__(self, params: list[Any], geometry: Callable[[BaseGeometry], int]) -> None:
        self.params = params
        self.geometry = geometry


def _operand(x: Any, ctx: _Context, time_context: bool = False) -> str:
    if isinstance(x, dict):
        if "property" in x:
            return property_sql(x["property"], ctx.params)
        if "timestamp" in x:
            ctx.params.append(_epoch(x["timestamp"]) if time_context else _scalar(x["timestamp"]))
            return "?"
        if "date" in x:
            if not isinstance(x["date"], str):
                raise _fail(f"{str(x['date'])[:40]!r} is not a date", "DATE('2026-03-19')")
            ctx.params.append(_epoch(x["date"] + "T00:00:00Z") if time_context else x["date"])
            return "?"
        if "op" in x:
            return _node(x, ctx)
        raise _fail(f"unsupported operand {json.dumps(x)[:80]}")
    if isinstance(x, bool | int | float | str):
        ctx.params.append(_scalar(x))
        return "?"
    raise _fail(f"unsupported operand {json.dumps(x)[:80]}")


def _is_time(x: Any) -> bool:
    return isinstance(x, dict) and (x.get("property") in ("datetime", "start_datetime", "end_datetime"))


_ARITY = {"not": 1, "isNull": 1, "=": 2, "<>": 2, "<": 2, "<=": 2, ">": 2, ">=": 2, "like": 2, "in": 2,
          "s_intersects": 2, "t_intersects": 2, "anyinteracts": 2}


def _node(node: Any, ctx: _Context) -> str:
    if not isinstance(node, dict):
        raise _fail(f"{json.dumps(node)[:80]} is not an operation")
    op = node.get("op")
    args = node.get("args", [])
    if op not in SUPPORTED_OPS:
        raise _fail(f"operator {str(op)[:40]!r} is not supported", "one of " + ", ".join(sorted(SUPPORTED_OPS)))
    if not isinstance(args, list):
        raise _fail(f"{op}: args is not a list")
    want = _ARITY.get(op)
    if want is not None and len(args) != want:
        raise _fail(f"{op} takes {want} argument{'s' if want > 1 else ''}, not {len(args)}")
    if op in ("and", "or"):
        if not args:
            raise _fail(f"{op} needs at least one argument")
        return "(" + f" {op.upper()} ".join(_node(a, ctx) for a in args) + ")"
    if op == "not":
        return "(NOT " + _node(args[0], ctx) + ")"
    if op in ("=", "<>", "<", "<=", ">", ">="):
        timey = _is_time(args[0]) or _is_time(args[1])
        a = _operand(args[0], ctx, timey)
        b = _operand(args[1], ctx, timey)
        return f"({a} {'!=' if op == '<>' else op} {b})"
    if op == "like":
        pattern = args[1]
        if not isinstance(pattern, str) or len(pattern) > MAX_LIKE_PATTERN:
            raise _fail("LIKE needs a pattern string of at most 256 characters", "platform LIKE 'sentinel%'")
        return f"(substr({_operand(args[0], ctx)}, 1, {LIKE_PREFIX_CHARS}) LIKE {_operand(pattern, ctx)})"
    if op == "between":
        if len(args) == 2 and isinstance(args[1], list) and len(args[1]) == 2:  # [prop, [lo, hi]] form
            args = [args[0], *args[1]]
        if len(args) != 3:
            raise _fail("between needs a property and two bounds", "eo:cloud_cover BETWEEN 0 AND 50")
        timey = _is_time(args[0])
        a = _operand(args[0], ctx, timey)
        lo = _operand(args[1], ctx, timey)
        hi = _operand(args[2], ctx, timey)
        return f"({a} BETWEEN {lo} AND {hi})"
    if op == "in":
        items = args[1] if isinstance(args[1], list) else [args[1]]
        if not items:
            return "(0)"
        a = _operand(args[0], ctx)
        if len(items) > 1000:
            raise _fail(f"IN with {len(items)} values", "at most 1000 values in an IN list")
        return f"({a} IN (" + ",".join(_operand(i, ctx) for i in items) + "))"
    if op == "isNull":
        return f"({_operand(args[0], ctx)} IS NULL)"
    if op == "s_intersects":
        geom = args[1] if isinstance(args[0], dict) and args[0].get("property") == "geometry" else args[0]
        if not isinstance(geom, dict) or "type" not in geom:
            raise _fail("s_intersects needs the geometry property and a GeoJSON geometry",
                        "S_INTERSECTS(geometry, POLYGON((...)))")
        g = validate_geometry(geom, "filter")
        ctx.params.append(ctx.geometry(g))
        return "(st_intersects(items.geom, ?) = 1)"
    # t_intersects / anyinteracts on datetime: interval overlap
    other = args[1] if _is_time(args[0]) else args[0]
    if isinstance(other, dict) and isinstance(other.get("interval"), list) and len(other["interval"]) == 2:
        lo_s: Any
        hi_s: Any
        lo_s, hi_s = other["interval"]
        lo_t = -1e18 if lo_s in ("..", None) else _epoch(lo_s if isinstance(lo_s, str) else
                                                       (lo_s.get("timestamp") if isinstance(lo_s, dict) else lo_s))
        hi_t = 1e18 if hi_s in ("..", None) else _epoch(hi_s if isinstance(hi_s, str) else
                                                      (hi_s.get("timestamp") if isinstance(hi_s, dict) else hi_s))
    elif isinstance(other, dict) and "timestamp" in other:
        lo_t = hi_t = _epoch(other["timestamp"])
    elif isinstance(other, dict) and "date" in other:
        lo_t = hi_t = _epoch(str(other["date"]) + "T00:00:00Z")
    else:
        raise _fail(f"{op} needs the datetime property and a time or interval",
                    "T_INTERSECTS(datetime, INTERVAL('2026-01-01T00:00:00Z', '..'))")
    ctx.params.extend([hi_t, lo_t])
    return "(items.start_dt <= ? AND items.end_dt >= ?)"


def to_sql(node: dict[str, Any], params: list[Any], geometry: Callable[[BaseGeometry], int] | None = None) -> str:
    """Translate CQL2 JSON to SQL, appending bind parameters to `params`.

    `geometry(g)` registers a query geometry and returns the handle bound in its place, so the
    geometry is parsed and prepared once per query, not once per row.
    """
    if geometry is None:
        def geometry(g: BaseGeometry) -> int:
            raise _fail("spatial operators are not available here")
    return _node(node, _Context(params, geometry))
