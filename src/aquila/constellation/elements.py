"""Orbital element sets: TLE (2- and 3-line) and OMM (JSON, XML, CSV), validated strictly.

Each record is checked (line length, line numbers, checksum, matching catalogue numbers, field
formats, physical ranges) before it reaches SGP4, and a failure names the file, line and field
with the expected form. Batch loaders can collect errors per record instead of stopping.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sgp4 import omm as sgp4_omm
from sgp4.api import WGS72, Satrec

from aquila.constants import MU_EARTH_KM3_S2, WGS84_A_KM
from aquila.errors import ElementSetError, InputError
from aquila.times import parse_instant

__all__ = [
    "ElementSet",
    "parse_tle",
    "parse_tle_collect",
    "parse_omm_records",
    "parse_omm",
    "load_elements",
    "tle_checksum",
    "newest_per_norad",
]

EARTH_RADIUS_KM = WGS84_A_KM  # equatorial: what perigee heights are measured from
_MU_KM3_S2 = MU_EARTH_KM3_S2
_TLE_LINE_LENGTH = 69
_EXPECTED_TLE = "69-column TLE lines '1 NNNNNC ...' and '2 NNNNN ...' ending in a mod-10 checksum digit"


def tle_checksum(line: str) -> int:
    """Mod-10 checksum of the first 68 columns of a TLE line (digits count, '-' counts 1)."""
    total = 0
    for ch in line[:68]:
        if ch.isdigit():
            total += int(ch)
        elif ch == "-":
            total += 1
    return total % 10


@dataclass(frozen=True, eq=False)
class ElementSet:
    """One mean element set for SGP4 with where it came from.

    `nominal` is True for elements generated from published orbit facts (altitude, inclination,
    local time of node) rather than tracked: positions are then representative, not actual.
    """

    norad_id: int
    name: str
    satrec: Satrec = field(repr=False)
    source: str = "<string>"
    nominal: bool = False

    @property
    def epoch(self) -> datetime:
        """Element set epoch (UTC)."""
        jd = self.satrec.jdsatepoch + self.satrec.jdsatepochF
        return datetime(2000, 1, 1, 12, tzinfo=UTC) + timedelta(days=jd - 2451545.0)

    @property
    def mean_motion_rev_per_day(self) -> float:
        return self.satrec.no_kozai * 1440.0 / (2 * math.pi)

    @property
    def eccentricity(self) -> float:
        return float(self.satrec.ecco)

    @property
    def inclination_deg(self) -> float:
        return math.degrees(self.satrec.inclo)

    @property
    def semi_major_axis_km(self) -> float:
        n_rad_s = self.satrec.no_kozai / 60.0
        return (_MU_KM3_S2 / n_rad_s**2) ** (1.0 / 3.0)

    @property
    def mean_altitude_km(self) -> float:
        return self.semi_major_axis_km - EARTH_RADIUS_KM

    def age_days(self, at: datetime) -> float:
        """Days between the element epoch and `at` (positive when the elements are older)."""
        return (at - self.epoch).total_seconds() / 86400.0


def _fail(msg: str, source: str, line: int | None, fld: str | None, expected: str | None = None) -> None:
    raise ElementSetError(msg, source=source, line=line, field=fld, expected=expected)


def _num(text: str, source: str, line: int, fld: str, expected: str) -> float:
    try:
        return float(text)
    except ValueError:
        _fail(f"{text.strip()!r} is not a number", source, line, fld, expected)
        raise  # unreachable


def _check_tle_line(text: str, number: int, source: str, lineno: int, checksum: bool = True) -> str:
    line = text.rstrip()
    if len(line) < _TLE_LINE_LENGTH:
        _fail(f"TLE line {number} is truncated: {len(line)} columns", source, lineno, f"line {number}",
              _EXPECTED_TLE)
    if len(line) > _TLE_LINE_LENGTH:
        _fail(f"TLE line {number} is {len(line)} columns long", source, lineno, f"line {number}",
              _EXPECTED_TLE)
    if line[0] != str(number) or line[1] != " ":
        _fail(f"line starts with {line[:2]!r}", source, lineno, "line number", f"'{number} ' at column 1")
    if not checksum:
        return line
    if not line[68].isdigit():
        _fail(f"checksum column holds {line[68]!r}", source, lineno, "checksum", "a digit in column 69")
    want = tle_checksum(line)
    if int(line[68]) != want:
        _fail(f"checksum is {line[68]} but the line sums to {want}", source, lineno, "checksum",
              "the mod-10 sum of digits (with '-' as 1) in columns 1-68; the line may be corrupted")
    return line


def _validate_tle_ranges(l1: str, l2: str, source: str, lineno: int) -> None:
    # Line 1 fields.
    epoch_day = _num(l1[20:32], source, lineno, "epoch", "YYDDD.DDDDDDDD in columns 19-32")
    if not 1.0 <= epoch_day < 367.0:
        _fail(f"epoch day of year {epoch_day} is out of range", source, lineno, "epoch", "1 <= day < 367")
    # Line 2 fields.
    l2no = lineno + 1
    incl = _num(l2[8:16], source, l2no, "inclination", "degrees in columns 9-16")
    if not 0.0 <= incl <= 180.0:
        _fail(f"inclination {incl} deg is out of range", source, l2no, "inclination", "0 <= i <= 180 deg")
    for name, cols in (("right ascension of node", (17, 25)), ("argument of perigee", (34, 42)),
                       ("mean anomaly", (43, 51))):
        val = _num(l2[cols[0]:cols[1]], source, l2no, name, f"degrees in columns {cols[0]+1}-{cols[1]}")
        if not 0.0 <= val < 360.0 + 1e-9:
            _fail(f"{name} {val} deg is out of range", source, l2no, name, "0 <= angle < 360 deg")
    ecc_text = l2[26:33]
    if not re.fullmatch(r"\d{7}", ecc_text.replace(" ", "0")):
        _fail(f"eccentricity {ecc_text!r} is not 7 digits", source, l2no, "eccentricity",
              "7 digits with an implied leading decimal point, e.g. 0001234 for 0.0001234, columns 27-33")
    ecc = float("0." + ecc_text.replace(" ", "0"))
    n_rev_day = _num(l2[52:63], source, l2no, "mean motion", "revolutions per day in columns 53-63")
    if not 0.0 < n_rev_day < 20.0:
        _fail(f"mean motion {n_rev_day} rev/day is impossible for an Earth orbit", source, l2no,
              "mean motion", "0 < n < 20 rev/day")
    a_km = (_MU_KM3_S2 / (n_rev_day * 2 * math.pi / 86400.0) ** 2) ** (1 / 3)
    perigee_alt_km = a_km * (1 - ecc) - EARTH_RADIUS_KM
    if perigee_alt_km < 0.0:
        _fail(f"eccentricity {ecc:.7f} puts perigee {-perigee_alt_km:.0f} km below the Earth's surface",
              source, l2no, "eccentricity", f"e < {1 - EARTH_RADIUS_KM / a_km:.4f} for this mean motion")


def parse_tle(text: str, source: str = "<string>", *, checksum: bool = True) -> list[ElementSet]:
    """Parse 2-line or 3-line (named) element sets; raise `ElementSetError` at the first bad record.

    `checksum=False` skips only the mod-10 check (for hand-edited sets such as Vallado's
    verification file); every format and range check still applies.
    """
    sets, errors = parse_tle_collect(text, source, checksum=checksum)
    if errors:
        raise errors[0]
    return sets


def parse_tle_collect(text: str, source: str = "<string>", *, checksum: bool = True
                      ) -> tuple[list[ElementSet], list[ElementSetError]]:
    """Parse TLE text, returning the good sets and one error per bad record (batch-friendly)."""
    lines = text.splitlines()
    out: list[ElementSet] = []
    errors: list[ElementSetError] = []
    i = 0
    pending_name: str | None = None
    while i < len(lines):
        raw = lines[i]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        if stripped.startswith("1 ") or (stripped.startswith("1") and len(stripped) >= 60 and stripped[1:2] == " "):
            lineno = i + 1
            try:
                if i + 1 >= len(lines):
                    _fail("line 1 has no line 2 after it", source, lineno, "line 2", _EXPECTED_TLE)
                l1 = _check_tle_line(raw.strip(), 1, source, lineno, checksum)
                l2 = _check_tle_line(lines[i + 1].strip(), 2, source, lineno + 1, checksum)
                if l1[2:7] != l2[2:7]:
                    _fail(f"catalogue numbers differ: {l1[2:7]!r} on line 1, {l2[2:7]!r} on line 2", source,
                          lineno + 1, "catalogue number", "the same NORAD id on both lines")
                _validate_tle_ranges(l1, l2, source, lineno)
                sat = Satrec.twoline2rv(l1, l2, WGS72)
                name = pending_name or f"NORAD {sat.satnum}"
                out.append(ElementSet(int(sat.satnum), name, sat, f"{source}:{lineno}", False))
            except ElementSetError as exc:
                errors.append(exc)
            pending_name = None
            i += 2
            continue
        if stripped.startswith("2 ") and len(stripped) >= 60:
            errors.append(ElementSetError("line 2 without a line 1 before it", source=source, line=i + 1,
                                          field="line 1", expected=_EXPECTED_TLE))
            i += 1
            pending_name = None
            continue
        # A name line (3-line format; Space-Track prefixes "0 ").
        name = stripped[2:].strip() if stripped.startswith("0 ") else stripped
        if len(name) > 60:
            errors.append(ElementSetError(f"unrecognised line {stripped[:30]!r}...", source=source, line=i + 1,
                                          field="record", expected=_EXPECTED_TLE))
        pending_name = name
        i += 1
    if pending_name is not None and not errors and not out:
        errors.append(ElementSetError("no element set found", source=source, line=None, field="file",
                                      expected=_EXPECTED_TLE))
    elif pending_name is not None:
        errors.append(ElementSetError(f"name {pending_name!r} has no element lines after it", source=source,
                                      line=len(lines), field="record", expected=_EXPECTED_TLE))
    return out, errors


_OMM_REQUIRED = ("EPOCH", "MEAN_MOTION", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE",
                 "ARG_OF_PERICENTER", "MEAN_ANOMALY", "NORAD_CAT_ID")
_OMM_DEFAULTS = {"BSTAR": "0", "MEAN_MOTION_DOT": "0", "MEAN_MOTION_DDOT": "0", "CLASSIFICATION_TYPE": "U",
                 "EPHEMERIS_TYPE": "0", "ELEMENT_SET_NO": "999", "REV_AT_EPOCH": "0",
                 "OBJECT_ID": "", "OBJECT_NAME": ""}
_EXPECTED_OMM = "an OMM record with " + ", ".join(_OMM_REQUIRED) + " (CelesTrak GP format)"


def _omm_to_elementset(rec: dict[str, Any], source: str, index: int) -> ElementSet:
    fields = {k.upper(): ("" if v is None else str(v)) for k, v in rec.items()}
    for key in _OMM_REQUIRED:
        if not fields.get(key, "").strip():
            _fail("missing", source, index, key, _EXPECTED_OMM)
    for key, default in _OMM_DEFAULTS.items():
        if not fields.get(key, "").strip():
            fields[key] = default
    numeric = {k: _num(fields[k], source, index, k, "a number") for k in
               ("MEAN_MOTION", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE", "ARG_OF_PERICENTER",
                "MEAN_ANOMALY", "BSTAR", "MEAN_MOTION_DOT", "MEAN_MOTION_DDOT")}
    try:
        norad = int(float(fields["NORAD_CAT_ID"]))
    except ValueError:
        _fail(f"{fields['NORAD_CAT_ID']!r} is not an integer", source, index, "NORAD_CAT_ID",
              "the NORAD catalogue number, e.g. 25544")
        raise
    if not 0 < norad < 340000:
        _fail(f"{norad} is out of range", source, index, "NORAD_CAT_ID", "1 <= id < 340000")
    ecc = numeric["ECCENTRICITY"]
    if not 0.0 <= ecc < 1.0:
        _fail(f"{ecc} is out of range", source, index, "ECCENTRICITY", "0 <= e < 1")
    if not 0.0 <= numeric["INCLINATION"] <= 180.0:
        _fail(f"{numeric['INCLINATION']} is out of range", source, index, "INCLINATION", "0..180 deg")
    n = numeric["MEAN_MOTION"]
    if not 0.0 < n < 20.0:
        _fail(f"{n} rev/day is impossible for an Earth orbit", source, index, "MEAN_MOTION", "0 < n < 20 rev/day")
    a_km = (_MU_KM3_S2 / (n * 2 * math.pi / 86400.0) ** 2) ** (1 / 3)
    if a_km * (1 - ecc) < EARTH_RADIUS_KM:
        _fail(f"eccentricity {ecc} puts perigee below the Earth's surface", source, index, "ECCENTRICITY",
              f"e < {1 - EARTH_RADIUS_KM / a_km:.4f} for this mean motion")
    try:
        parse_instant(fields["EPOCH"], "EPOCH")
    except InputError:
        _fail(f"{fields['EPOCH']!r} is not an ISO-8601 time", source, index, "EPOCH", "e.g. 2026-03-19T07:47:26.123456")
    fields["NORAD_CAT_ID"] = str(norad)
    sat = Satrec()
    try:
        sgp4_omm.initialize(sat, fields)
    except (ValueError, KeyError) as exc:  # pragma: no cover - fields were validated above
        _fail(str(exc), source, index, "record", _EXPECTED_OMM)
    name = fields["OBJECT_NAME"].strip() or f"NORAD {norad}"
    return ElementSet(norad, name, sat, f"{source}:{index}", False)


def parse_omm_records(records: Iterable[dict[str, Any]], source: str = "<omm>") -> list[ElementSet]:
    """Element sets from OMM key/value records (record numbers start at 1)."""
    return [_omm_to_elementset(rec, source, i) for i, rec in enumerate(records, start=1)]


def parse_omm(text: str, source: str = "<omm>") -> list[ElementSet]:
    """Parse OMM as CelesTrak/Space-Track serve it: JSON (array or object), CCSDS XML, or CSV."""
    body = text.lstrip()
    if body.startswith("[") or body.startswith("{"):
        try:
            data = json.loads(body)
        except json.JSONDecodeError as exc:
            raise ElementSetError(f"invalid JSON: {exc.msg}", source=source, line=exc.lineno, field="json",
                                  expected="a JSON array of OMM objects") from None
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ElementSetError("JSON is not a list of objects", source=source, field="json",
                                  expected="a JSON array of OMM objects")
        return parse_omm_records(data, source)
    if body.startswith("<"):
        try:
            records = list(sgp4_omm.parse_xml(io.StringIO(body)))
        except Exception as exc:  # xml.etree raises ParseError, a SyntaxError subclass
            raise ElementSetError(f"invalid OMM XML: {exc}", source=source, field="xml",
                                  expected="CCSDS OMM XML (<ndm><omm>...)") from None
        return parse_omm_records(records, source)
    reader = csv.DictReader(io.StringIO(body))
    if not reader.fieldnames or "MEAN_MOTION" not in [f.upper() for f in reader.fieldnames]:
        raise ElementSetError("not TLE, OMM JSON, OMM XML or OMM CSV", source=source, line=1, field="format",
                              expected="TLE lines, or OMM with a header naming " + ", ".join(_OMM_REQUIRED))
    return parse_omm_records(list(reader), source)


def load_elements(path: str | Path) -> list[ElementSet]:
    """Load element sets from a file, detecting TLE or OMM (JSON/XML/CSV) by content."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ElementSetError("file not found", source=str(p), field="path",
                              expected="a readable TLE or OMM file") from None
    except UnicodeDecodeError:
        raise ElementSetError("file is not UTF-8 text", source=str(p), field="encoding",
                              expected="a TLE or OMM text file") from None
    stripped = text.lstrip()
    if not stripped:
        raise ElementSetError("file is empty", source=str(p), field="file", expected=_EXPECTED_TLE)
    if stripped[0] in "[{<" or stripped.upper().startswith(("OBJECT_NAME", "CCSDS", "NORAD_CAT_ID")):
        return parse_omm(text, str(p))
    return parse_tle(text, str(p))


def newest_per_norad(sets: Iterable[ElementSet]) -> list[ElementSet]:
    """One element set per NORAD id, the newest epoch (first seen on a tie), in first-seen order."""
    best: dict[int, ElementSet] = {}
    for es in sets:
        old = best.get(es.norad_id)
        if old is None or es.epoch > old.epoch:
            best[es.norad_id] = es
    return list(best.values())
