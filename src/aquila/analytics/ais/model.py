"""AIS data as columns: position reports (one row each) and what vessels say about themselves.

Every reader (`read.py`) returns an `AisData`: numpy columns sorted by (MMSI, time), the static
facts per MMSI (name, ship type, length, width) and the counts of what was read and skipped, so a
user can see at once that 12 sentences failed their checksum rather than find fewer ships.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["AisData", "Vessel", "ReadStats", "SHIP_TYPES", "ship_type_name"]


@dataclass(frozen=True)
class Vessel:
    """Static and voyage data a vessel broadcasts (types 5, 19, 24) or a CSV row carries."""

    mmsi: int
    name: str = ""
    ship_type: int | None = None
    length_m: float | None = None
    width_m: float | None = None
    callsign: str = ""
    imo: int | None = None


@dataclass
class ReadStats:
    """What a reader saw: lines, decoded messages, and each kind of skip, counted."""

    lines: int = 0
    messages: int = 0
    positions: int = 0
    bad_checksum: int = 0
    malformed: int = 0
    empty_payload: int = 0
    incomplete_multipart: int = 0
    no_position: int = 0
    untimed: int = 0
    other_types: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)

    def merge(self, other: ReadStats) -> ReadStats:
        return ReadStats(**{k: v + getattr(other, k) for k, v in self.__dict__.items()})


@dataclass
class AisData:
    """Position reports as columns (sorted by MMSI, then time), the vessels' static data, the read counts.

    `time_s` is seconds since 1970-01-01 UTC; speeds in knots, courses and headings in degrees true,
    NaN where the vessel did not say (AIS's 102.3 kn, 360 deg, 511 deg "not available").
    """

    mmsi: np.ndarray
    time_s: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    sog_kn: np.ndarray
    cog_deg: np.ndarray
    heading_deg: np.ndarray
    vessels: dict[int, Vessel] = field(default_factory=dict)
    stats: ReadStats = field(default_factory=ReadStats)

    def __len__(self) -> int:
        return len(self.mmsi)

    @classmethod
    def from_columns(cls, mmsi: object, time_s: object, lat_deg: object, lon_deg: object, sog_kn: object = None,
                     cog_deg: object = None, heading_deg: object = None, vessels: dict[int, Vessel] | None = None,
                     stats: ReadStats | None = None) -> AisData:
        """Build from any sequences (missing speed/course/heading as NaN), sorted by (MMSI, time), exact
        duplicate reports dropped."""
        m = np.asarray(mmsi, dtype=np.int64)
        n = len(m)

        def col(x: object) -> np.ndarray:
            return np.full(n, np.nan) if x is None else np.asarray(x, dtype=np.float64)

        t, lat, lon, sog, cog, hdg = (col(x) for x in (time_s, lat_deg, lon_deg, sog_kn, cog_deg, heading_deg))
        order = np.lexsort((t, m))
        cols = [a[order] for a in (m, t, lat, lon, sog, cog, hdg)]
        if n > 1:  # the same report heard twice (two receivers, two files) counts once
            same = (cols[0][1:] == cols[0][:-1]) & (cols[1][1:] == cols[1][:-1]) & (cols[2][1:] == cols[2][:-1]) \
                & (cols[3][1:] == cols[3][:-1])
            keep = np.concatenate([[True], ~same])
            cols = [a[keep] for a in cols]
        st = stats or ReadStats()
        st.positions = len(cols[0])
        return cls(cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], vessels=dict(vessels or {}),
                   stats=st)

    @classmethod
    def concat(cls, parts: list[AisData]) -> AisData:
        """Several sources as one (a later source's static data fills what an earlier one lacks)."""
        vessels: dict[int, Vessel] = {}
        for p in parts:
            for k, v in p.vessels.items():
                old = vessels.get(k)
                vessels[k] = v if old is None else Vessel(
                    k, old.name or v.name, old.ship_type if old.ship_type is not None else v.ship_type,
                    old.length_m or v.length_m, old.width_m or v.width_m, old.callsign or v.callsign,
                    old.imo or v.imo)
        stats = ReadStats()
        for p in parts:
            stats = stats.merge(p.stats)
        cat = [np.concatenate([getattr(p, c) for p in parts]) if parts else np.zeros(0)
               for c in ("mmsi", "time_s", "lat_deg", "lon_deg", "sog_kn", "cog_deg", "heading_deg")]
        return cls.from_columns(cat[0], cat[1], cat[2], cat[3], cat[4], cat[5], cat[6], vessels=vessels, stats=stats)

    @property
    def vessel_ids(self) -> np.ndarray:
        """The distinct MMSIs with at least one position."""
        return np.unique(self.mmsi)


SHIP_TYPES = {2: "wing in ground", 3: "special", 30: "fishing", 31: "towing", 32: "towing (large)",
              33: "dredging", 34: "diving", 35: "military", 36: "sailing", 37: "pleasure craft",
              4: "high-speed craft", 5: "special", 50: "pilot", 51: "search and rescue", 52: "tug",
              53: "port tender", 55: "law enforcement", 58: "medical transport", 6: "passenger", 7: "cargo",
              8: "tanker", 9: "other"}


def ship_type_name(code: int | None) -> str:
    """ITU-R M.1371 ship and cargo type as words (the tens digit where the code itself has no name)."""
    if code is None or code <= 0:
        return "unknown"
    return SHIP_TYPES.get(code) or SHIP_TYPES.get(code // 10, "unknown")
