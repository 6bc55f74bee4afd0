"""Imaging windows: at every edge a sensor limit is met exactly (skyfield geometry, <= 0.01 deg)."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources

import numpy as np
import pytest
from skyfield.api import EarthSatellite, load_file, wgs84
from skyfield.framelib import itrs

from aquila.constellation.assets import Constellation, SensorType
from aquila.constellation.builtin import builtin_constellation
from aquila.orbits.access import AccessMode, compute_access
from aquila.orbits.frames import timescale, up_vector
from aquila.orbits.sun import sun_direction_ecef, sun_elevation_deg
from aquila.orbits.targets import TargetSet
from conftest import EPOCH, random_points

GEOM_TOL_DEG = 0.01
SUN_TOL_DEG = 0.03  # analytic Sun vs DE421


@pytest.fixture(scope="module")
def eph():  # type: ignore[no-untyped-def]
    # DE421 ships inside skyfield-data (its helper warns about its UT1 table's age, not this file's).
    kernel = load_file(str(resources.files("skyfield_data") / "data" / "de421.bsp"))
    yield kernel
    kernel.close()


def _geometry(sat, lat: float, lon: float, t):  # type: ignore[no-untyped-def]
    site = wgs84.latlon(lat, lon)
    el = (sat - site).at(t).altaz()[0].degrees
    r = sat.at(t).frame_xyz(itrs).km
    g = site.itrs_xyz.km
    d = g - r
    cos_eta = -np.dot(r, d) / (np.linalg.norm(r) * np.linalg.norm(d))
    return float(el), float(np.degrees(np.arccos(cos_eta)))


def test_imaging_window_edges_and_best_look_match_skyfield(eph) -> None:  # type: ignore[no-untyped-def]
    full = builtin_constellation(EPOCH)
    names = {"COSMO-SKYMED 1", "ICEYE-X2", "PLEIADES 1A", "SENTINEL-2A", "TERRASAR-X", "LEGION 3", "RCM-1"}
    c = Constellation([s for s in full if s.name in names])
    lat, lon = random_points(8, seed=21, max_abs_lat=70)
    res = compute_access(c, TargetSet.from_points(lat, lon), EPOCH, EPOCH + timedelta(hours=24),
                         mode=AccessMode.IMAGING, workers=1)
    assert len(res) > 20
    ts = timescale()
    earth, sun = eph["earth"], eph["sun"]
    t0 = ts.from_datetime(EPOCH)
    cols = res.columns
    kinds = set()
    for r in range(len(res)):
        s = res.satellites[int(cols["sat"][r])]
        sen = s.sensor
        if sen.type is SensorType.SAR:  # side-looking: windows are dwells at zero Doppler (test below)
            continue
        sat = EarthSatellite.from_satrec(s.elements.satrec, ts)
        j = int(cols["target"][r])
        limits = []
        for edge, clip in (("start_s", "start_clipped"), ("end_s", "end_clipped")):
            t = ts.tai_jd(t0.tai + cols[edge][r] / 86400.0)
            el, eta = _geometry(sat, lat[j], lon[j], t)
            # every constraint holds at the edge ...
            assert el >= res.min_elevation_deg - GEOM_TOL_DEG
            assert eta <= sen.max_off_nadir_deg + GEOM_TOL_DEG
            gaps = {"off_nadir": abs(eta - sen.max_off_nadir_deg), "elevation": abs(el - res.min_elevation_deg)}
            if sen.type is SensorType.SAR:
                inc = 90.0 - el
                assert sen.min_incidence_deg - GEOM_TOL_DEG <= inc <= sen.max_incidence_deg + GEOM_TOL_DEG
                gaps["incidence"] = min(abs(inc - sen.min_incidence_deg), abs(inc - sen.max_incidence_deg))
            if sen.type is SensorType.OPTICAL and sen.min_sun_elevation_deg is not None:
                site = earth + wgs84.latlon(lat[j], lon[j])
                sun_el = site.at(t).observe(sun).apparent().altaz()[0].degrees
                assert sun_el >= sen.min_sun_elevation_deg - SUN_TOL_DEG
                gaps["sun"] = abs(sun_el - sen.min_sun_elevation_deg) * GEOM_TOL_DEG / SUN_TOL_DEG
            if not cols[clip][r]:
                # ... and one of them is exactly at its limit: that is why the window opens or closes.
                which = min(gaps, key=gaps.get)  # type: ignore[arg-type]
                assert gaps[which] <= GEOM_TOL_DEG, (s.name, edge, gaps)
                kinds.add(which)
        t = ts.tai_jd(t0.tai + cols["culm_s"][r] / 86400.0)
        el, eta = _geometry(sat, lat[j], lon[j], t)
        assert abs(el - cols["max_elevation_deg"][r]) <= GEOM_TOL_DEG
        assert abs(eta - cols["min_off_nadir_deg"][r]) <= GEOM_TOL_DEG
        assert cols["best_gsd_m"][r] >= sen.gsd_m * 0.999
        del limits
    assert {"off_nadir", "sun"} <= kinds  # both kinds of limit were exercised


def _state(sat, lat: float, lon: float, t):  # type: ignore[no-untyped-def]
    """Satellite position and Earth-fixed velocity (km, km/s), and the site, from skyfield (ITRS)."""
    r, v = sat.at(t).frame_xyz_and_velocity(itrs)
    return r.km, v.km_per_s, wgs84.latlon(lat, lon).itrs_xyz.km


def test_sar_images_on_its_look_side_at_zero_doppler(eph) -> None:  # type: ignore[no-untyped-def]
    """Sentinel-1 looks right, at closest approach, within its incidence band; agile SAR stays within its
    squint limit; no SAR window is a squinted look before or after a broadside outside the band."""
    from aquila.orbits.sar import DWELL_S

    full = builtin_constellation(EPOCH)
    c = Constellation([s for s in full if s.name in {"SENTINEL-1A", "ICEYE-X2", "CAPELLA-14", "COSMO-SKYMED 1"}])
    assert {s.look_side for s in c if s.name == "SENTINEL-1A"} == {"right"}
    lat, lon = random_points(40, seed=5, max_abs_lat=75)
    res = compute_access(c, TargetSet.from_points(lat, lon), EPOCH, EPOCH + timedelta(hours=24),
                         mode=AccessMode.IMAGING, workers=1)
    ts = timescale()
    t_start = ts.from_datetime(EPOCH)
    cols = res.columns
    seen = set()
    for r in range(len(res)):
        s = res.satellites[int(cols["sat"][r])]
        sen, j = s.sensor, int(cols["target"][r])
        sat = EarthSatellite.from_satrec(s.elements.satrec, ts)
        at = lambda sec: ts.tai_jd(t_start.tai + sec / 86400.0)  # noqa: E731
        t0 = float(cols["culm_s"][r])
        p, v, g = _state(sat, lat[j], lon[j], at(t0))
        d = g - p
        # closest approach within a second: the range is no shorter a second either side
        rng = [np.linalg.norm(g - _state(sat, lat[j], lon[j], at(t0 + k))[0]) for k in (-1.0, 1.0)]
        assert np.linalg.norm(d) <= min(rng) + 1e-6, (s.name, r)
        assert abs(np.dot(d, v) / (np.linalg.norm(d) * np.linalg.norm(v))) < 1e-3  # squint at t0: ~0
        el, eta = _geometry(sat, lat[j], lon[j], at(t0))
        assert sen.min_incidence_deg - GEOM_TOL_DEG <= 90.0 - el <= sen.max_incidence_deg + GEOM_TOL_DEG
        assert eta <= sen.max_off_nadir_deg + GEOM_TOL_DEG
        right = np.dot(d, np.cross(-p / np.linalg.norm(p), v)) > 0
        if s.look_side == "right":
            assert right, (s.name, r)
        limit = s.squint_max_deg or 0.0
        assert cols["start_s"][r] <= t0 <= cols["end_s"][r]  # one window per pass, around its broadside
        if limit == 0.0:  # a radar that cannot squint: the dwell around zero Doppler
            assert cols["start_s"][r] <= t0 <= cols["end_s"][r] <= cols["start_s"][r] + 2 * DWELL_S + 1e-6
            seen.add(s.name)
            continue
        for edge in ("start_s", "end_s"):
            pe, ve, ge = _state(sat, lat[j], lon[j], at(float(cols[edge][r])))
            de = ge - pe
            sq = np.degrees(np.arcsin(abs(np.dot(de, ve)) / (np.linalg.norm(de) * np.linalg.norm(ve))))
            assert sq <= limit + GEOM_TOL_DEG, (s.name, edge, sq)
        seen.add(s.name)
    assert {"SENTINEL-1A", "ICEYE-X2"} <= seen


def test_analytic_sun_matches_de421(eph) -> None:  # type: ignore[no-untyped-def]
    ts = timescale()
    earth, sun = eph["earth"], eph["sun"]
    lat, lon = random_points(20, seed=4)
    rng = np.random.default_rng(2)
    offsets = rng.uniform(0, 365 * 86400, 20)
    from aquila.orbits.frames import TimeGrid

    grid = TimeGrid.build(EPOCH, EPOCH + timedelta(days=366), 60.0)
    whole, frac = grid.jd_utc_at(offsets)
    sun_ecef = sun_direction_ecef(whole + frac, grid.gmst_at(offsets))
    ours = sun_elevation_deg(up_vector(lat, lon), sun_ecef)
    t0 = ts.from_datetime(EPOCH)
    for k in range(20):
        t = ts.tai_jd(t0.tai + offsets[k] / 86400.0)
        ref = (earth + wgs84.latlon(lat[k], lon[k])).at(t).observe(sun).apparent().altaz()[0].degrees
        assert abs(ours[k] - ref) < 0.02
