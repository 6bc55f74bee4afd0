"""Build `src/aquila/data/satellite_facts.json`: published facts per imaging satellite, keyed by NORAD id.

    .venv/bin/python tools/build_facts.py ../shared/data/tle/eo-sar_2026-03-19.tle

The built-in constellation's facts (`aquila.constellation.builtin`) come first; the other satellites
of the element file are matched by name to their family's published facts (operator mission pages:
sensor type, best GSD, field of regard or incidence band, look side). The file ships in the package;
nothing reads the element file at run time. Rerun when a family or the element file changes.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from aquila.constellation.builtin import BUILTIN_FACTS
from aquila.constellation.elements import load_elements
from aquila.security.nations import GROUPS

OUT = Path(__file__).resolve().parents[1] / "src" / "aquila" / "data" / "satellite_facts.json"

# The pledging alliance: NATO, the EU's own programme, and the Indo-Pacific partners.
ALLIANCE = sorted(set(GROUPS["NATO"]) | {"EU", "JPN", "KOR", "AUS", "NZL"})


def opt(gsd: float, fov: float, sun: float = 10.0) -> dict:
    return {"sensor": "optical", "gsd_nadir_m": gsd, "max_off_nadir_deg": fov, "min_sun_elevation_deg": sun,
            "look_side": "both"}


def sar(gsd: float, lo: float, hi: float, side: str = "both", squint: float | None = None) -> dict:
    d = {"sensor": "sar", "gsd_nadir_m": gsd, "incidence_deg": [lo, hi], "look_side": side}
    if squint is not None:
        d["squint_max_deg"] = squint
    return d


# name pattern -> (owner, operator, owner_kind, sensor facts)
FAMILIES: list[tuple[str, str, str, str, dict]] = [
    # agile spotlight satellites steer fore and aft (conservative published squint limits); the others
    # image at zero Doppler only
    (r"ICEYE", "FIN", "ICEYE", "commercial", sar(0.5, 15, 35, squint=15.0)),
    (r"CAPELLA", "USA", "Capella Space", "commercial", sar(0.5, 15, 45, squint=30.0)),
    (r"UMBRA", "USA", "Umbra", "commercial", sar(0.25, 15, 55, squint=30.0)),
    (r"QPS-SAR", "JPN", "iQPS", "commercial", sar(0.46, 15, 45, squint=15.0)),
    (r"STRIX", "JPN", "Synspective", "commercial", sar(1.0, 15, 45, squint=15.0)),
    (r"ALOS-4", "JPN", "JAXA", "national", sar(3.0, 8, 70, squint=0.0)),
    (r"SENTINEL-1", "EU", "ESA", "national", sar(5.0, 29.1, 46.0, "right", 0.0)),
    (r"SAOCOM", "ARG", "CONAE", "national", sar(10.0, 20, 50, "right", 0.0)),
    (r"KONDOR-FKA", "RUS", "Roscosmos", "national", sar(1.0, 20, 55, squint=0.0)),
    (r"GAOFEN-3", "CHN", "CNSA", "national", sar(1.0, 10, 60, squint=0.0)),
    (r"SUPERVIEW NEO-2", "CHN", "Siwei", "commercial", sar(0.5, 15, 45, squint=15.0)),
    (r"GAOFEN-11", "CHN", "CNSA", "national", opt(0.1, 30)),
    (r"JILIN-1", "CHN", "CGSTL", "commercial", opt(0.75, 30)),
    (r"SUPERVIEW", "CHN", "Siwei", "commercial", opt(0.5, 30)),
    (r"CARTOSAT-3", "IND", "ISRO", "national", opt(0.25, 45)),
    (r"CARTOSAT", "IND", "ISRO", "national", opt(0.65, 26)),
    (r"ARIRANG-2", "KOR", "KARI", "national", opt(1.0, 30)),
    (r"ARIRANG-3", "KOR", "KARI", "national", opt(0.7, 30)),
    (r"KOMPSAT-7", "KOR", "KARI", "national", opt(0.3, 30)),
    (r"GEOEYE", "USA", "Maxar", "commercial", opt(0.41, 40)),
    (r"WORLDVIEW-1", "USA", "Maxar", "commercial", opt(0.5, 45)),
    (r"WORLDVIEW-2", "USA", "Maxar", "commercial", opt(0.46, 45)),
    (r"SKYSAT", "USA", "Planet", "commercial", opt(0.5, 30)),
    (r"PELICAN", "USA", "Planet", "commercial", opt(0.4, 45)),
    (r"TANAGER", "USA", "Planet", "commercial", opt(30.0, 30)),
    (r"NUSAT", "USA", "Satellogic", "commercial", opt(0.7, 30)),
]


_AGILE = {"ICEYE": 15.0, "CAPELLA": 30.0, "UMBRA": 30.0}


def builtin_entry(f) -> dict:  # type: ignore[no-untyped-def]
    s = f.sensor
    squint = next((v for k, v in _AGILE.items() if f.name.startswith(k)), 0.0)
    sensor = opt(s.gsd_m, s.max_off_nadir_deg, s.min_sun_elevation_deg if s.min_sun_elevation_deg is not None
                 else 10.0) if s.type.value == "optical" else \
        sar(s.gsd_m, s.min_incidence_deg, s.max_incidence_deg,
            "right" if f.name.startswith("SENTINEL-1") else "both", squint)
    return {"norad_id": f.norad_id, "name": f.name, "owner": f.owner, "operator": f.operator,
            "owner_kind": f.kind.value, **sensor}


def main() -> None:
    entries = {f.norad_id: builtin_entry(f) for f in BUILTIN_FACTS}
    unmatched = []
    for es in load_elements(sys.argv[1]) if len(sys.argv) > 1 else []:
        if es.norad_id in entries:
            continue
        for pattern, owner, operator, kind, sensor in FAMILIES:
            if re.match(pattern, es.name):
                entries[es.norad_id] = {"norad_id": es.norad_id, "name": es.name, "owner": owner,
                                        "operator": operator, "owner_kind": kind, **sensor}
                break
        else:
            unmatched.append(es.name)
    doc = {"description": "Published facts of imaging satellites by NORAD id (see tools/build_facts.py); "
                          "owners in `alliance` pool their satellites",
           "alliance": ALLIANCE, "satellites": sorted(entries.values(), key=lambda e: e["norad_id"])}
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{len(entries)} satellites; unmatched: {unmatched}")


if __name__ == "__main__":
    main()
