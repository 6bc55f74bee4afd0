"""Field-of-regard swaths on the maps, checked with skyfield's geometry: their edges sit at the sensor's limits
(optical off-nadir; SAR incidence on its look side, broadside), and every imaging opportunity of the first
orbit lies inside its satellite's swath."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import shapely
from skyfield.api import EarthSatellite, wgs84

from aquila.constellation.builtin import builtin_constellation
from aquila.orbits.access import AccessMode, compute_access
from aquila.orbits.footprints import swaths
from aquila.orbits.frames import timescale
from aquila.orbits.targets import TargetSet
from conftest import EPOCH

NAMES = ("SENTINEL-1A", "SENTINEL-2A", "ICEYE-X2")
MINUTES = 100.0


def _constellation() -> list:
    return [s for s in builtin_constellation(EPOCH) if s.name in NAMES]


def _angles(sat, times_s: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, ...]:
    """(off-nadir, incidence, along-track look angle, side: +1 right) for looks at the ground points, by skyfield."""
    ts = timescale()
    es = EarthSatellite.from_satrec(sat.elements.satrec, ts)
    t = ts.from_datetime(EPOCH + timedelta(seconds=0)) + times_s / 86400.0
    pos = es.at(t)
    from skyfield.framelib import itrs

    r, v = pos.frame_xyz_and_velocity(itrs)
    r, v = r.km.T, v.km_per_s.T
    g = wgs84.latlon(lat, lon).itrs_xyz.km.T
    look = g - r
    look /= np.linalg.norm(look, axis=1, keepdims=True)
    up = r / np.linalg.norm(r, axis=1, keepdims=True)
    normal = np.column_stack([np.cos(np.radians(lat)) * np.cos(np.radians(lon)),
                              np.cos(np.radians(lat)) * np.sin(np.radians(lon)), np.sin(np.radians(lat))])
    off = np.degrees(np.arccos(np.clip(-np.sum(look * up, axis=1), -1, 1)))
    inc = np.degrees(np.arccos(np.clip(-np.sum(look * normal, axis=1), -1, 1)))
    vhat = v / np.linalg.norm(v, axis=1, keepdims=True)
    squint = np.degrees(np.arcsin(np.clip(np.sum(look * vhat, axis=1), -1, 1)))
    side = np.sign(np.sum(look * np.cross(v, r), axis=1))
    return off, inc, squint, side


def test_swath_edges_sit_at_the_sensor_limits_by_skyfield() -> None:
    from aquila.orbits.footprints import _off_nadir_for_incidence, _states, edge_points

    c = _constellation()
    res = compute_access(c, TargetSet.from_points([0.0], [0.0]), EPOCH, EPOCH + timedelta(hours=2), workers=1,
                         mode=AccessMode.IMAGING)
    grid, states = _states(res, MINUTES, 30.0)
    from aquila.orbits.frames import ecef_to_geodetic

    for i, sat in enumerate(res.satellites):
        r, v = states.r[i], states.v[i]
        if sat.sensor.type.value == "optical":
            edges = [(edge_points(r, v, sat.sensor.max_off_nadir_deg, s)[0], s, None) for s in (1.0, -1.0)]
        else:
            edges = [(edge_points(r, v, _off_nadir_for_incidence(r, v, inc, 1.0), 1.0)[0], 1.0, inc)
                     for inc in (sat.sensor.min_incidence_deg, sat.sensor.max_incidence_deg)]
        for ground, side, inc_limit in edges:
            lat, lon, h = ecef_to_geodetic(ground)
            assert np.abs(h).max() < 1e-3  # on the ellipsoid (km)
            off, inc, squint, sides = _angles(sat, grid.seconds, lon, lat)
            assert np.all(sides == side) and np.abs(squint).max() < 0.05  # its side, broadside
            if inc_limit is None:
                assert np.abs(off - sat.sensor.max_off_nadir_deg).max() < 0.02
            else:
                assert np.abs(inc - inc_limit).max() < 0.02


def test_imaging_opportunities_of_the_first_orbit_lie_inside_the_swath() -> None:
    c = _constellation()
    rng = np.random.default_rng(7)
    lat = rng.uniform(-80, 80, 3000)
    lon = rng.uniform(-180, 180, 3000)
    res = compute_access(c, TargetSet.from_points(lat, lon), EPOCH, EPOCH + timedelta(minutes=MINUTES), workers=1,
                         mode=AccessMode.IMAGING)
    sw = swaths(res, MINUTES, 30.0)
    assert {s.satellite for s in sw} == set(NAMES)
    assert all(s.polygon.is_valid and s.polygon.bounds[0] >= -180 and s.polygon.bounds[2] <= 180 for s in sw)
    s1 = {s.side for s in sw if s.satellite == "SENTINEL-1A"}
    assert s1 == {"right"}  # Sentinel-1 looks right only
    cols = res.columns
    checked = 0
    for k in np.flatnonzero((cols["culm_s"] > 60) & (cols["culm_s"] < MINUTES * 60 - 60)):
        sat = res.satellites[int(cols["sat"][k])]
        union = shapely.union_all([s.polygon for s in sw if s.satellite == sat.name]).buffer(0.05)
        point = shapely.Point(lon[cols["target"][k]], lat[cols["target"][k]])
        assert union.contains(point), (sat.name, point)
        checked += 1
    assert checked > 50
