"""Satellite facts: who owns a satellite and what its sensor can do, by NORAD id — the planner's schema too.

A facts file is JSON::

    {"alliance": ["FRA", "DEU", ...],            # optional: owners whose satellites are pooled
     "satellites": [{"norad_id": 58302, "name": "ICEYE-X35", "owner": "FIN", "operator": "ICEYE",
                     "owner_kind": "commercial", "sensor": "sar", "gsd_nadir_m": 0.5,
                     "incidence_deg": [15, 35], "look_side": "both", "squint_max_deg": 15},
                    {"norad_id": 40115, "owner": "USA", "owner_kind": "commercial", "sensor": "optical",
                     "gsd_nadir_m": 0.31, "max_off_nadir_deg": 45, "min_sun_elevation_deg": 10}]}

Optical satellites give `max_off_nadir_deg`, SAR satellites `incidence_deg` [min, max]; `look_side`
is right, left or both (default both); `min_sun_elevation_deg` applies to optical only. The
built-in facts (`aquila/data/satellite_facts.json`, made by `tools/build_facts.py`) cover the
allied, commercial and other imaging satellites of the shipped element sets; a user's file adds to
or overrides them per NORAD id (and replaces the alliance if it names one).

A satellite without facts is left out of imaging, revisit and sharing gain; with
`--include-unknown` it is taken as a generic optical sensor owned by `UNKNOWN`, never an ally.
Only owners in the alliance count in the pooled and per-nation figures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from aquila.constellation.assets import OwnerKind, Sensor, SensorType
from aquila.errors import InputError
from aquila.safejson import loads

__all__ = ["SatelliteFacts", "FactsTable", "parse_facts", "load_facts", "builtin_facts", "UNKNOWN_OWNER",
           "LOOK_SIDES"]

UNKNOWN_OWNER = "UNKNOWN"
LOOK_SIDES = ("right", "left", "both")
_EXPECTED = ('{"satellites": [{"norad_id": 58302, "owner": "FIN", "owner_kind": "commercial", "sensor": "sar", '
             '"gsd_nadir_m": 0.5, "incidence_deg": [15, 35], "look_side": "both"}, ...]}')


@dataclass(frozen=True)
class SatelliteFacts:
    """What is published about one satellite."""

    norad_id: int
    owner: str
    owner_kind: OwnerKind
    sensor: Sensor
    name: str | None = None
    operator: str = "unknown"
    look_side: str = "both"
    squint_max_deg: float | None = None


@dataclass(frozen=True)
class FactsTable:
    """Facts by NORAD id, and the owners whose satellites are pooled."""

    satellites: dict[int, SatelliteFacts]
    alliance: frozenset[str]

    def get(self, norad_id: int) -> SatelliteFacts | None:
        return self.satellites.get(norad_id)

    def is_ally(self, owner: str) -> bool:
        return owner in self.alliance

    def merged(self, other: FactsTable, replace_alliance: bool) -> FactsTable:
        """These facts overridden per NORAD id by `other` (and its alliance, if it named one)."""
        return FactsTable({**self.satellites, **other.satellites},
                          other.alliance if replace_alliance else self.alliance)


def _number(d: dict[str, Any], key: str, where: str, lo: float, hi: float, required: bool = True) -> float | None:
    v = d.get(key)
    if v is None and not required:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
        raise InputError(f"{v!r}", field=f"{where}.{key}", expected=f"a number within {lo:g}..{hi:g}")
    return float(v)


def _text(d: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    v = d.get(key, default)
    if not isinstance(v, str) or not 0 < len(v) <= 100:
        raise InputError(f"{v!r}", field=f"{where}.{key}", expected="a string of 1-100 characters")
    return v


def _entry(d: Any, where: str) -> SatelliteFacts:
    if not isinstance(d, dict):
        raise InputError(f"{str(d)[:60]!r}", field=where, expected="an object " + _EXPECTED.split("[", 1)[1][:120])
    nid = d.get("norad_id")
    if isinstance(nid, bool) or not isinstance(nid, int) or not 0 < nid < 10**9:
        raise InputError(f"{nid!r}", field=f"{where}.norad_id", expected="a positive integer NORAD catalogue number")
    owner = _text(d, "owner", where).upper()
    kind = d.get("owner_kind", "national")
    if kind not in ("national", "commercial"):
        raise InputError(f"{kind!r}", field=f"{where}.owner_kind", expected="national or commercial")
    side = d.get("look_side", "both")
    if side not in LOOK_SIDES:
        raise InputError(f"{side!r}", field=f"{where}.look_side", expected="right, left or both")
    gsd = _number(d, "gsd_nadir_m", where, 0.01, 1000.0)
    assert gsd is not None
    stype = d.get("sensor")
    if stype == "optical":
        fov = _number(d, "max_off_nadir_deg", where, 0.1, 89.0)
        sun = _number(d, "min_sun_elevation_deg", where, -90.0, 90.0, required=False)
        assert fov is not None
        sensor = Sensor(SensorType.OPTICAL, gsd, fov, min_sun_elevation_deg=10.0 if sun is None else sun)
    elif stype == "sar":
        band = d.get("incidence_deg")
        if (not isinstance(band, list) or len(band) != 2 or
                not all(isinstance(x, int | float) and not isinstance(x, bool) for x in band) or
                not 0 <= band[0] < band[1] <= 89):
            raise InputError(f"{band!r}", field=f"{where}.incidence_deg",
                             expected="[min, max] incidence in degrees, 0 <= min < max <= 89")
        sensor = Sensor(SensorType.SAR, gsd, max_off_nadir_deg=min(float(band[1]), 70.0),
                        min_incidence_deg=float(band[0]), max_incidence_deg=float(band[1]))
    else:
        raise InputError(f"{stype!r}", field=f"{where}.sensor", expected="optical or sar")
    squint = _number(d, "squint_max_deg", where, 0.0, 89.0, required=False)
    name = d.get("name")
    return SatelliteFacts(nid, owner, OwnerKind(kind), sensor, name if isinstance(name, str) else None,
                          _text(d, "operator", where, "unknown"), side, squint)


def parse_facts(data: Any, source: str = "<facts>") -> tuple[FactsTable, bool]:
    """A facts table from a parsed document; also whether it named an alliance."""
    try:
        if not isinstance(data, dict) or not isinstance(data.get("satellites"), list):
            raise InputError("not a facts document", field="satellites", expected=_EXPECTED)
        out: dict[int, SatelliteFacts] = {}
        for k, d in enumerate(data["satellites"]):
            f = _entry(d, f"satellites[{k}]")
            out[f.norad_id] = f
        alliance = data.get("alliance")
        if alliance is not None and (not isinstance(alliance, list) or
                                     not all(isinstance(a, str) and 0 < len(a) <= 20 for a in alliance)):
            raise InputError(f"{str(alliance)[:60]!r}", field="alliance", expected='owner codes, e.g. ["FRA", "EU"]')
    except InputError as exc:
        raise InputError(exc.reason, source=source, field=exc.field, expected=exc.expected) from None
    return FactsTable(out, frozenset(a.upper() for a in alliance or ())), alliance is not None


def load_facts(path: str | Path, base: FactsTable | None = None) -> FactsTable:
    """`base` (the built-in facts by default) with a user's facts file laid over it."""
    p = Path(path)
    try:
        data = loads(p.read_bytes(), "facts")
    except FileNotFoundError:
        raise InputError("file not found", source=str(p), field="--facts", expected=_EXPECTED) from None
    except InputError as exc:
        raise InputError(exc.reason, source=str(p), field=exc.field, expected=exc.expected) from None
    table, named = parse_facts(data, str(p))
    return (base or builtin_facts()).merged(table, named)


@lru_cache(maxsize=1)
def builtin_facts() -> FactsTable:
    """The facts shipped with Aquila."""
    text = (resources.files("aquila") / "data" / "satellite_facts.json").read_text(encoding="utf-8")
    table, _ = parse_facts(json.loads(text), "aquila/data/satellite_facts.json")
    return table
