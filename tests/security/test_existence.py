"""Existence is never revealed: hidden objects answer exactly like missing ones, on every operation.

Attacker: a valid token of another nation (analyst, provider or admin). For every operation the
answer about a hidden object is compared with the answer about an id that never existed: status,
body and headers must match, and creates must succeed alike.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from library_helpers import collection, item, user

FRA_ADMIN = user("FRA", "CTS", roles=("admin",))
FRA_PROVIDER = user("FRA", "NS", roles=("provider",))
DEU_PROVIDER = user("DEU", "NS", roles=("provider",))
DEU_ADMIN = user("DEU", "NU", roles=("admin",))
EST_ANALYST = user("EST", "NR")

_VOLATILE = {"date", "content-length"}


def _same(a: httpx.Response, b: httpx.Response) -> None:
    assert a.status_code == b.status_code, (a.status_code, b.status_code, a.text, b.text)
    assert a.content == b.content
    ha = {k: v for k, v in a.headers.items() if k not in _VOLATILE}
    hb = {k: v for k, v in b.headers.items() if k not in _VOLATILE}
    assert ha == hb


def _read_interrupted(client: httpx.Client, path: str, act: Any) -> int:
    """Bytes received of a download during which `act()` runs once, after its first MiB."""
    got = 0
    try:
        with client.stream("GET", path) as r:
            assert r.status_code == 200
            for chunk in r.iter_raw(1024 * 1024):
                got += len(chunk)
                if 1024 * 1024 <= got < 2 * 1024 * 1024:
                    act()
    except httpx.RemoteProtocolError:
        pass  # the server ended the body early: what a client sees of a stopped stream
    return got


def _seed(live: Any) -> None:
    with live.client(FRA_ADMIN) as c:
        assert c.post("/collections", json=collection("open", rel=["NATO"])).status_code == 201
        assert c.post("/collections", json=collection("fra-secret", cls="NS", rel=[])).status_code == 201
    with live.client(FRA_PROVIDER) as c:
        for it in (item("x", "open", cls="NS", rel=[]), item("in-secret", "fra-secret", cls="NU", rel=["NATO"])):
            assert c.post(f"/collections/{it['collection']}/items", json=it).status_code == 201, it


def test_reads_writes_and_assets_of_hidden_items_answer_like_missing_ones(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    with live.client(FRA_PROVIDER) as c:
        assert c.put("/collections/open/items/x/assets/data", content=b"fra bytes").status_code == 201
    with live.client(DEU_PROVIDER) as c:
        for method, suffix, kw in (("GET", "", {}), ("PUT", "", {"json": item("x", "open", orig="DEU")}),
                                   ("PATCH", "", {"json": {"properties": {}}}), ("DELETE", "", {}),
                                   ("GET", "/assets/data", {}), ("PUT", "/assets/data", {"content": b"z"}),
                                   ("DELETE", "/assets/data", {})):
            hidden = c.request(method, f"/collections/open/items/x{suffix}", **kw)
            missing = c.request(method, f"/collections/open/items/never{suffix}", **kw)
            _same(hidden, missing)
            assert hidden.status_code == 404


def test_create_with_a_hidden_id_succeeds_like_a_fresh_one_and_both_items_live(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    with live.client(DEU_PROVIDER) as c:
        hidden = c.post("/collections/open/items", json=item("x", "open", orig="DEU", rel=["NATO"]))
        fresh = c.post("/collections/open/items", json=item("y", "open", orig="DEU", rel=["NATO"]))
        assert hidden.status_code == fresh.status_code == 201
        again = c.post("/collections/open/items", json=item("x", "open", orig="DEU", rel=["NATO"]))
        assert again.status_code == 409  # DEU's own x: it can see that one
    with live.client(FRA_PROVIDER) as c:  # FRA sees both instances, prefers its own when addressed by id
        assert c.get("/collections/open/items/x").json()["properties"]["sec:originator"] == "FRA"
        found = c.get("/search", params={"ids": "x"}).json()
        assert sorted(f["properties"]["sec:originator"] for f in found["features"]) == ["DEU", "FRA"]
    with live.client(EST_ANALYST) as c:  # EST sees DEU's x only
        got = c.get("/collections/open/items/x").json()
        assert got["properties"]["sec:originator"] == "DEU"
        assert c.get("/search", params={"ids": "x"}).json()["numberMatched"] == 1


def test_admin_operations_on_a_hidden_collection_answer_like_a_missing_one(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    with live.client(DEU_ADMIN) as c:
        lowered = collection("fra-secret", cls="NU", rel=["NATO"], orig="DEU")
        for method, kw in (("PUT", {"json": lowered}), ("DELETE", {}), ("GET", {})):
            hidden = c.request(method, "/collections/fra-secret", **kw)
            missing = c.request(method, "/collections/never", **{k: (dict(v, id="never") if k == "json" else v)
                                                                  for k, v in kw.items()})
            _same(hidden, missing)
            assert hidden.status_code == 404
        _same(c.get("/collections/fra-secret/queryables"), c.get("/collections/never/queryables"))
        _same(c.get("/collections/fra-secret/items"), c.get("/collections/never/items"))
        _same(c.post("/collections/fra-secret/items", json=item("z", "fra-secret", orig="DEU")),
              c.post("/collections/never/items", json=item("z", "never", orig="DEU")))
        # creating a collection with the hidden one's id succeeds, as with a fresh id
        assert c.post("/collections", json=collection("fra-secret", rel=["NATO"], orig="DEU")).status_code == 201
        assert c.post("/collections", json=collection("fresh", rel=["NATO"], orig="DEU")).status_code == 201
    with live.client(FRA_ADMIN) as c:  # FRA's collection and its item are untouched
        got = c.get("/collections/fra-secret").json()
        assert got["sec:classification"] == "NS" and got["sec:originator"] == "FRA"
    with live.client(FRA_PROVIDER) as c:
        assert c.get("/collections/fra-secret/items/in-secret").status_code == 200


def test_a_foreign_admin_cannot_relabel_or_delete_a_collection_it_can_read(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    with live.client(user("DEU", "CTS", roles=("admin",))) as c:
        assert c.get("/collections/open").status_code == 200
        assert c.put("/collections/open", json=collection("open", rel=["NATO"], orig="DEU")).status_code == 403
        assert c.put("/collections/open", json=collection("open", rel=["NATO"], orig="FRA")).status_code == 403
        assert c.delete("/collections/open").status_code == 403
    with live.client(user("FRA", "NR", roles=("admin",))) as c:  # relabel above its own clearance: refused
        assert c.put("/collections/open", json=collection("open", cls="NS", rel=["NATO"])).status_code == 403


def test_collection_label_scopes_its_items_in_every_read(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    with live.client(FRA_PROVIDER) as c:
        assert c.put("/collections/fra-secret/items/in-secret/assets/a", content=b"secret bytes").status_code == 201
    with live.client(user("DEU", "CTS")) as c:  # may read the item's own label (NU REL NATO), not the collection
        assert c.get("/collections/fra-secret").status_code == 404
        assert c.get("/collections/fra-secret/items/in-secret").status_code == 404
        assert c.get("/collections/fra-secret/items/in-secret/assets/a").status_code == 404
        for params in ({"collections": "fra-secret"}, {"ids": "in-secret"}, {"bbox": "0,0,40,80"},
                       {"datetime": "2026-03-19T10:00:00Z"}, {"filter": "id = 'in-secret'"}):
            body = c.get("/search", params=params).json()
            assert body["numberMatched"] == 0 and body["features"] == [], params
        assert [x["id"] for x in c.get("/collections").json()["collections"]] == ["open"]


def test_deleted_items_assets_are_never_served_again_whatever_id_is_reused(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    assets_dir = live.instance.data_dir / "assets"
    with live.client(FRA_PROVIDER) as c:
        assert c.post("/collections/open/items", json=item("reused", "open", cls="NS", rel=[])).status_code == 201
        assert c.put("/collections/open/items/reused/assets/image", content=b"FRA ONLY BYTES").status_code == 201
        assert c.delete("/collections/open/items/reused").status_code == 204
    assert not any(p.is_file() and p.read_bytes() == b"FRA ONLY BYTES" for p in assets_dir.rglob("*"))
    with live.client(DEU_PROVIDER) as c:
        assert c.post("/collections/open/items", json=item("reused", "open", orig="DEU", rel=["NATO"])
                      ).status_code == 201
    with live.client(EST_ANALYST) as c:
        assert c.get("/collections/open/items/reused").status_code == 200
        assert c.get("/collections/open/items/reused/assets/image").status_code == 404
    with live.client(FRA_PROVIDER) as c:  # FRA can read DEU's new item (so a create of the id is a 409), no bytes
        assert c.post("/collections/open/items", json=item("reused", "open", cls="NS", rel=[])).status_code == 409
        assert c.get("/collections/open/items/reused/assets/image").status_code == 404


def test_asset_replace_and_delete_leave_no_bytes_behind(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    assets_dir = live.instance.data_dir / "assets"
    with live.client(FRA_PROVIDER) as c:
        assert c.put("/collections/open/items/x/assets/a", content=b"first").status_code == 201
        assert c.put("/collections/open/items/x/assets/a", content=b"second").status_code == 201
        assert c.get("/collections/open/items/x/assets/a").content == b"second"
        files = [p.read_bytes() for p in assets_dir.rglob("*") if p.is_file()]
        assert files == [b"second"]
        assert c.delete("/collections/open/items/x/assets/a").status_code == 204
        assert c.get("/collections/open/items/x/assets/a").status_code == 404
        assert "a" not in c.get("/collections/open/items/x").json()["assets"]
    assert not [p for p in assets_dir.rglob("*") if p.is_file()]


def test_deleting_a_collection_reveals_nothing_about_items_the_admin_cannot_see(live) -> None:  # type: ignore[no-untyped-def]
    with live.client(FRA_ADMIN) as c:
        for cid in ("shared1", "shared2", "mine"):
            assert c.post("/collections", json=collection(cid, cls="NU", rel=["NATO"])).status_code == 201
    est = user("EST", "NU", roles=("provider",))
    with live.client(est) as c:  # EST publishes an EST-only item into FRA's shared1
        assert c.post("/collections/shared1/items", json=item("estonly", "shared1", orig="EST", rel=[])
                      ).status_code == 201
    with live.client(FRA_PROVIDER) as c:
        assert c.post("/collections/mine/items", json=item("visible", "mine", rel=["NATO"])).status_code == 201
    with live.client(FRA_ADMIN) as c:
        assert c.get("/collections/shared1/items").json()["numberMatched"] == 0
        hidden, empty = c.delete("/collections/shared1"), c.delete("/collections/shared2")
        _same(hidden, empty)
        assert hidden.status_code == 204
        assert c.get("/collections/shared1").status_code == c.get("/collections/shared2").status_code == 404
        assert c.delete("/collections/mine").status_code == 409  # an item it can see: honest
        # the id is free again for FRA
        assert c.post("/collections", json=collection("shared1", cls="NU", rel=["NATO"])).status_code == 201
    with live.client(est) as c:  # EST's item lives on under its label, in the retired collection
        assert c.get("/collections/shared1/items/estonly").json()["properties"]["sec:originator"] == "EST"
        assert [f["id"] for f in c.get("/search", params={"ids": "estonly"}).json()["features"]] == ["estonly"]
        assert c.post("/collections/shared1/items", json=item("more", "shared1", orig="EST", rel=[])
                      ).status_code == 201  # into FRA's new shared1, not the retired one
        assert c.delete("/collections/shared1/items/estonly").status_code == 204
    db = live.instance.store._conn()
    assert db.execute("SELECT count(*) FROM collections WHERE retired = 1").fetchone()[0] == 0  # purged with it


def test_a_slow_upload_cannot_revert_a_relabel_made_while_it_streamed(live) -> None:  # type: ignore[no-untyped-def]
    """The review's exploit: an NU provider's upload, held open, used to write back the NU document after a
    CTS provider had relabelled the item and added a CTS asset — exposing the CTS bytes to NU readers."""
    import threading

    with live.client(FRA_ADMIN) as c:
        assert c.post("/collections", json=collection("sar", rel=["NATO"])).status_code == 201
    low, high = user("FRA", "NU", roles=("provider",)), user("FRA", "CTS", roles=("provider",))
    with live.client(low) as c:
        assert c.post("/collections/sar/items", json=item("w1", "sar", rel=["NATO"])).status_code == 201
    relabelled = threading.Event()
    result: dict[str, Any] = {}

    def slow_body() -> Any:
        yield b"thumb-"
        assert relabelled.wait(30)
        yield b"bytes"

    def upload() -> None:
        with live.client(low) as c:
            result["r"] = c.put("/collections/sar/items/w1/assets/thumb", content=slow_body())

    t = threading.Thread(target=upload)
    t.start()
    try:
        with live.client(high) as c:
            r = c.patch("/collections/sar/items/w1", json={"properties": {"sec:classification": "CTS",
                                                                          "sec:releasable_to": []}})
            assert r.status_code == 200, r.text
            assert c.put("/collections/sar/items/w1/assets/intel", content=b"CTS BYTES").status_code == 201
    finally:
        relabelled.set()
        t.join(30)
    assert result["r"].status_code == 404  # the NU provider can no longer see the item: as if it were gone
    with live.client(high) as c:
        got = c.get("/collections/sar/items/w1").json()
        assert got["properties"]["sec:classification"] == "CTS" and set(got["assets"]) == {"intel"}
    with live.client(user("DEU", "NU")) as c:
        assert c.get("/collections/sar/items/w1/assets/intel").status_code == 404
        assert c.get("/collections/sar/items/w1").status_code == 404
    assert not [p for p in (live.instance.data_dir / "assets").rglob("*") if p.is_file() and
                p.read_bytes().startswith(b"thumb-")]


def test_the_label_class_limit_counts_only_classes_the_writer_can_read(live, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from aquila.catalog.backends.sqlite import store as store_module

    monkeypatch.setattr(store_module, "MAX_LABELS_PER_ORIGINATOR", 3)
    with live.client(FRA_ADMIN) as c:
        assert c.post("/collections", json=collection("lim", rel=["NATO"])).status_code == 201
    low, high = user("FRA", "NU", roles=("provider",)), user("FRA", "CTS", roles=("provider",))
    with live.client(high) as c:  # two CTS classes the NU provider cannot read
        for k, rel in enumerate((["DEU"], ["ITA"])):
            assert c.post("/collections/lim/items", json=item(f"h{k}", "lim", cls="CTS", rel=rel)).status_code == 201
    with live.client(low) as c:
        for k, rel in enumerate((["NATO"], ["EU"], ["FVEY"])):  # its own three classes: all fine
            assert c.post("/collections/lim/items", json=item(f"l{k}", "lim", rel=rel)).status_code == 201
        r = c.post("/collections/lim/items", json=item("l9", "lim", rel=["EST"]))
        assert r.status_code == 400 and "3 distinct labels" in r.json()["description"]
        assert c.delete("/collections/lim/items/l0").status_code == 204  # an emptied class frees its place
        assert c.post("/collections/lim/items", json=item("l9", "lim", rel=["EST"])).status_code == 201


def test_a_download_stops_when_its_asset_is_deleted(live) -> None:  # type: ignore[no-untyped-def]
    _seed(live)
    size = 48 * 1024 * 1024  # well beyond what loopback socket buffers hold before the delete
    with live.client(FRA_PROVIDER) as c:
        assert c.put("/collections/open/items/x/assets/big", content=b"z" * size).status_code == 201

        def delete() -> None:
            with live.client(FRA_PROVIDER) as other:
                assert other.delete("/collections/open/items/x").status_code == 204

        got = _read_interrupted(c, "/collections/open/items/x/assets/big", delete)
        assert got < size - 16 * 1024 * 1024  # the server stopped; what was in flight is all that came


def test_a_download_stops_when_its_item_is_relabelled_away_from_the_reader(live) -> None:  # type: ignore[no-untyped-def]
    with live.client(FRA_ADMIN) as c:
        assert c.post("/collections", json=collection("dl", rel=["NATO"])).status_code == 201
    size = 48 * 1024 * 1024
    with live.client(FRA_PROVIDER) as c:
        assert c.post("/collections/dl/items", json=item("big", "dl", rel=["NATO"])).status_code == 201
        assert c.put("/collections/dl/items/big/assets/data", content=b"z" * size).status_code == 201

    def relabel() -> None:
        with live.client(FRA_PROVIDER) as writer:
            assert writer.patch("/collections/dl/items/big", json={"properties": {
                "sec:classification": "NS"}}).status_code == 200

    with live.client(user("EST", "NU")) as reader:
        got = _read_interrupted(reader, "/collections/dl/items/big/assets/data", relabel)
        assert reader.get("/collections/dl/items/big").status_code == 404
    assert got < size - 16 * 1024 * 1024


def test_writes_based_on_a_collection_that_changed_meanwhile_are_refused(live) -> None:  # type: ignore[no-untyped-def]
    """Create racing a collection delete used to store an acknowledged item in a purged collection."""
    from aquila.errors import Stale

    with live.client(FRA_ADMIN) as c:
        assert c.post("/collections", json=collection("victim", rel=["NATO"])).status_code == 201
    store = live.instance.store
    target = store.collection(FRA_PROVIDER, "victim")  # what the API resolved before waiting for the lock...
    with live.client(FRA_ADMIN) as c:
        assert c.delete("/collections/victim").status_code == 204  # ...and what happened meanwhile
    from aquila.catalog import validate_item

    with pytest.raises(Stale):
        store.create_items(FRA_PROVIDER, "victim", [validate_item(item("orphan", "victim", rel=["NATO"]))], target)
    assert store._conn().execute("SELECT count(*) FROM items WHERE id = 'orphan'").fetchone()[0] == 0
    # a relabel of the collection also makes an in-flight item write a lost race
    with live.client(FRA_ADMIN) as c:
        assert c.post("/collections", json=collection("up", rel=["NATO"])).status_code == 201
    low = user("FRA", "NU", roles=("provider",))
    with live.client(low) as c:
        assert c.post("/collections/up/items", json=item("x", "up", rel=["NATO"])).status_code == 201
    before = store.item(low, "up", "x", writable=True)
    with live.client(FRA_ADMIN) as c:
        assert c.put("/collections/up", json=collection("up", cls="NS", rel=["NATO"])).status_code == 200
    assert before is not None
    with pytest.raises(Stale):
        store.replace_item(before, validate_item(item("x", "up", rel=["NATO"], note="late")))
