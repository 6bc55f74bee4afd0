"""The footprint tiles as a hostile insider with a valid low-privilege token would try them: the tiles and the
TileJSON of a catalog holding footprints the user may not read are byte-for-byte those of a catalog without
them (no pixel, count, bound, marking or digest tells them); one user's cached tiles never reach another, whatever
`v` the URL carries; no token, a forged or a revoked one is a 401, audited; hostile tile paths are 404s, never
500s; every read is audited under the reader."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aquila.catalog import validate_item
from aquila.dissemination.footprint_cache import FootprintTiles
from aquila.dissemination.tiles import render_tile
from aquila.instance import Instance
from aquila.security.labels import Classification
from aquila.security.policy import Role, User, decide

NATIONS = ["DEU", "EST", "USA", "FRA"]
AUDIENCES = [["NATO"], ["DEU"], ["EST"], ["FVEY"], ["DEU", "POL"], ["EST", "FRA"]]
LOW = User("EST", Classification.NU, subject="est-low")
HIGH = User("DEU", Classification.CTS, frozenset({"BALTIC"}), subject="deu-high")

label_st = st.fixed_dictionaries({
    "sec:classification": st.sampled_from([c.name for c in Classification]),
    "sec:releasable_to": st.sampled_from(AUDIENCES), "sec:caveats": st.sampled_from([[], ["BALTIC"]]),
    "sec:originator": st.sampled_from(NATIONS)})
item_st = st.tuples(label_st, st.floats(14.0, 26.0), st.floats(54.0, 60.0), st.sampled_from(["Polygon", "Point"]))
user_st = st.builds(lambda n, c, cav: User(n, c, frozenset(cav), subject=f"{n.lower()}-{c.name}"),
                    st.sampled_from(NATIONS), st.sampled_from(list(Classification)), st.sampled_from([[], ["BALTIC"]]))


def _rows(specs: list[tuple[dict[str, Any], float, float, str]]) -> list[Any]:
    rows = []
    for k, (label, lon, lat, kind) in enumerate(specs):
        geometry = {"type": "Point", "coordinates": [lon, lat]} if kind == "Point" else {
            "type": "Polygon", "coordinates": [[[lon, lat], [lon + 1.5, lat], [lon + 1.5, lat + 0.8],
                                                [lon, lat + 0.8], [lon, lat]]]}
        rows.append(validate_item({"type": "Feature", "id": f"fp-{k:03d}", "collection": "scenes",
                                   "geometry": geometry,
                                   "properties": {"datetime": f"2026-12-0{1 + k // 60}T{k // 60 % 24:02d}:"
                                                              f"{k % 60:02d}:00Z", **label}}))
    return rows


def _catalog(root: Path, rows: list[Any]) -> Instance:
    inst = Instance.open(root)
    inst.library.operator_collection({"type": "Collection", "id": "scenes", "description": "labelled scenes",
                                      "sec:classification": "NU", "sec:releasable_to": ["NATO"],
                                      "sec:originator": "BEL"})
    store = Instance.catalog_of(root)
    store.register_caveats(["BALTIC"])
    store.close()
    if rows:
        inst.library.ingest(rows)
    return inst


class _Unchanging:
    """A catalog version that never moves (each test builds its indexes once)."""

    def head(self) -> int:
        return 1

    def since(self, seq: int, limit: int) -> list[Any]:
        return []


TILES = [(z, x, y) for z in (3, 5) for x in range(2 ** z) for y in range(2 ** z)
         if 14.0 <= (x + 1) / 2 ** z * 360 - 180 and x / 2 ** z * 360 - 180 <= 28.0 and 1 <= y <= 2 ** z // 3]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(item_st, min_size=1, max_size=25), user_st)
def test_tiles_of_a_catalog_with_hidden_footprints_equal_those_without(specs: list[Any], user: User) -> None:
    rows = _rows(specs)
    readable = [r for r in rows if decide(user, r.label)]
    with tempfile.TemporaryDirectory() as tmp:
        full, bare = _catalog(Path(tmp) / "full", rows), _catalog(Path(tmp) / "bare", readable)
        try:
            a = FootprintTiles(_Unchanging()).index(full.library, user)
            b = FootprintTiles(_Unchanging()).index(bare.library, user)
            assert (a.count, a.highest, a.bounds_deg, a.more, a.digest) == \
                (b.count, b.highest, b.bounds_deg, b.more, b.digest) == \
                (len(readable), max((r.label.classification for r in readable), default=None), a.bounds_deg,
                 False, a.digest)
            for z, x, y in TILES:
                assert render_tile(a, z, x, y) == render_tile(b, z, x, y), (z, x, y)
        finally:
            full.close()
            bare.close()


def test_the_tiles_draw_the_footprints_and_the_test_above_can_fail() -> None:
    """The equality above would hold trivially if nothing were drawn: a visible footprint does colour its tile,
    and a catalog with one more readable footprint gives other tiles."""
    label = {"sec:classification": "NU", "sec:releasable_to": ["NATO"], "sec:caveats": [], "sec:originator": "FRA"}
    with tempfile.TemporaryDirectory() as tmp:
        one = _catalog(Path(tmp) / "one", _rows([(label, 20.0, 56.0, "Polygon")]))
        two = _catalog(Path(tmp) / "two", _rows([(label, 20.0, 56.0, "Polygon"), (label, 22.0, 57.0, "Polygon")]))
        try:
            a = FootprintTiles(_Unchanging()).index(one.library, LOW)
            b = FootprintTiles(_Unchanging()).index(two.library, LOW)
            drawn = [render_tile(a, z, x, y) for z, x, y in TILES]
            assert any(png is not None for png, _ in drawn) and a.digest != b.digest
            assert drawn != [render_tile(b, z, x, y) for z, x, y in TILES]
        finally:
            one.close()
            two.close()


@pytest.fixture()
def served(live: Any) -> Any:
    lib = live.instance.library
    lib.operator_collection({"type": "Collection", "id": "scenes", "description": "labelled scenes",
                             "sec:classification": "NU", "sec:releasable_to": ["NATO"], "sec:originator": "BEL"})
    secret = {"sec:classification": "CTS", "sec:releasable_to": ["DEU"], "sec:caveats": [], "sec:originator": "DEU"}
    lib.ingest(_rows([(secret, 20.0, 56.0, "Polygon")]))
    return live


def test_one_users_tiles_never_reach_another_whatever_v_says(served: Any) -> None:
    """DEU's tile (holding a CTS REL DEU footprint) is cached by the server; EST asking for the same tile with
    DEU's digest in `v` gets its own: an empty tile."""
    with served.client(HIGH) as deu, served.client(LOW) as est:
        doc = deu.get("/tiles/footprints.json").json()
        assert doc["aquila:footprints"] == 1 and doc["aquila:highest_classification"] == "CTS"
        v = doc["tiles"][0].split("?v=")[1]
        r = deu.get(f"/tiles/footprints/5/17/9.png?v={v}")
        assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
        mine = est.get(f"/tiles/footprints/5/17/9.png?v={v}")
        assert mine.status_code == 204 and mine.content == b""
        own = est.get("/tiles/footprints.json").json()
        assert own["aquila:footprints"] == 0 and own["aquila:highest_classification"] is None
        assert "bounds" not in own and v not in own["tiles"][0]


