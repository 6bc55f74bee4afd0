"""One exception tree for Aquila, and the one table that says how each is answered.

Every error says what was wrong, where, and the expected form, so the user can fix it::

    AquilaError
    ├── InputError                 bad user input: names the field and the expected form    400 / exit 2
    │   ├── ElementSetError        a TLE/OMM record that fails checksum, format or range checks
    │   ├── TargetError            a GeoJSON target file that is not a valid FeatureCollection
    │   ├── TimeWindowError        a start/end pair that is reversed, unparsable or too long
    │   ├── LabelError             a security label (sec:* properties) that does not parse
    │   ├── FilterError            a CQL2 filter that does not parse or is not supported
    │   ├── QueryTooExpensive      a search that ran past its time budget: narrow it
    │   └── PayloadTooLarge        a request body or upload over the configured limit       413
    ├── AuthenticationError        no valid token: missing, expired, revoked, forged         401
    ├── Forbidden                  authenticated, but the role or nation may not do this     403
    ├── NotFound                   missing, or not releasable to the caller (the same)       404
    ├── Conflict                   exists already, or changed meanwhile (caller can see it)  409
    │   └── Stale                  the object changed between the read a write was based on and the write
    ├── TooManyRequests            more concurrent requests of one kind than one user may have  429
    ├── Busy                       the store stayed locked by writes: retry in a moment      503
    ├── AuditTampered              the audit log does not hold what its signed head says     503 (fail closed)
    └── PropagationError           SGP4 could not propagate a satellite (reported per satellite)

`STATUS` maps each to its HTTP status and error code (most specific first); `status_of` looks one
up. The API answers every `AquilaError` from this table and nothing else; the CLI prints one line
and exits 2 on any `AquilaError` (exit 1 is kept for a check that ran and found a fault, such as
`aquila audit verify` on a broken chain).
"""

from __future__ import annotations

__all__ = [
    "AquilaError",
    "InputError",
    "ElementSetError",
    "TargetError",
    "TimeWindowError",
    "LabelError",
    "FilterError",
    "QueryTooExpensive",
    "PayloadTooLarge",
    "AuthenticationError",
    "Forbidden",
    "NotFound",
    "Conflict",
    "Stale",
    "TooManyRequests",
    "Busy",
    "AuditTampered",
    "PropagationError",
    "STATUS",
    "status_of",
    "exit_code",
]


class AquilaError(Exception):
    """Base of every error Aquila raises on purpose."""


class InputError(AquilaError, ValueError):
    """User input that cannot be used; the message names the field and the expected form."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None,
                 field: str | None = None, expected: str | None = None) -> None:
        self.source = source
        self.line = line
        self.field = field
        self.expected = expected
        self.reason = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.source is not None:
            where = str(self.source)
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        text = where
        if self.field:
            text += f"{self.field}: "
        text += self.reason
        if self.expected:
            text += f" (expected {self.expected})"
        return text


class ElementSetError(InputError):
    """A two-line element set or OMM record that fails validation."""


class TargetError(InputError):
    """A target (area of interest) file that cannot be used."""


class TimeWindowError(InputError):
    """A time window that is reversed, malformed or longer than allowed."""


class LabelError(InputError):
    """A security label that does not parse; the field is the STAC property at fault."""


class FilterError(InputError):
    """A filter that does not parse or uses what the catalog does not support."""


class QueryTooExpensive(InputError):
    """A query that ran past its time budget (HTTP 400); narrow it."""


class PayloadTooLarge(InputError):
    """A request body or asset upload over the configured limit (HTTP 413)."""


class AuthenticationError(AquilaError):
    """No valid token: missing, expired, revoked, forged or malformed (HTTP 401)."""


class Forbidden(AquilaError):
    """Authenticated but not allowed to do this (HTTP 403): wrong role or foreign originator."""


class NotFound(AquilaError):
    """No such object — or one the caller may not see (the two are indistinguishable)."""


class Conflict(AquilaError):
    """The object already exists, or changed meanwhile (and the caller can see it)."""


class Stale(Conflict):
    """The object changed (relabelled, replaced, deleted) between the read a write was based on and the write."""


class TooManyRequests(AquilaError):
    """More concurrent requests of one kind than one user may have (HTTP 429, Retry-After)."""


class Busy(AquilaError):
    """The database stayed locked by writes for its whole busy timeout (HTTP 503, Retry-After)."""


class AuditTampered(AquilaError):
    """The audit log does not hold what its signed head says: refuse to go on writing to it."""


class PropagationError(AquilaError):
    """SGP4 failed for one satellite (decayed, eccentricity out of range, ...)."""

    def __init__(self, norad_id: int, name: str, message: str) -> None:
        self.norad_id = norad_id
        self.name = name
        super().__init__(f"{name} ({norad_id}): {message}")


# The one exception -> (HTTP status, error code) table, most specific first.
STATUS: tuple[tuple[type[AquilaError], int, str], ...] = (
    (PayloadTooLarge, 413, "PayloadTooLarge"),
    (QueryTooExpensive, 400, "QueryTooExpensive"),
    (InputError, 400, "BadRequest"),
    (AuthenticationError, 401, "Unauthorized"),
    (Forbidden, 403, "Forbidden"),
    (NotFound, 404, "NotFound"),
    (Conflict, 409, "Conflict"),
    (TooManyRequests, 429, "TooManyRequests"),
    (AuditTampered, 503, "AuditLogTampered"),  # fail closed: no service without an intact audit log
    (Busy, 503, "Busy"),
)


def status_of(exc: AquilaError) -> tuple[int, str] | None:
    """(HTTP status, error code) of a project error; None for one no request should cause (a bug: 500)."""
    for kind, status, code in STATUS:
        if isinstance(exc, kind):
            return status, code
    return None


def exit_code(exc: AquilaError) -> int:
    """The CLI's exit status for an error it explains: 2 (1 means a check ran and found a fault)."""
    return 2
