"""Nominal element sets generated from published orbit facts.

When no tracked elements are at hand, a satellite's orbit is rebuilt from what its operator
publishes: mean altitude, inclination (or "sun-synchronous"), and the local solar time of the
ascending node. The along-track phase is rarely published, so it is either given (sats sharing a
plane) or spread deterministically by NORAD id. Such elements are flagged `nominal`: they give the
right revisit statistics, not the right pass times. Load real elements with
`aquila constellation update` for operational use.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sgp4.api import WGS72, Satrec

from aquila.constants import J2, MU_EARTH_KM3_S2, SUN_SYNCHRONOUS_RATE_RAD_S, WGS84_A_KM
from aquila.constellation.elements import ElementSet

__all__ = ["sun_synchronous_inclination_deg", "nominal_elements", "mean_sun_right_ascension_deg"]

_GOLDEN_ANGLE_DEG = 137.50776405003785


def sun_synchronous_inclination_deg(altitude_km: float) -> float:
    """Inclination that makes a circular orbit's node precess with the mean Sun (J2 only)."""
    a = WGS84_A_KM + altitude_km
    n = math.sqrt(MU_EARTH_KM3_S2 / a**3)
    cos_i = -SUN_SYNCHRONOUS_RATE_RAD_S / (1.5 * n * J2 * (WGS84_A_KM / a) ** 2)
    return math.degrees(math.acos(cos_i))


def mean_sun_right_ascension_deg(when: datetime) -> float:
    """Right ascension of the mean Sun (its mean longitude), good to ~1 deg: enough to place a node."""
    d = (when - datetime(2000, 1, 1, 12, tzinfo=UTC)).total_seconds() / 86400.0
    return (280.46061837 + 0.98564736629 * d) % 360.0


def nominal_elements(norad_id: int, name: str, epoch: datetime, altitude_km: float,
                     inclination_deg: float | None = None, ltan_h: float | None = None,
                     raan_deg: float | None = None, phase_deg: float | None = None) -> ElementSet:
    """Circular SGP4 elements at `epoch` from published facts.

    `inclination_deg=None` means sun-synchronous. The node comes from `ltan_h` (local time of the
    ascending node, hours) or `raan_deg`; with neither it is spread by NORAD id.
    """
    if epoch.tzinfo is None:
        raise ValueError("epoch must be timezone-aware UTC")
    incl = sun_synchronous_inclination_deg(altitude_km) if inclination_deg is None else inclination_deg
    if raan_deg is None:
        if ltan_h is not None:
            raan_deg = (mean_sun_right_ascension_deg(epoch) + (ltan_h - 12.0) * 15.0) % 360.0
        else:
            raan_deg = (norad_id * _GOLDEN_ANGLE_DEG * 0.61803398875) % 360.0
    if phase_deg is None:
        phase_deg = (norad_id * _GOLDEN_ANGLE_DEG) % 360.0
    a = WGS84_A_KM + altitude_km
    n_rad_min = math.sqrt(MU_EARTH_KM3_S2 / a**3) * 60.0
    epoch_1949 = (epoch - datetime(1949, 12, 31, tzinfo=UTC)).total_seconds() / 86400.0
    sat = Satrec()
    sat.sgp4init(WGS72, "i", norad_id, epoch_1949, 0.0, 0.0, 0.0, 1e-4, 0.0, math.radians(incl),
                 math.radians(phase_deg), n_rad_min, math.radians(raan_deg))
    return ElementSet(norad_id, name, sat, source="nominal (published orbit facts)", nominal=True)
