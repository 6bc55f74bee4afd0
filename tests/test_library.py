"""The library service without HTTP (what `aquila ingest`, the demo and analytics use): the same rule,
audit and events as the API, all or nothing, and an item's asset bytes leave with it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aquila.catalog import SearchQuery, validate_item
from aquila.errors import Forbidden, InputError, NotFound
from aquila.instance import Instance
from library_helpers import collection, item, user

ADMIN = user("FRA", "CTS", roles=("admin",))
PROVIDER = user("FRA", "NS", roles=("provider",))
ANALYST_DEU = user("DEU", "NS")


@pytest.fixture
def inst(tmp_path: Path) -> Instance:  # type: ignore[misc]
    i = Instance.open(tmp_path / "inst")
    i.library.create_collection(ADMIN, collection("sar", rel=["NATO"]))
    yield i
    i.close()


def _events(inst: Instance) -> list[tuple[str, str | None]]:
    log = inst.events()
    try:
        return [(e.kind, e.item) for e in log.since(0)]
    finally:
        log.close()


def test_publish_stores_audits_and_emits_in_one_step(inst: Instance) -> None:
    rows = inst.library.publish(PROVIDER, "sar", [item("a", rel=["NATO"]), item("b", rel=["DEU"])])
    assert [r.id for r in rows] == ["a", "b"]
    assert _events(inst)[-2:] == [("item.created", "a"), ("item.created", "b")]
    created = [e for e in inst.audit.entries_page(originator="FRA", limit=1000)[0] if e.action == "create item"]
    assert [e.object for e in created] == ["sar/a", "sar/b"] and all(e.allowed for e in created)
    page = inst.library.search(ANALYST_DEU, SearchQuery(limit=10))
    assert sorted(f["id"] for f in page.features) == ["a", "b"]


def test_a_refused_batch_leaves_nothing_but_its_audited_denial(inst: Instance) -> None:
    before = _events(inst)
    with pytest.raises(Forbidden):  # the second item names a foreign originator
        inst.library.publish(PROVIDER, "sar", [item("ok", rel=["NATO"]), item("x", orig="DEU")])
    with pytest.raises(InputError):  # the second item has no valid geometry
        inst.library.publish(PROVIDER, "sar", [item("ok", rel=["NATO"]), item("y", lon=500.0)])
    assert _events(inst) == before
    assert inst.library.search(ADMIN, SearchQuery(limit=10)).features == []
    denied = [e for e in inst.audit.entries_page(limit=1000)[0] if not e.allowed]
    assert [e.action for e in denied] == ["create item"]


def test_unreadable_and_missing_are_the_same_not_found(inst: Instance) -> None:
    inst.library.publish(PROVIDER, "sar", [item("secret", cls="NS", rel=[])])
    for iid in ("secret", "missing"):
        with pytest.raises(NotFound) as caught:
            inst.library.get_item(ANALYST_DEU, "sar", iid)
        assert str(caught.value) == f"sar/{iid}"


def test_deleting_an_item_deletes_its_asset_bytes(inst: Instance) -> None:
    inst.library.publish(PROVIDER, "sar", [item("img", rel=["NATO"])])
    item_row, key = inst.library.reserve_upload(PROVIDER, "sar", "img", "data")

    async def chunks() -> AsyncIterator[bytes]:
        yield b"x" * 1000

    stored = asyncio.run(inst.objects.put(key, chunks(), 10_000))
    inst.library.attach_upload(PROVIDER, item_row, "data", key, stored, "image/tiff")
    path = inst.objects.path(key)
    assert path is not None and path.read_bytes() == b"x" * 1000
    inst.library.delete(PROVIDER, "sar", "img")
    assert inst.objects.path(key) is None and not path.exists()
    assert _events(inst)[-2:] == [("asset.uploaded", "img"), ("item.deleted", "img")]


def test_operator_ingest_is_audited_per_item_and_emits_events(inst: Instance) -> None:
    rows = [validate_item(item(f"k{k}", rel=["NATO"])) for k in range(3)]
    assert inst.library.ingest(rows, subject="test-operator") == 3
    assert _events(inst)[-3:] == [("item.created", f"k{k}") for k in range(3)]
    ingested = [e for e in inst.audit.entries_page(limit=1000)[0] if e.action == "ingest item"]
    assert [e.subject for e in ingested] == ["test-operator"] * 3