BAD_TILES = ["-1/0/0", "01/0/0", "1/01/0", "1/0/-0", "19/0/0", "1/2/0", "1/0/2", "5/32/0", "1e1/0/0", "0x1/0/0",
             "1.0/0/0", " 1/0/0", "+1/0/0", "%30%31/0/0", "\u0661/0/0", "99999999999999999999/0/0", "18/262144/0",
             "a/b/c", "0/0/0.PNG", "0/0/..%2f..%2fkeys", "0/0/0.png.png"]


@pytest.mark.parametrize("path", BAD_TILES)
def test_hostile_tile_paths_are_404s(served: Any, path: str) -> None:
    with served.client(LOW) as c:
        r = c.get(f"/tiles/footprints/{path}" + ("" if "." in path.split("/")[-1] else ".png"))
    assert r.status_code == 404, (path, r.status_code)
    assert r.json()["code"] == "NotFound"


def test_no_valid_token_no_tile_and_each_refusal_audited(served: Any) -> None:
    url = served.url
    token = served.token(LOW)
    revoked = served.token(User("EST", Classification.NU, subject="est-gone"))
    served.instance.tokens.revocations.revoke_subject("est-gone")
    before = served.instance.audit.entries(after=0, limit=1_000_000)[-1].seq
    for headers in ({}, {"Authorization": "Bearer " + token[:-3] + "AAA"}, {"Authorization": "Bearer " + revoked},
                    {"Authorization": "Basic " + token}):
        for path in ("/tiles/footprints.json", "/tiles/footprints/0/0/0.png"):
            r = httpx.get(url + path, headers=headers)
            assert r.status_code == 401, (path, headers.keys(), r.status_code)
            assert b"PNG" not in r.content
    refusals = [e for e in served.instance.audit.entries(after=before, limit=1_000_000) if not e.allowed]
    assert len(refusals) >= 8 and all(e.subject == "anonymous" for e in refusals)


