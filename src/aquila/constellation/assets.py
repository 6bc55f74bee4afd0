"""Satellites of the virtual constellation: owner, operator, kind and sensor, plus elements."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from aquila.constellation.elements import ElementSet, load_elements, newest_per_norad, parse_omm, parse_tle
from aquila.errors import InputError

__all__ = ["SensorType", "OwnerKind", "Sensor", "Satellite", "Constellation", "GENERIC_SENSOR"]


class SensorType(str, Enum):
    OPTICAL = "optical"
    SAR = "sar"


class OwnerKind(str, Enum):
    NATIONAL = "national"
    COMMERCIAL = "commercial"


@dataclass(frozen=True)
class Sensor:
    """Imaging geometry of a payload.

    `max_off_nadir_deg` is the field of regard (how far from nadir the sensor can point, measured
    at the satellite from the geocentric nadir). SAR images only between `min_incidence_deg` and
    `max_incidence_deg` (incidence measured at the target from its local vertical); optical only
    when the Sun is at least `min_sun_elevation_deg` above the target's horizon.
    """

    type: SensorType
    gsd_m: float
    max_off_nadir_deg: float
    min_incidence_deg: float = 0.0
    max_incidence_deg: float = 90.0
    min_sun_elevation_deg: float | None = None
    mode: str = ""
    reference_incidence_deg: float | None = None
    """SAR: the incidence the catalogue GSD refers to (default: the middle of the band)."""

    def __post_init__(self) -> None:
        if self.gsd_m <= 0:
            raise InputError(f"{self.gsd_m} m", field="gsd_m", expected="a positive ground sample distance in metres")
        if not 0 < self.max_off_nadir_deg < 90:
            raise InputError(f"{self.max_off_nadir_deg} deg", field="max_off_nadir_deg", expected="0 < angle < 90 deg")
        if not 0 <= self.min_incidence_deg < self.max_incidence_deg <= 90:
            raise InputError(f"{self.min_incidence_deg}..{self.max_incidence_deg} deg", field="incidence band",
                             expected="0 <= min_incidence_deg < max_incidence_deg <= 90")
        if self.min_sun_elevation_deg is not None and not -90 <= self.min_sun_elevation_deg <= 90:
            raise InputError(f"{self.min_sun_elevation_deg} deg", field="min_sun_elevation_deg",
                             expected="-90..90 deg")

    def gsd_at(self, slant_range_km: np.ndarray, altitude_km: np.ndarray, incidence_deg: np.ndarray) -> np.ndarray:
        """Ground sample distance of looks (vectorised).

        Optical: nadir GSD scaled by slant range over altitude, and by 1/sqrt(cos incidence)
        (geometric mean of the along-track 1x and cross-track 1/cos stretch). SAR: ground-range
        resolution is the slant resolution over sin(incidence), with the catalogue GSD taken at the
        middle of the incidence band; never better than the catalogue figure.
        """
        inc = np.asarray(incidence_deg, dtype=float)
        if self.type is SensorType.OPTICAL:
            cosi = np.maximum(np.cos(np.radians(inc)), 1e-3)
            return self.gsd_m * (np.asarray(slant_range_km) / np.asarray(altitude_km)) / np.sqrt(cosi)
        ref = self.reference_incidence_deg
        mid = math.radians(0.5 * (self.min_incidence_deg + self.max_incidence_deg) if ref is None else ref)
        return self.gsd_m * np.maximum(math.sin(mid) / np.sin(np.radians(np.maximum(inc, 1.0))), 1.0)


GENERIC_SENSOR = Sensor(SensorType.OPTICAL, gsd_m=1.0, max_off_nadir_deg=30.0, min_sun_elevation_deg=10.0,
                        mode="generic (no sensor facts known)")


@dataclass(frozen=True)
class Satellite:
    """One satellite of the virtual constellation."""

    name: str
    norad_id: int
    owner: str
    operator: str
    kind: OwnerKind
    sensor: Sensor
    elements: ElementSet
    ally: bool = True
    """Pooled with the alliance (counts in pooled and per-nation figures); False for other owners and unknowns."""
    look_side: str = "both"
    squint_max_deg: float | None = None

    @classmethod
    def from_tle(cls, line1: str, line2: str, name: str | None = None, *, owner: str = "UNK",
                 operator: str = "unknown", kind: OwnerKind = OwnerKind.NATIONAL,
                 sensor: Sensor = GENERIC_SENSOR) -> Satellite:
        """Build from a two-line element set (validated: checksum, format, ranges)."""
        text = (f"{name}\n" if name else "") + f"{line1}\n{line2}\n"
        (es,) = parse_tle(text)
        return cls(es.name, es.norad_id, owner, operator, kind, sensor, es)

    @classmethod
    def from_omm(cls, record: dict | str, *, owner: str = "UNK", operator: str = "unknown",
                 kind: OwnerKind = OwnerKind.NATIONAL, sensor: Sensor = GENERIC_SENSOR) -> Satellite:
        """Build from one OMM record: a dict of OMM keys, or OMM JSON/XML/CSV text holding one record."""
        from aquila.constellation.elements import parse_omm_records

        sets = parse_omm_records([record]) if isinstance(record, dict) else parse_omm(record)
        if len(sets) != 1:
            raise InputError(f"{len(sets)} records", field="OMM", expected="exactly one OMM record")
        es = sets[0]
        return cls(es.name, es.norad_id, owner, operator, kind, sensor, es)

    def with_elements(self, elements: ElementSet) -> Satellite:
        return replace(self, elements=elements)

    @property
    def nominal(self) -> bool:
        return self.elements.nominal


@dataclass
class Constellation:
    """An ordered collection of satellites, addressable by NORAD id."""

    satellites: list[Satellite] = field(default_factory=list)
    left_out: list[ElementSet] = field(default_factory=list)
    """Element sets given but not used: no facts known for them (see `from_element_sets`)."""
    errors: list[InputError] = field(default_factory=list)

    def __iter__(self) -> Iterator[Satellite]:
        return iter(self.satellites)

    def __len__(self) -> int:
        return len(self.satellites)

    def __getitem__(self, norad_id: int) -> Satellite:
        for s in self.satellites:
            if s.norad_id == norad_id:
                return s
        raise KeyError(norad_id)

    @property
    def owners(self) -> list[str]:
        return sorted({s.owner for s in self.satellites})

    def by_owner(self, owner: str) -> Constellation:
        return Constellation([s for s in self.satellites if s.owner == owner])

    def select(self, norad_ids: Iterable[int]) -> Constellation:
        ids = set(norad_ids)
        return Constellation([s for s in self.satellites if s.norad_id in ids])

    def stale(self, at: datetime, max_age_days: float) -> list[Satellite]:
        """Satellites whose (tracked) elements are older than `max_age_days` at `at`."""
        return [s for s in self.satellites if not s.nominal and s.elements.age_days(at) > max_age_days]

    def update_elements(self, sets: Sequence[ElementSet]) -> tuple[int, list[ElementSet]]:
        """Replace elements by NORAD id; return (number updated, sets that matched no satellite)."""
        by_id = {es.norad_id: es for es in newest_per_norad(sets)}
        updated = 0
        for i, sat in enumerate(self.satellites):
            es = by_id.pop(sat.norad_id, None)
            if es is not None:
                self.satellites[i] = sat.with_elements(
                    ElementSet(es.norad_id, sat.name, es.satrec, es.source, False))
                updated += 1
        return updated, list(by_id.values())

    @classmethod
    def from_element_sets(cls, sets: Iterable[ElementSet], *, known: Constellation | None = None,
                          facts: Any = None, include_unknown: bool = False) -> Constellation:
        """Satellites for element sets, with their facts (owner, sensor) by NORAD id.

        Facts come from `facts` (a `FactsTable`; the built-in one by default), or from `known` for a
        satellite it holds. One without facts is left out (`left_out`), or with `include_unknown`
        taken as a generic optical sensor owned by `UNKNOWN` and never an ally.
        """
        from aquila.constellation.facts import UNKNOWN_OWNER, builtin_facts

        table = facts if facts is not None else builtin_facts()
        known_sats = {s.norad_id: s for s in known} if known is not None else {}
        sats, left_out = [], []
        for es in newest_per_norad(sets):
            f = table.get(es.norad_id)
            k = known_sats.get(es.norad_id)
            if f is not None:
                sats.append(Satellite(es.name, es.norad_id, f.owner, f.operator, f.owner_kind, f.sensor, es,
                                      table.is_ally(f.owner), f.look_side, f.squint_max_deg))
            elif k is not None:
                sats.append(k.with_elements(es))
            elif include_unknown:
                sats.append(Satellite(es.name, es.norad_id, UNKNOWN_OWNER, "unknown", OwnerKind.NATIONAL,
                                      GENERIC_SENSOR, es, ally=False))
            else:
                left_out.append(es)
        return cls(sats, left_out)

    @classmethod
    def from_files(cls, paths: Iterable[str | Path], *, known: Constellation | None = None, facts: Any = None,
                   include_unknown: bool = False) -> Constellation:
        sets: list[ElementSet] = []
        for p in paths:
            sets.extend(load_elements(p))
        return cls.from_element_sets(sets, known=known, facts=facts, include_unknown=include_unknown)
