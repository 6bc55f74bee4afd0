"""GeoJSON targets: validation, and polygons accessible when any part is within reach."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from aquila.constellation.assets import GENERIC_SENSOR, Constellation, OwnerKind, Satellite
from aquila.errors import TargetError
from aquila.orbits.access import compute_access
from aquila.orbits.targets import TargetSet, parse_targets
from conftest import EPOCH, generated_elements


def _fc(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def _poly(fid: str, coords: list) -> dict:
    return {"type": "Feature", "id": fid, "properties": {}, "geometry": {"type": "Polygon", "coordinates": [coords]}}


def test_names_come_from_id_then_name() -> None:
    ts = parse_targets(_fc({"type": "Feature", "id": 7, "geometry": {"type": "Point", "coordinates": [1, 2]}},
                           {"type": "Feature", "properties": {"name": "x"},
                            "geometry": {"type": "Point", "coordinates": [1, 2]}}))
    assert [t.id for t in ts] == ["7", "x"]


@pytest.mark.parametrize("doc,field", [
    ([], "type"),
    (_fc(), "features"),
    (_fc({"type": "Feature", "id": "a", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}),
     "geometry"),
    (_fc(_poly("a", [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]])), "geometry"),
    (_fc(_poly("a", [[0, 0], [1, 0], [0, 0]])), "geometry"),
    (_fc({"type": "Feature", "id": "a", "geometry": {"type": "Point", "coordinates": [0, 0]}},
         {"type": "Feature", "id": "a", "geometry": {"type": "Point", "coordinates": [1, 0]}}), "id"),
])
def test_invalid_documents_name_the_field(doc: object, field: str) -> None:
    with pytest.raises(TargetError) as ei:
        parse_targets(doc, "aoi.geojson")
    assert ei.value.field is not None and field in ei.value.field
    assert str(ei.value).startswith("aoi.geojson: ") and "expected" in str(ei.value)


def test_polygon_windows_cover_its_points_windows() -> None:
    """A polygon is accessible whenever any of its points is: its windows contain every point's windows."""
    poly = _poly("box", [[10, 50], [14, 50], [14, 53], [10, 53], [10, 50]])
    pts = [(10.0, 50.0), (14.0, 53.0), (12.0, 51.5), (13.2, 50.4)]
    targets = parse_targets(_fc(poly))
    sets = generated_elements(6, seed=9)
    c = Constellation([Satellite(e.name, e.norad_id, "T", "t", OwnerKind.NATIONAL, GENERIC_SENSOR, e) for e in sets])
    end = EPOCH + timedelta(hours=24)
    rp = compute_access(c, targets, EPOCH, end, workers=1)
    rq = compute_access(c, TargetSet.from_points(np.array([p[1] for p in pts]), np.array([p[0] for p in pts])),
                        EPOCH, end, workers=1)
    assert len(rq) > 0
    P, Q = rp.columns, rq.columns
    for k in range(len(rq)):
        same = P["sat"] == Q["sat"][k]
        inside = same & (P["start_s"] <= Q["start_s"][k] + 0.5) & (P["end_s"] >= Q["end_s"][k] - 0.5)
        assert inside.any()
        assert P["max_elevation_deg"][inside].max() >= Q["max_elevation_deg"][k] - 1e-9
    # and polygon windows do not overlap for one satellite (they were merged)
    for s in np.unique(P["sat"]):
        m = P["sat"] == s
        st, en = P["start_s"][m], P["end_s"][m]
        assert np.all(st[1:] > en[:-1])


def _multi(fid: str, parts: list) -> dict:
    return {"type": "Feature", "id": fid, "properties": {},
            "geometry": {"type": "MultiPolygon", "coordinates": [[p] for p in parts]}}


@pytest.mark.parametrize("ring", [
    [[179, 60], [-179, 60], [-179, 62], [179, 62], [179, 60]],  # counter-clockwise
    [[179, 60], [179, 62], [-179, 62], [-179, 60], [179, 60]],  # clockwise
])
def test_a_polygon_across_the_antimeridian_is_split_not_read_as_a_band(ring: list) -> None:
    (t,) = parse_targets(_fc(_poly("dateline", ring)))
    assert t.geometry.geom_type == "MultiPolygon"
    assert sorted(g.bounds for g in t.geometry.geoms) == [(-180.0, 60.0, -179.0, 62.0), (179.0, 60.0, 180.0, 62.0)]
    assert t.geometry.area == pytest.approx(4.0)  # 2 x 2 degrees, not 358 x 2
    (away,) = parse_targets(_fc(_poly("away", [[9, 60], [11, 60], [11, 62], [9, 62], [9, 60]])))
    assert away.geometry.geom_type == "Polygon"  # nothing else is touched


def test_antimeridian_box_has_the_access_of_its_rfc7946_split_form() -> None:
    crossing = parse_targets(_fc(_poly("x", [[179, 60], [-179, 60], [-179, 62], [179, 62], [179, 60]])))
    split = parse_targets(_fc(_multi("x", [[[179, 60], [180, 60], [180, 62], [179, 62], [179, 60]],
                                           [[-180, 60], [-179, 60], [-179, 62], [-180, 62], [-180, 60]]])))
    band = parse_targets(_fc(_poly("x", [[-179, 60], [0, 60], [179, 60], [179, 62], [0, 62], [-179, 62],
                                         [-179, 60]])))  # what the box was misread as: 358 degrees wide
    sets = generated_elements(8, seed=4)
    c = Constellation([Satellite(e.name, e.norad_id, "T", "t", OwnerKind.NATIONAL, GENERIC_SENSOR, e) for e in sets])
    end = EPOCH + timedelta(hours=24)
    got, want, wide = (compute_access(c, t, EPOCH, end, workers=1) for t in (crossing, split, band))
    assert 0 < len(got) < len(wide)
    g, w = got.columns, want.columns
    assert len(got) == len(want)
    np.testing.assert_array_equal(g["sat"], w["sat"])
    np.testing.assert_allclose(g["start_s"], w["start_s"], atol=1.0)
    np.testing.assert_allclose(g["end_s"], w["end_s"], atol=1.0)


def test_longitude_beyond_180_is_refused_with_the_fix_named() -> None:
    with pytest.raises(TargetError) as ei:
        parse_targets(_fc(_poly("east", [[179, 0], [181, 0], [181, 2], [179, 2], [179, 0]])), "aoi.geojson")
    assert ei.value.field == "features[0].geometry.coordinates"
    assert "181 is -179" in str(ei.value)