def test_every_read_is_audited_under_the_reader(served: Any) -> None:
    with served.client(LOW) as c:
        assert c.get("/tiles/footprints.json").status_code == 200
        assert c.get("/tiles/footprints/3/4/2.png").status_code == 204
    mine = [e for e in served.instance.audit.entries(after=0, limit=1_000_000) if e.subject == "est-low"]
    objects = {(e.action, e.object) for e in mine if e.allowed}
    assert ("read footprint tiles", "tiles/footprints") in objects
    assert ("read footprint tiles", "tiles/footprints/3/4/2") in objects
    assert any(e.action == "search" for e in mine)


def _searches(srv: Any, subject: str) -> int:
    return sum(e.action == "search" for e in srv.instance.audit.entries(after=0, limit=1_000_000)
               if e.subject == subject)


def test_a_change_the_user_could_never_read_costs_them_no_rebuild(served: Any) -> None:
    """Any commit moves the catalog's version; were every one to rebuild the user's index (a full search,
    ~0.3 s for 10,000 footprints), the time of their next request would say that something they may not read
    was written. Changes to what they could never read leave the index as it was — counted here by the
    searches audited under them, not by a clock — while a change they may see, or to a footprint they see,
    rebuilds it."""
    lib = served.instance.library
    secret = {"sec:classification": "CTS", "sec:releasable_to": ["DEU"], "sec:caveats": [], "sec:originator": "DEU"}
    open_ = {"sec:classification": "NU", "sec:releasable_to": ["NATO"], "sec:caveats": [], "sec:originator": "DEU"}
    with served.client(LOW) as est:
        assert est.get("/tiles/footprints.json").json()["aquila:footprints"] == 0
        n = _searches(served, "est-low")
        lib.ingest(_rows([(secret, 20.0, 56.0, "Polygon"), (secret, 21.0, 57.0, "Point")]))  # new and updated
        doc = est.get("/tiles/footprints.json").json()
        assert doc["aquila:footprints"] == 0 and _searches(served, "est-low") == n  # no rebuild
        # items whose own label EST could read, in a collection it may not read: no rebuild either
        lib.operator_collection({"type": "Collection", "id": "vault", "description": "DEU's vault",
                                 "sec:classification": "CTS", "sec:releasable_to": ["DEU"], "sec:originator": "DEU"})
        est.get("/tiles/footprints.json")  # (the collection's creation: a change EST could not read either)
        assert _searches(served, "est-low") == n
        vaulted = _rows([(open_, 22.0, 57.0, "Polygon")])
        lib.ingest([validate_item(r.doc | {"id": "in-vault", "collection": "vault"}) for r in vaulted])
        assert est.get("/tiles/footprints.json").json()["aquila:footprints"] == 0
        assert _searches(served, "est-low") == n
        lib.ingest(_rows([(open_, 20.0, 56.0, "Polygon")]))  # DEU's NU instance of fp-000: EST's to see
        doc = est.get("/tiles/footprints.json").json()
        assert doc["aquila:footprints"] == 1 and _searches(served, "est-low") > n
        assert est.get("/tiles/footprints/5/17/9.png").status_code == 200
        n = _searches(served, "est-low")
        lib.delete(User("DEU", Classification.NU, roles=frozenset({Role.PROVIDER}), subject="deu-feed"), "scenes",
                   "fp-000")  # withdrawn (DEU's readable instance): gone at once
        assert est.get("/tiles/footprints/5/17/9.png").status_code == 204
        assert est.get("/tiles/footprints.json").json()["aquila:footprints"] == 0 and _searches(served, "est-low") > n


