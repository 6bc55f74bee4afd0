"""Parsing of item-search parameters (GET query strings and POST bodies alike), and the fields extension."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from aquila.errors import InputError
from aquila.limits import MAX_OFFSET
from aquila.times import parse_rfc3339

__all__ = ["parse_datetime", "parse_bbox", "parse_sortby", "parse_fields", "apply_fields", "keeps", "encode_token",
           "decode_token"]


def parse_datetime(value: str) -> tuple[float, float]:
    expected = "an RFC 3339 date-time, or an interval start/end with .. for an open end"

    def one(v: str) -> float:
        try:
            return parse_rfc3339(v.strip(), "datetime")
        except InputError:
            raise InputError(f"{value[:80]!r}", field="datetime", expected=expected) from None

    if "/" in value:
        a, b = value.split("/", 1)
        lo = -math.inf if a in ("", "..") else one(a)
        hi = math.inf if b in ("", "..") else one(b)
        if a in ("", "..") and b in ("", ".."):
            raise InputError(f"{value!r}", field="datetime", expected=expected)
        if lo > hi:
            raise InputError(f"{value!r}: start after end", field="datetime", expected=expected)
        return lo, hi
    t = one(value)
    return t, t


def parse_bbox(value: Any) -> tuple[float, float, float, float]:
    expected = "west,south,east,north (or 6 numbers with heights), degrees"
    try:
        parts = value.split(",") if isinstance(value, str) else value
        if any(isinstance(x, bool) for x in parts):
            raise TypeError("booleans are not coordinates")
        nums = [float(x) for x in parts]
    except (TypeError, ValueError):
        raise InputError(f"{value!r}", field="bbox", expected=expected) from None
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if len(nums) != 4 or not all(math.isfinite(x) for x in nums):
        raise InputError(f"{value!r}", field="bbox", expected=expected)
    w, s, e, n = nums
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90):
        raise InputError(f"{value!r}", field="bbox", expected=expected + " with south <= north")
    return w, s, e, n


def parse_sortby(value: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if value is None:
        return out
    if isinstance(value, str):
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            direction = "desc" if part.startswith("-") else "asc"
            out.append((part.lstrip("+- "), direction))
    elif isinstance(value, list):
        for s in value:
            if not isinstance(s, dict) or not isinstance(s.get("field"), str) or \
                    s.get("direction", "asc") not in ("asc", "desc"):
                raise InputError(f"{s!r}", field="sortby", expected='[{"field": "properties.datetime", '
                                 '"direction": "asc"|"desc"}]')
            out.append((s["field"], s.get("direction", "asc")))
    else:
        raise InputError(f"{value!r}", field="sortby", expected="a list of {field, direction} objects")
    for name, _ in out:
        if not name or len(name) > 200:
            raise InputError(f"{name!r}", field="sortby", expected="a property name")
    return out


def parse_fields(value: Any) -> tuple[list[str], list[str], bool] | None:
    """(include, exclude, include given): GET strings always count as giving include."""
    if value is None:
        return None
    inc: list[str] = []
    exc: list[str] = []
    include_given = True
    if isinstance(value, str):
        for part in value.split(","):
            part = part.strip()
            if part.startswith("-"):
                exc.append(part[1:])
            elif part:
                inc.append(part.lstrip("+"))
    elif isinstance(value, dict):
        include_given = "include" in value
        inc = value.get("include") or []
        exc = value.get("exclude") or []
        if not isinstance(inc, list) or not isinstance(exc, list) or not all(
                isinstance(x, str) and 0 < len(x) <= 200 for x in inc + exc) or len(inc) + len(exc) > 200:
            raise InputError(f"{str(value)[:80]!r}", field="fields", expected='{"include": [...], "exclude": [...]}')
        inc, exc = list(inc), list(exc)
    else:
        raise InputError(f"{str(value)[:80]!r}", field="fields", expected='{"include": [...], "exclude": [...]}')
    return inc, exc, include_given


_DEFAULT_FIELDS = ["type", "stac_version", "id", "geometry", "bbox", "links", "assets", "collection",
                   "properties.datetime", "properties.start_datetime", "properties.end_datetime"]


def _project(item: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in paths:
        parts = path.split(".")
        src: Any = item
        for p in parts[:-1]:
            src = src.get(p) if isinstance(src, dict) else None
        if not isinstance(src, dict) or parts[-1] not in src:
            continue
        dst = out
        for p in parts[:-1]:
            dst = dst.setdefault(p, {})
        dst[parts[-1]] = src[parts[-1]]
    return out


def apply_fields(item: dict[str, Any], fields: tuple[list[str], list[str], bool] | None) -> dict[str, Any]:
    """STAC fields extension: include wins over exclude.

    With includes: those plus `type`, `stac_version`, `id` and `links` (so clients can still parse
    and follow the result). With an empty or null include: the default set minus the excludes.
    With no include key at all (POST): the whole item minus the excludes.
    """
    if fields is None:
        return item
    inc, exc, include_given = fields
    if inc:
        keep = ["type", "stac_version", "id", "links", *inc]
    elif include_given:
        keep = list(_DEFAULT_FIELDS)
    else:
        keep = list(item)
    out = _project(item, keep)  # shares the item's objects: an exclusion copies the dicts it changes
    for path in exc:
        if path in inc or path in ("id", "type") or any(i.startswith(path + ".") for i in inc):
            continue
        parts = path.split(".")
        d: Any = out
        for p in parts[:-1]:
            inner = d.get(p) if isinstance(d, dict) else None
            if not isinstance(inner, dict):
                d = None
                break
            d[p] = d = dict(inner)
        if isinstance(d, dict):
            d.pop(parts[-1], None)
    return out


def keeps(fields: tuple[list[str], list[str], bool] | None, name: str) -> bool:
    """Whether the top-level member `name` (e.g. `links`) can survive `apply_fields` (so it need not be built)."""
    if fields is None:
        return True
    inc, exc, include_given = fields
    under = any(i == name or i.startswith(name + ".") for i in inc)  # a more specific include wins
    if name in exc and not under and name not in ("id", "type"):
        return False
    if inc:
        return name in ("type", "stac_version", "id", "links") or any(i == name or i.startswith(name + ".")
                                                                        for i in inc)
    return name in _DEFAULT_FIELDS if include_given else True


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_token(token: str) -> int:
    """The offset in a next-page token; anything else is a 400 naming the token."""
    try:
        if len(token) > 200:
            raise ValueError
        pad = "=" * (-len(token) % 4)
        off = json.loads(base64.urlsafe_b64decode(token + pad))["o"]
        if not isinstance(off, int) or isinstance(off, bool) or not 0 <= off <= MAX_OFFSET:
            raise ValueError
        return off
    except (ValueError, KeyError, TypeError, RecursionError):
        raise InputError(f"{token[:40]!r}", field="token",
                         expected="a token from a previous page's next link") from None
