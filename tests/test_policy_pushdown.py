"""The rule pushed into SQL returns exactly the set `decide` allows: across pages, counts and order."""

from __future__ import annotations

import tempfile
from datetime import UTC
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aquila.catalog import CatalogStore, SearchQuery, validate_collection, validate_item
from aquila.security.labels import Classification, Label
from aquila.security.policy import User, decide_item
from library_helpers import collection, item

NATIONS = ["FRA", "DEU", "ITA", "USA", "GBR", "EST"]
REL = NATIONS + ["NATO", "FVEY", "EU", "AUS"]
CAVEATS = ["BALTIC", "ORCON", "SIGINT"]

label_st = st.tuples(st.sampled_from(list(Classification)), st.sampled_from(NATIONS),
                     st.lists(st.sampled_from(REL), max_size=3, unique=True),
                     st.lists(st.sampled_from(CAVEATS), max_size=2, unique=True))
user_st = st.builds(User, nation=st.sampled_from(NATIONS + ["AUS", "JPN"]),
                    clearance=st.sampled_from(list(Classification)),
                    caveats=st.frozensets(st.sampled_from(CAVEATS + ["OTHER"]), max_size=3))
query_st = st.fixed_dictionaries({
    "limit": st.integers(1, 7),
    "sort": st.sampled_from([[], [("cloud", "asc")], [("cloud", "desc"), ("id", "asc")], [("datetime", "desc")]]),
    "cloud_max": st.one_of(st.none(), st.integers(0, 100)),
    "bbox": st.one_of(st.none(), st.just((0.0, 0.0, 20.0, 20.0))),
})


COLLECTIONS = {"c": collection("c", cls="NU", rel=["NATO"]), "d": collection("d", cls="NC", rel=["FRA", "DEU", "EST"]),
               "e": collection("e", cls="NR", rel=["FVEY"], orig="USA")}


def _store(labels: list[tuple]) -> tuple[CatalogStore, dict[str, Label], dict[str, dict]]:
    store = CatalogStore(Path(tempfile.mkdtemp()) / "c.db")
    for doc in COLLECTIONS.values():
        store.put_collection(doc, create=True)
    rows, by_id, docs = [], {}, {}
    for k, (cls, orig, rel, cav) in enumerate(labels):
        d = item(f"i{k:03d}", "cde"[k % 3], cls=cls.name, rel=rel, cav=cav, orig=orig, lon=float(k % 30),
                 lat=float(k % 25), dt=f"2026-03-{1 + k % 28:02d}T00:00:00Z", cloud=(k * 37) % 101)
        rows.append(validate_item(d))
        by_id[d["id"]] = rows[-1].label
        docs[d["id"]] = rows[-1].doc
    store.add_items(rows)
    return store, by_id, docs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(label_st, min_size=1, max_size=40), st.lists(user_st, min_size=1, max_size=3), query_st)
def test_search_returns_exactly_what_the_rule_allows(labels: list[tuple], users: list[User], q: dict) -> None:
    store, by_id, docs = _store(labels)
    coll_labels = {cid: validate_collection(doc).label for cid, doc in COLLECTIONS.items()}
    for u in users:
        filt = None if q["cloud_max"] is None else {"op": "<=", "args": [{"property": "cloud"}, q["cloud_max"]]}
        seen: list[str] = []
        offset = 0
        matched = None
        while True:
            page = store.search(u, SearchQuery(bbox=q["bbox"], filter=filt, sortby=q["sort"], limit=q["limit"],
                                               offset=offset))
            matched = page.matched if matched is None else matched
            assert page.matched == matched  # counts do not move between pages
            seen += [f["id"] for f in page.features]
            if page.next_offset is None:
                break
            offset = page.next_offset
        expected = set()
        for iid, lab in by_id.items():
            d = docs[iid]
            if not decide_item(u, lab, coll_labels[d["collection"]]):  # the item's and its collection's label
                continue
            if q["cloud_max"] is not None and d["properties"]["cloud"] > q["cloud_max"]:
                continue
            if q["bbox"] is not None:
                x, y = d["geometry"]["coordinates"]
                if not (0 <= x <= 20 and 0 <= y <= 20):
                    continue
            expected.add(iid)
        assert len(seen) == len(set(seen))  # no item twice across pages
        assert set(seen) == expected
        assert matched == len(expected)  # numberMatched leaks nothing
        if q["sort"] == [("cloud", "asc")]:
            clouds = [docs[i]["properties"]["cloud"] for i in seen]
            assert clouds == sorted(clouds)
    store.close()


def test_collections_follow_the_same_rule(tmp_path: Path) -> None:
    store = CatalogStore(tmp_path / "c.db")
    store.put_collection(collection("open", cls="NU", rel=["NATO"]), create=True)
    store.put_collection(collection("secret", cls="NS", rel=["FRA"]), create=True)
    deu = User("DEU", Classification.CTS)
    fra = User("FRA", Classification.NS)
    assert [c["id"] for c in store.collections(deu)] == ["open"]
    assert [c["id"] for c in store.collections(fra)] == ["open", "secret"]
    assert validate_collection(collection("x", cls="NC")).label.classification is Classification.NC


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 300)), min_size=1, max_size=30),
       st.integers(0, 1200), st.integers(0, 200))
def test_datetime_overlap_with_long_items(spans: list[tuple[int, int]], q0: int, qlen: int) -> None:
    """Items spanning days and instants alike: the range search returns exactly the overlapping ones."""
    from datetime import datetime, timedelta

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    iso = lambda h: (t0 + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    store = CatalogStore(Path(tempfile.mkdtemp()) / "c.db")
    store.put_collection(collection("c"), create=True)
    rows = []
    for k, (start, dur) in enumerate(spans):
        d = item(f"t{k}", "c", rel=["NATO"])
        d["properties"]["datetime"] = None if dur else iso(start)
        if dur:
            d["properties"].update(start_datetime=iso(start), end_datetime=iso(start + dur))
        rows.append(validate_item(d))
    store.add_items(rows)
    lo, hi = (t0 + timedelta(hours=q0)).timestamp(), (t0 + timedelta(hours=q0 + qlen)).timestamp()
    page = store.search(User("FRA", Classification.NU), SearchQuery(datetime_range=(lo, hi), limit=100))
    want = {f"t{k}" for k, (s, d) in enumerate(spans) if s <= q0 + qlen and s + d >= q0}
    assert {f["id"] for f in page.features} == want and page.matched == len(want)
    store.close()


def test_a_bbox_across_the_antimeridian_finds_both_sides(tmp_path: Path) -> None:
    store = CatalogStore(tmp_path / "c.db")
    store.put_collection(collection("c"), create=True)
    store.add_items([validate_item(item(f"p{lon}", "c", rel=["NATO"], lon=float(lon), lat=10.0))
                     for lon in (-179.5, -170, 0, 170, 179.5)])
    fra = User("FRA", Classification.NU)
    page = store.search(fra, SearchQuery(bbox=(175.0, 0.0, -175.0, 20.0), limit=10))
    assert {f["id"] for f in page.features} == {"p-179.5", "p179.5"} and page.matched == 2
    page = store.search(fra, SearchQuery(bbox=(160.0, 0.0, -160.0, 20.0), limit=10))
    assert {f["id"] for f in page.features} == {"p-179.5", "p-170", "p170", "p179.5"}
    store.close()
