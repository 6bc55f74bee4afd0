"""One exception tree for Aquila.

Every error says what was wrong, where, and the expected form, so the user can fix it::

    AquilaError
    ├── InputError                 bad user input (CLI exit code 2, HTTP 400)
    │   ├── ElementSetError        a TLE/OMM record that fails checksum, format or range checks
    │   ├── TargetError            a GeoJSON target file that is not a valid FeatureCollection
    │   └── TimeWindowError        a start/end pair that is reversed, unparsable or too long
    └── PropagationError           SGP4 could not propagate a satellite (reported per satellite)
"""

from __future__ import annotations

__all__ = [
    "AquilaError",
    "InputError",
    "ElementSetError",
    "TargetError",
    "TimeWindowError",
    "PropagationError",
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


class PropagationError(AquilaError):
    """SGP4 failed for one satellite (decayed, eccentricity out of range, ...)."""

    def __init__(self, norad_id: int, name: str, message: str) -> None:
        self.norad_id = norad_id
        self.name = name
        super().__init__(f"{name} ({norad_id}): {message}")
