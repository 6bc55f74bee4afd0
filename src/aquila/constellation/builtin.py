"""The built-in virtual constellation: real allied and commercial imaging satellites.

Facts (NORAD id, owner nation, operator, sensor, nominal orbit) are taken from operators'
published mission descriptions. Orbits are *nominal* (see `aquila.constellation.nominal`) until
real element sets are loaded (`aquila constellation update --file gp.json`). Owner codes are
ISO 3166-1 alpha-3; `EU` stands for the European Union's Copernicus programme.

`ltan_h` is the local time of the *ascending* node. Operators often publish the descending one
(an optical satellite's "10:30 descending" is 22:30 ascending; a SAR's "dawn-dusk 06:00 ascending"
is 18:00 descending), and small satellites in rideshare orbits drift by hours a year; the values
here are those of the public element sets of 2026-03-19 (a test holds them within 30 min).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aquila.constellation.assets import Constellation, OwnerKind, Satellite, Sensor, SensorType
from aquila.constellation.nominal import nominal_elements

__all__ = ["SatelliteFacts", "BUILTIN_FACTS", "builtin_constellation"]

N, C = OwnerKind.NATIONAL, OwnerKind.COMMERCIAL


def _opt(gsd_m: float, for_deg: float, sun_deg: float = 10.0, mode: str = "") -> Sensor:
    return Sensor(SensorType.OPTICAL, gsd_m, for_deg, min_sun_elevation_deg=sun_deg, mode=mode)


def _sar(gsd_m: float, inc_min: float, inc_max: float, mode: str = "") -> Sensor:
    # Field of regard follows from the far edge of the incidence band (off-nadir < incidence).
    return Sensor(SensorType.SAR, gsd_m, max_off_nadir_deg=min(inc_max, 70.0), min_incidence_deg=inc_min,
                  max_incidence_deg=inc_max, mode=mode)


@dataclass(frozen=True)
class SatelliteFacts:
    """Published facts about one satellite; `inclination_deg=None` means sun-synchronous."""

    name: str
    norad_id: int
    owner: str
    operator: str
    kind: OwnerKind
    sensor: Sensor
    altitude_km: float
    ltan_h: float | None = None
    inclination_deg: float | None = None
    phase_deg: float | None = None


_PLEIADES = _opt(0.5, 47.0, mode="panchromatic 0.7 m native, 0.5 m product")
_NEO = _opt(0.3, 45.0, mode="panchromatic")
_SPOT = _opt(1.5, 45.0, mode="panchromatic")
_CSK = _sar(1.0, 20.0, 60.0, "spotlight")
_CSG = _sar(0.8, 20.0, 60.0, "spotlight-2")
_TSX = _sar(1.0, 20.0, 55.0, "high-resolution spotlight")
_RCM = _sar(3.0, 19.0, 58.0, "very high resolution")
_ICEYE = _sar(0.5, 15.0, 35.0, "spot")
_CAPELLA = _sar(0.5, 15.0, 45.0, "spotlight")
_UMBRA = _sar(0.25, 15.0, 55.0, "spotlight")
_LEGION = _opt(0.3, 45.0, mode="panchromatic 29 cm class")
_SKYSAT = _opt(0.5, 30.0, mode="panchromatic, resampled")

BUILTIN_FACTS: tuple[SatelliteFacts, ...] = (
    # France — Airbus Defence and Space (commercial) and DGA/CNES (national)
    SatelliteFacts("PLEIADES 1A", 38012, "FRA", "Airbus DS", C, _PLEIADES, 694.0, 22.5, phase_deg=0.0),
    SatelliteFacts("PLEIADES 1B", 39019, "FRA", "Airbus DS", C, _PLEIADES, 694.0, 22.5, phase_deg=180.0),
    SatelliteFacts("SPOT 6", 38755, "FRA", "Airbus DS", C, _SPOT, 694.0, 22.0, phase_deg=90.0),
    SatelliteFacts("SPOT 7", 40053, "FRA", "Airbus DS", C, _SPOT, 694.0, 21.75, phase_deg=270.0),
    SatelliteFacts("PLEIADES NEO 3", 48268, "FRA", "Airbus DS", C, _NEO, 620.0, 22.5, phase_deg=0.0),
    SatelliteFacts("PLEIADES NEO 4", 49070, "FRA", "Airbus DS", C, _NEO, 620.0, 22.5, phase_deg=180.0),
    SatelliteFacts("CSO-1", 43866, "FRA", "DGA/CNES", N, _opt(0.35, 45.0), 800.0, 22.5),
    # Italy — ASI / Ministry of Defence (dual use)
    SatelliteFacts("COSMO-SKYMED 1", 31598, "ITA", "ASI/MoD", N, _CSK, 619.6, 6.15, phase_deg=0.0),
    SatelliteFacts("COSMO-SKYMED 2", 32376, "ITA", "ASI/MoD", N, _CSK, 619.6, 5.75, phase_deg=90.0),
    SatelliteFacts("COSMO-SKYMED 3", 33412, "ITA", "ASI/MoD", N, _CSK, 619.6, 7.9, phase_deg=180.0),
    SatelliteFacts("COSMO-SKYMED 4", 37216, "ITA", "ASI/MoD", N, _CSK, 619.6, 5.75, phase_deg=270.0),
    SatelliteFacts("CSG-1", 44873, "ITA", "ASI/MoD", N, _CSG, 619.6, 5.75, phase_deg=45.0),
    SatelliteFacts("CSG-2", 51444, "ITA", "ASI/MoD", N, _CSG, 619.6, 5.75, phase_deg=225.0),
    SatelliteFacts("CSG-3", 67304, "ITA", "ASI/MoD", N, _CSG, 619.6, 5.75, phase_deg=135.0),
    # Germany — DLR / Airbus
    SatelliteFacts("TERRASAR-X", 31698, "DEU", "DLR/Airbus DS", N, _TSX, 514.0, 18.0, phase_deg=0.0),
    SatelliteFacts("TANDEM-X", 36605, "DEU", "DLR/Airbus DS", N, _TSX, 514.0, 18.0, phase_deg=0.5),
    # Spain — Hisdesat
    SatelliteFacts("PAZ", 43215, "ESP", "Hisdesat", N, _sar(1.0, 15.0, 60.0, "spotlight"), 514.0, 18.0,
                   phase_deg=180.0),
    # Canada — MDA (commercial) and CSA (national)
    SatelliteFacts("RADARSAT-2", 32382, "CAN", "MDA", C, _sar(1.0, 10.0, 60.0, "spotlight"), 798.0, 18.0),
    SatelliteFacts("RCM-1", 44322, "CAN", "CSA", N, _RCM, 600.0, 18.0, phase_deg=0.0),
    SatelliteFacts("RCM-2", 44324, "CAN", "CSA", N, _RCM, 600.0, 18.0, phase_deg=120.0),
    SatelliteFacts("RCM-3", 44323, "CAN", "CSA", N, _RCM, 600.0, 18.0, phase_deg=240.0),
    # Finland — ICEYE (commercial), several sun-synchronous planes
    *(SatelliteFacts(f"ICEYE-X{num}", nid, "FIN", "ICEYE", C, _ICEYE, 560.0, ltan)
      for num, nid, ltan in ((2, 43800, 21.15), (4, 44390, 19.3), (7, 46496, 14.95), (6, 46497, 16.7),
                             (11, 48918, 6.0), (21, 55049, 22.75), (30, 56947, 3.55), (25, 56963, 2.8),
                             (31, 58288, 22.5), (34, 58294, 23.3), (43, 60539, 22.65), (39, 60546, 22.65))),
    # United States — commercial SAR and optical, and USGS/NASA Landsat
    *(SatelliteFacts(f"CAPELLA-{num}", nid, "USA", "Capella Space", C, _CAPELLA, 640.0, None, incl, None)
      for num, nid, incl in ((13, 60419, 53.0), (14, 59444, 45.6), (15, 60544, 97.7))),
    *(SatelliteFacts(f"UMBRA-{num:02d}", nid, "USA", "Umbra", C, _UMBRA, 525.0, ltan)
      for num, nid, ltan in ((7, 58297, 21.4), (9, 60541, 23.15), (10, 60547, 23.15), (11, 66748, 22.45))),
    SatelliteFacts("LEGION 1", 59625, "USA", "Maxar", C, _LEGION, 518.0, 22.5, phase_deg=0.0),
    SatelliteFacts("LEGION 2", 59626, "USA", "Maxar", C, _LEGION, 518.0, 22.5, phase_deg=180.0),
    SatelliteFacts("LEGION 3", 60452, "USA", "Maxar", C, _LEGION, 518.0, None, 45.0, 0.0),
    SatelliteFacts("LEGION 4", 60453, "USA", "Maxar", C, _LEGION, 518.0, None, 45.0, 180.0),
    SatelliteFacts("LEGION 5", 62900, "USA", "Maxar", C, _LEGION, 518.0, None, 45.0, 90.0),
    SatelliteFacts("LEGION 6", 62901, "USA", "Maxar", C, _LEGION, 518.0, None, 45.0, 270.0),
    SatelliteFacts("WORLDVIEW-3", 40115, "USA", "Maxar", C, _opt(0.31, 45.0), 617.0, 22.5),
    *(SatelliteFacts(f"SKYSAT-C{num}", nid, "USA", "Planet", C, _SKYSAT, 500.0, ltan)
      for num, nid, ltan in ((1, 41601, 19.85), (2, 41773, 19.15), (3, 41774, 19.75), (6, 42992, 2.55),
                             (7, 42991, 2.55), (8, 42990, 2.45))),
    SatelliteFacts("LANDSAT 8", 39084, "USA", "USGS/NASA", N, _opt(15.0, 7.5, mode="panchromatic"), 705.0,
                   22.0, phase_deg=0.0),
    SatelliteFacts("LANDSAT 9", 49260, "USA", "USGS/NASA", N, _opt(15.0, 7.5, mode="panchromatic"), 705.0,
                   22.0, phase_deg=180.0),
    # United Kingdom — SSTL
    SatelliteFacts("NOVASAR 1", 43619, "GBR", "SSTL", C, _sar(6.0, 15.0, 35.0, "stripmap"), 580.0, 9.15),
    # Türkiye — Ministry of National Defence / TÜBİTAK
    SatelliteFacts("GOKTURK 1A", 41875, "TUR", "MoND", N, _opt(0.5, 45.0), 695.0, 22.5),
    SatelliteFacts("GOKTURK 2", 39030, "TUR", "TUBITAK UZAY", N, _opt(2.5, 30.0), 686.0, 22.5),
    # European Union — Copernicus (ESA operates)
    SatelliteFacts("SENTINEL-1A", 39634, "EU", "ESA", N, _sar(5.0, 29.0, 46.0, "interferometric wide"), 693.0,
                   18.0, phase_deg=0.0),
    SatelliteFacts("SENTINEL-1C", 62261, "EU", "ESA", N, _sar(5.0, 29.0, 46.0, "interferometric wide"), 693.0,
                   18.0, phase_deg=180.0),
    SatelliteFacts("SENTINEL-2A", 40697, "EU", "ESA", N, _opt(10.0, 10.3, mode="multispectral"), 786.0, 22.5,
                   phase_deg=0.0),
    SatelliteFacts("SENTINEL-2B", 42063, "EU", "ESA", N, _opt(10.0, 10.3, mode="multispectral"), 786.0, 22.5,
                   phase_deg=180.0),
    SatelliteFacts("SENTINEL-2C", 60989, "EU", "ESA", N, _opt(10.0, 10.3, mode="multispectral"), 786.0, 22.5,
                   phase_deg=90.0),
    # Allied partners — Republic of Korea (KARI) and Japan (JAXA)
    SatelliteFacts("KOMPSAT-3A", 40536, "KOR", "KARI", N, _opt(0.55, 30.0), 528.0, 16.45),
    SatelliteFacts("KOMPSAT-5", 39227, "KOR", "KARI", N, _sar(1.0, 20.0, 55.0, "high resolution"), 550.0, 5.95),
    SatelliteFacts("ALOS-2", 39766, "JPN", "JAXA", N, _sar(1.0, 8.0, 70.0, "spotlight"), 628.0, 0.0),
)


def builtin_constellation(epoch: datetime | None = None) -> Constellation:
    """The built-in constellation with nominal elements at `epoch` (default: now, UTC)."""
    when = epoch or datetime.now(UTC)
    if when.tzinfo is None:
        raise ValueError("epoch must be timezone-aware UTC")
    from aquila.constellation.facts import builtin_facts

    table = builtin_facts()
    sats = []
    for f in BUILTIN_FACTS:
        es = nominal_elements(f.norad_id, f.name, when, f.altitude_km, f.inclination_deg, f.ltan_h,
                              phase_deg=f.phase_deg)
        published = table.get(f.norad_id)
        side = published.look_side if published is not None else "both"
        squint = published.squint_max_deg if published is not None else None
        sats.append(Satellite(f.name, f.norad_id, f.owner, f.operator, f.kind, f.sensor, es,
                              table.is_ally(f.owner), side, squint))
    return Constellation(sats)
