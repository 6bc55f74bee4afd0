"""Earth and orbit constants, once: the WGS 84 ellipsoid and the gravity model SGP4 is paired with."""

from __future__ import annotations

import math

__all__ = ["WGS84_A_KM", "WGS84_F", "WGS84_B_KM", "WGS84_E2", "MU_EARTH_KM3_S2", "J2", "SECONDS_PER_DAY",
           "TROPICAL_YEAR_DAYS", "SUN_SYNCHRONOUS_RATE_RAD_S", "EARTH_MEAN_RADIUS_M"]

WGS84_A_KM = 6378.137  # equatorial radius
WGS84_F = 1.0 / 298.257223563  # flattening
WGS84_B_KM = WGS84_A_KM * (1.0 - WGS84_F)  # polar radius, 6356.752 km
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)  # first eccentricity squared
MU_EARTH_KM3_S2 = 398600.4418  # gravitational parameter
J2 = 1.08262668e-3  # second zonal harmonic
SECONDS_PER_DAY = 86400.0
EARTH_MEAN_RADIUS_M = 6_371_008.8  # IUGG mean radius R1: local planes and great circles at sea level
TROPICAL_YEAR_DAYS = 365.2421897
# the node drift of a sun-synchronous orbit
SUN_SYNCHRONOUS_RATE_RAD_S = 2 * math.pi / (TROPICAL_YEAR_DAYS * SECONDS_PER_DAY)
