"""Library-level behaviour of compute_access: per-satellite errors, modes, coverage grids, plots."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sgp4.api import WGS72, Satrec

from aquila.constellation.assets import GENERIC_SENSOR, Constellation, OwnerKind, Satellite
from aquila.constellation.builtin import builtin_constellation
from aquila.constellation.elements import ElementSet
from aquila.errors import InputError, TimeWindowError
from aquila.orbits.access import AccessMode, compute_access
from aquila.orbits.coverage import coverage_grid, parse_bbox
from aquila.orbits.plots import plot_coverage, save_figure
from aquila.orbits.revisit import revisit_statistics
from aquila.orbits.targets import TargetSet
from conftest import EPOCH, generated_elements


def _decaying(epoch: datetime) -> ElementSet:
    """A 150 km orbit with enormous drag: SGP4 reports decay within hours."""
    sat = Satrec()
    epoch_1949 = (epoch - datetime(1949, 12, 31, tzinfo=UTC)).total_seconds() / 86400.0
    a = 6378.137 + 150
    sat.sgp4init(WGS72, "i", 99999, epoch_1949, 0.5, 0.0, 0.0, 0.001, 0.0, math.radians(51.6), 0.0,
                 math.sqrt(398600.4418 / a**3) * 60, 0.0)
    return ElementSet(99999, "DECAYING", sat, "test")


def _wrap(sets: list[ElementSet]) -> Constellation:
    return Constellation([Satellite(e.name, e.norad_id, "T", "t", OwnerKind.NATIONAL, GENERIC_SENSOR, e)
                          for e in sets])


def test_a_failing_satellite_is_reported_and_the_rest_computed() -> None:
    good = generated_elements(3)
    c = _wrap([good[0], _decaying(EPOCH), good[1], good[2]])
    pts = TargetSet.from_points(np.array([0.0, 45.0]), np.array([0.0, 10.0]))
    res = compute_access(c, pts, EPOCH, EPOCH + timedelta(days=2), workers=2)
    assert set(res.errors) == {99999} and "SGP4 error" in res.errors[99999]
    alone = compute_access(_wrap(good), pts, EPOCH, EPOCH + timedelta(days=2), workers=1)
    assert len(res) == len(alone) > 0
    assert np.allclose(np.sort(res.columns["start_s"]), np.sort(alone.columns["start_s"]))


def test_parallel_and_serial_runs_agree() -> None:
    c = _wrap(generated_elements(9))
    pts = TargetSet.from_points(np.array([10.0, -30.0, 60.0]), np.array([20.0, 150.0, -70.0]))
    a = compute_access(c, pts, EPOCH, EPOCH + timedelta(days=1), workers=1)
    b = compute_access(c, pts, EPOCH, EPOCH + timedelta(days=1), workers=2)
    for k in a.columns:
        assert np.array_equal(a.columns[k], b.columns[k]), k


def test_imaging_windows_lie_inside_visibility_at_zero_mask() -> None:
    c = builtin_constellation(EPOCH)
    pts = TargetSet.from_points(np.array([57.4, 45.3]), np.array([19.6, 36.5]))
    vis = compute_access(c, pts, EPOCH, EPOCH + timedelta(hours=12), min_elevation_deg=0.0, workers=2)
    img = compute_access(c, pts, EPOCH, EPOCH + timedelta(hours=12), mode=AccessMode.IMAGING, workers=2)
    assert 0 < len(img) < len(vis)
    V, Im = vis.columns, img.columns
    for k in range(len(img)):
        m = (V["sat"] == Im["sat"][k]) & (V["target"] == Im["target"][k])
        assert np.any((V["start_s"][m] <= Im["start_s"][k] + 1e-6) & (V["end_s"][m] >= Im["end_s"][k] - 1e-6))


@pytest.mark.parametrize("kwargs,error", [
    ({"min_elevation_deg": 95.0}, InputError),
    ({"step_s": 0.1}, InputError),
])
def test_bad_parameters(kwargs: dict, error: type) -> None:
    c = _wrap(generated_elements(1))
    with pytest.raises(error):
        compute_access(c, TargetSet.from_points(np.zeros(1), np.zeros(1)), EPOCH, EPOCH + timedelta(hours=1),
                       **kwargs)


def test_time_window_checks() -> None:
    c = _wrap(generated_elements(1))
    t = TargetSet.from_points(np.zeros(1), np.zeros(1))
    with pytest.raises(TimeWindowError, match="not after"):
        compute_access(c, t, EPOCH, EPOCH - timedelta(hours=1))
    with pytest.raises(TimeWindowError, match="days long"):
        compute_access(c, t, EPOCH, EPOCH + timedelta(days=3650))
    with pytest.raises(TimeWindowError, match="time zone"):
        compute_access(c, t, EPOCH.replace(tzinfo=None), EPOCH + timedelta(hours=1))


def test_coverage_grid_matches_point_statistics(tmp_path) -> None:  # type: ignore[no-untyped-def]
    c = _wrap(generated_elements(6))
    box = parse_bbox("10,50,14,54")
    grid = coverage_grid(list(c), box, 2.0, EPOCH, EPOCH + timedelta(days=1), workers=1)
    assert grid.max_gap_s.shape == (2, 2)
    lat, lon = grid.lat_deg[1], grid.lon_deg[0]
    point = compute_access(c, TargetSet.from_points(np.array([lat]), np.array([lon])), EPOCH,
                           EPOCH + timedelta(days=1), workers=1)
    (s,) = revisit_statistics(point)
    assert grid.max_gap_s[1, 0] == pytest.approx(s.max_gap_s, abs=1e-6)
    out = save_figure(plot_coverage(grid), tmp_path / "map.html")
    text = out.read_text()
    assert text.startswith("<!doctype html>") and "data:image/png;base64," in text
    with pytest.raises(InputError, match="bbox"):
        parse_bbox("14,50,10,54")
