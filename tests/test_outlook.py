"""The picture's collection outlook: every opportunity's footprint is ground its satellite can image during
the window, so it holds the target; the heat map's cells tile each area with gaps no longer than the period;
the background cache serves the last outlook, recomputes an old one, and reports a failure to its callers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import shapely.geometry
from shapely.geometry import Point, shape

from aquila.constellation.builtin import builtin_constellation
from aquila.orbits.access import AccessMode, compute_access
from aquila.orbits.outlook import Outlook, OutlookCache, compute_outlook
from aquila.orbits.targets import Target

START = datetime(2026, 3, 19, 0, 0, tzinfo=UTC)
TARGETS = [Target("gotland", Point(19.6, 57.4), {"name": "East of Gotland"}),
           Target("bornholm", shapely.geometry.box(14.5, 54.8, 16.8, 55.9), {"name": "Bornholm Basin"})]


@pytest.fixture(scope="module")
def sats() -> list:  # type: ignore[type-arg]
    c = list(builtin_constellation(START))
    return [s for s in c if s.name in ("SENTINEL-1A", "SENTINEL-2A", "TERRASAR-X", "RCM-1")] or c[:4]


@pytest.fixture(scope="module")
def outlook(sats: list) -> Outlook:  # type: ignore[type-arg]
    return compute_outlook(sats, TARGETS, START, 12.0, workers=1)


def test_each_opportunity_is_a_window_of_the_access_engine(outlook: Outlook, sats: list) -> None:  # type: ignore[type-arg]
    res = compute_access(sats, TARGETS, START, START + timedelta(hours=12), mode=AccessMode.IMAGING, workers=1)
    feats = outlook.opportunities["features"]
    assert len(feats) == len(res) > 0
    starts = sorted(f["properties"]["start"] for f in feats)
    assert starts == [f["properties"]["start"] for f in feats]  # in time order, as the timeline reads them
    assert {f["properties"]["satellite"] for f in feats} <= {s.name for s in sats}


def test_each_footprint_holds_its_target(outlook: Outlook) -> None:
    """The footprint is the band the sensor can point into while the target is in view: the target lies in it
    (within 2 km: the band's edges are sampled every 15 s, and simplified to ~1 km)."""
    geoms = {t.id: t.geometry for t in TARGETS}
    for f in outlook.opportunities["features"]:
        fp = shape(f["geometry"])
        assert fp.geom_type in ("Polygon", "MultiPolygon")
        assert fp.buffer(0.03).intersects(geoms[f["properties"]["aoi"]]), f["properties"]
        # and it is a strip, not the world: at most a few hundred km across
        w, s, e, n = fp.bounds
        assert e - w < 25 and n - s < 25


def test_the_heat_map_tiles_each_area(outlook: Outlook) -> None:
    cells = outlook.revisit["features"]
    by_aoi = {t.id: [c for c in cells if c["properties"]["aoi"] == t.id] for t in TARGETS}
    assert all(by_aoi.values())
    for t in TARGETS:
        for c in by_aoi[t.id]:
            gap = c["properties"]["max_gap_h"]
            assert gap is None or 0 <= gap <= 12.0 + 1e-6
            if not t.is_point:
                assert shape(c["geometry"]).intersects(t.geometry)
    union = shapely.union_all([shape(c["geometry"]) for c in by_aoi["bornholm"]])
    assert union.buffer(1e-7).covers(TARGETS[1].geometry)  # the cells cover the whole area
    assert outlook.as_dict()["aois"]["features"][0]["properties"]["name"] == "East of Gotland"


def test_no_areas_no_satellites_is_an_empty_outlook() -> None:
    o = compute_outlook([], [], START, 3.0)
    assert o.opportunities["features"] == [] and o.revisit["features"] == [] and o.aois["features"] == []


def test_the_cache_serves_recomputes_and_reports_failures() -> None:
    calls: list[datetime] = []
    fail = threading.Event()

    def compute(start: datetime) -> Outlook:
        calls.append(start)
        if fail.is_set():
            raise RuntimeError("constellation store unreadable")
        return compute_outlook([], [], start, 1.0)

    cache = OutlookCache(compute, refresh_s=3600)
    first = cache.get(10)
    assert first is not None and cache.get(10) is first and len(calls) == 1
    # an old outlook is served while a newer one is computed
    first.start -= timedelta(hours=2)
    assert cache.get(10) is first
    from conftest import poll_until

    assert poll_until(lambda: cache.get(10) is not first, 10)
    # a first computation that fails is reported to the caller, not hidden
    fail.set()
    broken = OutlookCache(compute)
    with pytest.raises(RuntimeError, match="unreadable"):
        broken.get(10)
