"""The built-in constellation: published facts turned into consistent nominal orbits."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from skyfield.api import EarthSatellite, load_file

from aquila.constellation import BUILTIN_FACTS, builtin_constellation, sun_synchronous_inclination_deg
from aquila.orbits.frames import timescale

EPOCH = datetime(2026, 6, 1, tzinfo=UTC)


def test_catalogue_is_consistent() -> None:
    ids = [f.norad_id for f in BUILTIN_FACTS]
    assert len(ids) == len(set(ids))
    owners = {f.owner for f in BUILTIN_FACTS}
    assert {"FRA", "ITA", "DEU", "ESP", "CAN", "FIN", "USA", "TUR", "EU"} <= owners
    assert {f.kind.value for f in BUILTIN_FACTS} == {"national", "commercial"}
    assert {f.sensor.type.value for f in BUILTIN_FACTS} == {"optical", "sar"}


@pytest.mark.parametrize("alt_km,incl_deg", [(500, 97.40), (700, 98.19), (800, 98.60)])
def test_sun_synchronous_inclination(alt_km: float, incl_deg: float) -> None:
    # Reference values: Wertz, Space Mission Engineering (SMAD) sun-synchronous table.
    assert abs(sun_synchronous_inclination_deg(alt_km) - incl_deg) < 0.03


def test_nominal_orbits_keep_the_published_altitude_and_node_time() -> None:
    c = builtin_constellation(EPOCH)
    ts = timescale()
    kernel = load_file(str(resources.files("skyfield_data") / "data" / "de421.bsp"))
    try:
        earth, sun = kernel["earth"], kernel["sun"]
        for f, s in zip(BUILTIN_FACTS, c, strict=True):
            assert s.nominal and s.elements.epoch == EPOCH
            assert abs(s.elements.mean_altitude_km - f.altitude_km) < 25  # SGP4 mean vs Keplerian radius
            if f.ltan_h is None:
                continue
            sat = EarthSatellite.from_satrec(s.elements.satrec, ts)
            t = ts.from_datetime(EPOCH)
            grid = ts.tt_jd(t.tt + np.arange(0, 6000, 5.0) / 86400)
            z = sat.at(grid).position.km[2]
            k = int(np.flatnonzero((z[:-1] < 0) & (z[1:] >= 0))[0])
            node = sat.at(grid[k]).position.km
            ra_node = math.degrees(math.atan2(node[1], node[0]))
            ra_sun = earth.at(grid[k]).observe(sun).radec()[0].hours * 15
            ltan = (12 + (ra_node - ra_sun) / 15) % 24
            diff = (ltan - f.ltan_h + 12) % 24 - 12
            assert abs(diff) < 0.35, (f.name, ltan)  # true vs mean Sun: equation of time < 17 min
    finally:
        kernel.close()


_REAL_TLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "tle" / "eo-sar_2026-03-19.tle"


def _ltan_h(es) -> float:  # type: ignore[no-untyped-def]
    from aquila.constellation.nominal import mean_sun_right_ascension_deg

    return ((math.degrees(es.satrec.nodeo) - mean_sun_right_ascension_deg(es.epoch)) / 15.0 + 12.0) % 24.0


@pytest.mark.skipif(not _REAL_TLE.exists(), reason="shared element sets not present")
def test_nominal_node_local_times_match_the_real_element_sets() -> None:
    """Ascending, not descending: every sun-synchronous built-in satellite flies through its node at the
    real local time, within 30 minutes (a 12 h error would put its passes on the wrong side of the day)."""
    from aquila.constellation.builtin import BUILTIN_FACTS, builtin_constellation
    from aquila.constellation.elements import load_elements

    real = {e.norad_id: e for e in load_elements(_REAL_TLE)}
    checked = 0
    for f in BUILTIN_FACTS:
        es = real.get(f.norad_id)
        if es is None or f.ltan_h is None:
            continue
        nominal = builtin_constellation(es.epoch)[f.norad_id].elements
        diff_h = (_ltan_h(nominal) - _ltan_h(es) + 12.0) % 24.0 - 12.0
        assert abs(diff_h) <= 0.5, f"{f.name}: nominal node {_ltan_h(nominal):.2f} h, real {_ltan_h(es):.2f} h"
        checked += 1
    assert checked >= 45