def test_asking_for_any_number_of_tiles_keeps_the_cache_bounded() -> None:
    """Every valid token may ask for any of the 4^18 tiles: empty ones are not kept, and drawn ones count against
    the byte bound with their overhead (a flood of distinct tiles cannot grow the server's memory)."""
    label = {"sec:classification": "NU", "sec:releasable_to": ["NATO"], "sec:caveats": [], "sec:originator": "FRA"}
    with tempfile.TemporaryDirectory() as tmp:
        inst = _catalog(Path(tmp) / "i", _rows([(label, 20.0, 56.0, "Polygon")]))
        try:
            tiles = FootprintTiles(_Unchanging(), max_tile_bytes=40_000)
            for k in range(2_000):  # distinct empty tiles
                assert tiles.tile(inst.library, LOW, 18, k, 7)[0] is None
            assert len(tiles._tiles) == 0
            phi = math.radians(56.25)
            mx, my = (20.5 + 180) / 360, (1 - math.log(math.tan(phi) + 1 / math.cos(phi)) / math.pi) / 2
            for z in range(3, 15):  # the footprint's tile at each zoom: drawn, kept, within the bound
                png, _, _ = tiles.tile(inst.library, LOW, z, int(mx * 2 ** z), int(my * 2 ** z))
                assert png is not None, z
                assert 0 < tiles._tile_bytes <= 40_000
            assert 0 < len(tiles._tiles) < 12  # older ones were dropped
        finally:
            inst.close()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["put", "delete"]), st.integers(0, 7), label_st), min_size=1, max_size=12),
       user_st)
def test_an_index_kept_through_changes_equals_one_built_afresh(steps: list[Any], user: User) -> None:
    """The kept index follows the catalog change by change (items read again one by one, or a whole new search
    after a collection's change): after each change it equals an index built from scratch — nothing stale that
    the user may no longer read, nothing missing that they now may."""
    from aquila.dissemination.footprint_cache import fresh_index

    deleter = {n: User(n, Classification.CTS, frozenset({"BALTIC"}), frozenset({Role.PROVIDER}), f"{n}-feed")
               for n in NATIONS}
    with tempfile.TemporaryDirectory() as tmp:
        inst = _catalog(Path(tmp) / "i", [])
        events = inst.events()
        tiles = FootprintTiles(events)
        try:
            tiles.index(inst.library, user)
            for op, k, label in steps:
                row = _rows([(label, 14.0 + k, 55.0, "Polygon")] * (k + 1))[k]
                if op == "put":
                    inst.library.ingest([row])
                else:
                    try:
                        inst.library.delete(deleter[label["sec:originator"]], "scenes", row.id)
                    except Exception:  # nothing of that nation's there: a refusal changes nothing
                        pass
                kept, fresh = tiles.index(inst.library, user), fresh_index(inst.library, user)
                assert (kept.digest, kept.count, kept.keys) == (fresh.digest, fresh.count, fresh.keys)
        finally:
            tiles.close()
            events.close()
            inst.close()
