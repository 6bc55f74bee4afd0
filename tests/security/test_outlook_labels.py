"""Labelled areas of interest in the collection outlook, as a hostile insider would read `GET /outlook`: an
area whose label does not release to the user leaves no trace — not its id, name or geometry, nor an
opportunity or heat-map cell over it — while an area without a label stays the operator's, for every user;
a malformed label stops the server at start, naming the area."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import shapely.geometry
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from aquila.constellation.builtin import builtin_constellation
from aquila.errors import AquilaError
from aquila.orbits.outlook import NO_AREAS_NOTE, Outlook, compute_outlook, instance_outlook
from aquila.orbits.targets import Target
from aquila.security.labels import Classification, Label
from aquila.security.policy import User, decide

START = datetime(2026, 3, 19, 0, 0, tzinfo=UTC)
SECRET = {"sec:classification": "NS", "sec:releasable_to": ["DEU", "POL"], "sec:caveats": [],
          "sec:originator": "DEU"}
BALTIC = {"sec:classification": "NR", "sec:releasable_to": ["NATO"], "sec:caveats": ["BALTIC"],
          "sec:originator": "EST"}
TARGETS = [Target("gotland", Point(19.6, 57.4), {"name": "East of Gotland"}),
           Target("zulu-anchorage", shapely.geometry.box(14.5, 54.8, 16.8, 55.9),
                  {"name": "Operation Zulu", **SECRET}),
           Target("narva-bay", Point(27.9, 59.5), {"name": "Narva Bay watch", **BALTIC})]
NAMES = {"zulu-anchorage": "Operation Zulu", "narva-bay": "Narva Bay watch"}


def _outlook(targets: list[Target]) -> Outlook:
    sats = [s for s in builtin_constellation(START) if s.name in ("SENTINEL-1A", "SENTINEL-2A", "TERRASAR-X", "RCM-1")]
    return compute_outlook(sats, targets, START, 24.0, workers=1)


@pytest.fixture(scope="module")
def outlook() -> Outlook:
    return _outlook(TARGETS)


def _counts(doc: dict, area: str) -> tuple[int, int]:  # type: ignore[type-arg]
    return (sum(f["properties"]["aoi"] == area for f in doc["opportunities"]["features"]),
            sum(f["properties"]["aoi"] == area for f in doc["revisit"]["features"]))


def test_the_full_outlook_covers_every_area(outlook: Outlook) -> None:
    full = outlook.as_dict()
    for t in TARGETS:  # so that a hidden area's absence below means something
        assert all(n > 0 for n in _counts(full, t.id)), t.id
    marked = {f["id"]: f["properties"] for f in full["aois"]["features"]}
    assert Label.from_properties(marked["zulu-anchorage"]) == Label.from_properties(SECRET)
    assert not any(k.startswith("sec:") for k in marked["gotland"])


@settings(max_examples=60, deadline=None)
@given(nation=st.sampled_from(["DEU", "POL", "EST", "FRA", "USA", "AUS"]),
       clearance=st.sampled_from(list(Classification)),
       caveats=st.frozensets(st.sampled_from(["BALTIC", "FVEY"])))
def test_a_user_sees_an_area_exactly_when_its_label_allows(outlook: Outlook, nation: str,
                                                          clearance: Classification,
                                                          caveats: frozenset[str]) -> None:
    user = User(nation, clearance, caveats, subject="hostile")
    full, (mine, withheld) = outlook.as_dict(), outlook.for_user(user)
    text = json.dumps(mine)
    shown = {f["id"] for f in mine["aois"]["features"]}
    for t in TARGETS:
        label = Label.from_properties(t.properties) if "sec:classification" in t.properties else None
        allowed = label is None or bool(decide(user, label))
        assert (t.id in shown) == allowed == (t.id not in withheld), (t.id, user)
        if allowed:  # everything of it, unchanged
            assert _counts(mine, t.id) == _counts(full, t.id)
        else:  # nothing of it, anywhere in the body
            assert _counts(mine, t.id) == (0, 0)
            assert t.id not in text and NAMES[t.id] not in text
    # the notes: those of the whole outlook while an area is left, those of an instance without areas if none is
    assert mine["notes"] == (full["notes"] if shown else [NO_AREAS_NOTE])
    assert "computed_s" not in mine  # the computing time grows with every area, hidden ones too


def test_what_a_user_sees_is_the_outlook_of_the_areas_it_may_read(outlook: Outlook) -> None:
    """The strongest form: EST's answer equals the outlook computed as if the hidden areas were never
    configured — same ids, same order, same cells — so nothing in it can count or place them."""
    alone = _outlook(TARGETS[:1]).as_dict()
    mine, _ = outlook.for_user(User("EST", Classification.NR, subject="est"))
    for key in ("aois", "opportunities", "revisit", "start", "end"):
        assert mine[key] == alone[key], key


def test_the_hidden_areas_do_not_use_up_the_footprints_of_the_visible_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """Footprints are capped per area: under one cap for all, windows over hidden areas earlier in time would
    leave a visible area's later windows bare (its own geometry instead of a swath) — a count of them."""
    import aquila.orbits.outlook as outlook_module

    monkeypatch.setattr(outlook_module, "FOOTPRINTS_PER_AREA", 1)
    deu = User("DEU", Classification.NS, subject="deu")  # sees Gotland and Zulu, not the BALTIC area
    mine, withheld = _outlook(TARGETS).for_user(deu)
    alone = _outlook(TARGETS[:2]).as_dict()
    assert set(withheld) == {"narva-bay"} and mine["opportunities"] == alone["opportunities"]
    areas = {t.id: shapely.geometry.mapping(t.geometry) for t in TARGETS}
    bare = [f for f in mine["opportunities"]["features"] if f["geometry"] == areas[f["properties"]["aoi"]]]
    swaths = len(mine["opportunities"]["features"]) - len(bare)
    assert bare and swaths == 2  # the cap did bite: one swath per area, the rest drawn as the area itself


def test_a_malformed_area_label_stops_the_server_at_start(tmp_path: Path) -> None:
    aois = tmp_path / "aois.geojson"
    aois.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "zulu", "geometry": {"type": "Point", "coordinates": [15.0, 55.0]},
         "properties": {"name": "Zulu", "sec:classification": "SECRETISH", "sec:originator": "DEU"}}]}))
    with pytest.raises(AquilaError) as info:
        instance_outlook(aois, tmp_path / "elements")
    assert "zulu" in str(info.value) and "sec:classification" in str(info.value)
