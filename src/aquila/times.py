"""Time parsing, once: strict RFC 3339 for documents and queries, lenient ISO 8601 for people.

STAC documents and search parameters must carry a zone (RFC 3339); the command line and element
sets may omit it, meaning UTC (an OMM EPOCH never has one).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from aquila.errors import InputError

__all__ = ["RFC3339", "UNIX_EPOCH", "parse_rfc3339", "parse_instant", "iso_z"]

RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_rfc3339(value: Any, field: str) -> float:
    """Seconds since the epoch of an RFC 3339 date-time with a zone (years 0001-9999)."""
    if not isinstance(value, str) or RFC3339.fullmatch(value) is None:
        raise InputError(f"{str(value)[:80]!r}", field=field,
                         expected="an RFC 3339 date-time such as 2026-03-19T10:00:00Z")
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00").replace("t", "T"))
        return (t - UNIX_EPOCH).total_seconds()
    except (ValueError, OverflowError):
        raise InputError(f"{value!r} is not a valid date-time", field=field,
                         expected="e.g. 2026-03-19T10:00:00Z") from None


def parse_instant(text: Any, field: str, error: type[InputError] = InputError) -> datetime:
    """An ISO 8601 time as an aware UTC datetime; 'Z', an offset, or no zone meaning UTC."""
    try:
        if not isinstance(text, str) or any(ord(c) < 32 or ord(c) == 127 for c in text.strip()):
            raise ValueError  # control characters: fromisoformat would take "...Z\x00" as "...Z"
        t = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise error(f"{str(text)[:80]!r} is not an ISO-8601 time", field=field,
                    expected="e.g. 2026-03-19T00:00:00Z") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    try:
        return t.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-01:00 is past the last instant Python holds
        raise error(f"{str(text)[:80]!r} is out of range", field=field,
                    expected="a time between years 1 and 9999 in UTC") from None


def iso_z(time_s: float) -> str:
    """Seconds since 1970 UTC as RFC 3339 with a Z, to the millisecond (`2026-03-19T10:00:00.125Z`)."""
    from datetime import timedelta

    t = UNIX_EPOCH + timedelta(milliseconds=round(time_s * 1000))
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
