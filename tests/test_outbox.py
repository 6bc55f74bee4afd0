"""The event outbox: exactly one event per acknowledged write, in order; none for a rolled-back one;
consumers resume from their stored cursor (at-least-once, never twice once acknowledged)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from aquila.catalog import CatalogStore, validate_item
from aquila.catalog.backends.sqlite import Outbox
from aquila.errors import Conflict
from library_helpers import collection, item, user

ADMIN = user("FRA", "CTS", roles=("admin",))
PROVIDER = user("FRA", "NS", roles=("provider",))


def test_every_acknowledged_write_has_exactly_one_event_in_order(live) -> None:  # type: ignore[no-untyped-def]
    with live.client(ADMIN) as c:
        assert c.post("/collections", json=collection("sar", rel=["NATO"])).status_code == 201
    with live.client(PROVIDER) as c:
        feats = [item(f"i{k}", rel=["NATO"]) for k in range(3)]
        assert c.post("/collections/sar/items", json={"type": "FeatureCollection", "features": feats}
                      ).status_code == 201
        assert c.put("/collections/sar/items/i0", json=item("i0", rel=["NATO"], note="v2")).status_code == 200
        assert c.patch("/collections/sar/items/i1", json={"properties": {"note": "x"}}).status_code == 200
        assert c.put("/collections/sar/items/i2/assets/data", content=b"bytes").status_code == 201
        assert c.delete("/collections/sar/items/i2/assets/data").status_code == 204
        assert c.delete("/collections/sar/items/i2").status_code == 204
        # refused writes leave no event: a conflict, bad input, a foreign label
        assert c.post("/collections/sar/items", json=item("i0", rel=["NATO"])).status_code == 409
        assert c.post("/collections/sar/items", json={"type": "FeatureCollection", "features": [
            item("ok", rel=["NATO"]), item("bad", lon=500.0)]}).status_code == 400
        assert c.post("/collections/sar/items", json=item("z", orig="DEU")).status_code == 403
    with live.client(ADMIN) as c:
        assert c.put("/collections/sar", json=collection("sar", rel=["NATO", "FVEY"])).status_code == 200
    outbox = Outbox(live.instance.data_dir / "catalog.db")
    events = outbox.since(0)
    outbox.close()
    assert [(e.kind, e.item, e.asset) for e in events] == [
        ("collection.created", None, None), ("item.created", "i0", None), ("item.created", "i1", None),
        ("item.created", "i2", None), ("item.updated", "i0", None), ("item.updated", "i1", None),
        ("asset.uploaded", "i2", "data"), ("asset.deleted", "i2", "data"), ("item.deleted", "i2", None),
        ("collection.updated", None, None)]
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert all(e.collection == "sar" for e in events)
    assert events[1].label.originator == "FRA" and events[-1].label.releasable_to == {"NATO", "FVEY"}


def test_a_rolled_back_batch_leaves_no_event(tmp_path: Path) -> None:
    store = CatalogStore(tmp_path / "catalog.db")
    store.put_collection(collection("c"), create=True)
    store.add_items([validate_item(item("a", "c", rel=["NATO"]))])
    with pytest.raises(Conflict):
        store.add_items([validate_item(item("b", "c", rel=["NATO"])), validate_item(item("a", "c", rel=["NATO"]))])
    outbox = Outbox(tmp_path / "catalog.db")
    assert [(e.kind, e.item) for e in outbox.since(0)] == [("collection.created", None), ("item.created", "a")]
    store.add_items([validate_item(item("a", "c", rel=["NATO"], note="again"))], upsert=True)
    assert outbox.since(0)[-1].kind == "item.updated"
    outbox.close()
    store.close()


def test_a_consumer_resumes_from_its_cursor_at_least_once_and_never_twice_once_acknowledged(tmp_path: Path) -> None:
    store = CatalogStore(tmp_path / "catalog.db")
    store.put_collection(collection("c"), create=True)
    store.add_items([validate_item(item(f"i{k}", "c", rel=["NATO"])) for k in range(5)])
    outbox = Outbox(tmp_path / "catalog.db")
    pipeline = outbox.consumer("ships-pipeline")
    first = pipeline.poll(limit=3)
    assert [e.item for e in first] == [None, "i0", "i1"]
    pipeline.ack(first[1].seq)  # handled two, then "crashed" before acknowledging the third
    outbox.close()
    outbox = Outbox(tmp_path / "catalog.db")  # a new process
    again = outbox.consumer("ships-pipeline").poll()
    assert [e.item for e in again] == ["i1", "i2", "i3", "i4"]  # i1 again (not acknowledged), i0 never
    other = outbox.consumer("alerts")
    assert len(other.poll()) == 6  # cursors are per consumer
    outbox.consumer("ships-pipeline").ack(again[0].seq - 5)  # a cursor never moves back
    assert outbox.consumer("ships-pipeline").poll()[0].item == "i1"
    outbox.close()
    store.close()


def test_a_stream_wakes_on_a_commit(tmp_path: Path) -> None:
    store = CatalogStore(tmp_path / "catalog.db")
    store.put_collection(collection("c"), create=True)
    outbox = Outbox(tmp_path / "catalog.db")
    consumer = outbox.consumer("live")
    consumer.ack(outbox.since(0)[-1].seq)

    async def run() -> list[str | None]:
        got: list[str | None] = []

        async def read() -> None:
            async for e in consumer.stream(poll_interval_s=30):  # woken by the commit, not the interval
                got.append(e.item)
                consumer.ack(e.seq)
                return

        task = asyncio.create_task(read())
        await asyncio.sleep(0)
        await asyncio.to_thread(store.add_items, [validate_item(item("new", "c", rel=["NATO"]))])
        await asyncio.wait_for(task, timeout=10)
        return got

    assert asyncio.run(run()) == ["new"]
    outbox.close()
    store.close()
