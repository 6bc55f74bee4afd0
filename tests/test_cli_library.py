"""The README's library walk-through from the command line: create a collection, ingest into it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from aquila.catalog import SearchQuery
from aquila.instance import Instance
from library_helpers import collection, item, user

RUN = [sys.executable, "-m", "aquila"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RUN, *args], capture_output=True, text=True, timeout=120)


def test_collection_create_then_ingest(tmp_path: Path) -> None:
    data = tmp_path / "inst"
    items = tmp_path / "items.json"
    items.write_text(json.dumps({"type": "FeatureCollection", "features": [item(f"k{k}", rel=["NATO"])
                                                                          for k in range(3)]}))
    missing = _run("ingest", "--data", str(data), str(items))  # before the collection: the fix is named
    assert missing.returncode == 2 and "aquila collection create" in missing.stderr
    coll = tmp_path / "sar.json"
    coll.write_text(json.dumps(collection("sar", rel=["NATO"])))
    made = _run("collection", "create", "--data", str(data), str(coll))
    assert made.returncode == 0 and json.loads(made.stdout) == {"created": "sar"}
    again = _run("collection", "create", "--data", str(data), str(coll))
    assert again.returncode == 0 and json.loads(again.stdout) == {"exists": "sar"}
    done = _run("ingest", "--data", str(data), str(items))
    assert done.returncode == 0 and json.loads(done.stdout) == {"ingested": 3}
    inst = Instance.open(data)
    try:
        page = inst.library.search(user("DEU", "NS"), SearchQuery(limit=10))
        assert sorted(f["id"] for f in page.features) == ["k0", "k1", "k2"]
        actions = [e.action for e in inst.audit.entries_page(limit=100)[0]]
        assert actions.count("create collection") == 1 and actions.count("ingest item") == 3
    finally:
        inst.close()


def test_collection_create_refuses_a_bad_label_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**collection("x"), "sec:classification": "TOP"}))
    out = _run("collection", "create", "--data", str(tmp_path / "inst"), str(bad))
    assert out.returncode == 2 and "sec:classification" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_a_token_is_issued_while_a_writer_holds_the_catalog(tmp_path: Path) -> None:
    """Issuing a token never touches the catalog (unless it registers caveats)."""
    import sqlite3

    data = tmp_path / "inst"
    Instance.open(data).close()
    writer = sqlite3.connect(data / "catalog.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        out = subprocess.run([*RUN, "token", "--data", str(data), "--nation", "FRA", "--clearance", "NS"],
                             capture_output=True, text=True, timeout=20)
        assert out.returncode == 0 and out.stdout.count(".") == 2, out.stderr
        listing = subprocess.run([*RUN, "audit", "list", "--data", str(data)], capture_output=True, text=True,
                                 timeout=20)
        assert listing.returncode == 0, listing.stderr
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_token_creates_no_catalog(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    out = _run("token", "--data", str(data), "--nation", "FRA", "--clearance", "NS")
    assert out.returncode == 0
    assert not (data / "catalog.db").exists()
