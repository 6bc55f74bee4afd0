"""A real kill -9 in the middle of a bulk ingest leaves a consistent store: every acknowledged
batch present, no partial batch, indexes and audit chain intact, items and audit entries together."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from aquila.catalog.backends.sqlite import AuditLog
from aquila.instance import Instance
from library_helpers import collection, item

BATCH = 250


def test_kill_mid_ingest_keeps_acknowledged_items(tmp_path: Path) -> None:
    data = tmp_path / "inst"
    inst = Instance.open(data)
    inst.store.put_collection(collection("sar"), create=True)
    inst.store.close()
    inst.audit.close()
    feats = [item(f"k{k:05d}", "sar", rel=["NATO"], cav=["BALTIC"] if k % 5 == 0 else [], lon=(k % 360) - 180.0,
                  lat=(k % 170) - 85.0) for k in range(20000)]
    src = tmp_path / "items.json"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    proc = subprocess.Popen([sys.executable, "-m", "aquila", "ingest", "--data", str(data), str(src), "--batch",
                             str(BATCH)], stderr=subprocess.PIPE, text=True)
    acknowledged = 0
    deadline = time.monotonic() + 120
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        if line.startswith("committed "):
            acknowledged = int(line.split()[1])
            if acknowledged >= 5 * BATCH:
                os.kill(proc.pid, signal.SIGKILL)
                break
    proc.wait(30)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"
    assert acknowledged >= 5 * BATCH

    db = sqlite3.connect(data / "catalog.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n = db.execute("SELECT count(*) FROM items").fetchone()[0]
    assert n >= acknowledged and n % BATCH == 0  # whole batches only
    ids = [r[0] for r in db.execute("SELECT id FROM items ORDER BY id")]
    assert ids == [f"k{k:05d}" for k in range(n)]  # exactly the first n, in file order
    # and exactly one outbox event per stored item, in commit order; none for the lost batch
    events = [r[0] for r in db.execute("SELECT item FROM events WHERE kind = 'item.created' ORDER BY seq")]
    assert events == ids
    assert db.execute("SELECT count(*) FROM items_rtree").fetchone()[0] == n
    # every item sits in a partition whose audience holds the NATO nations
    assert db.execute("SELECT count(*) FROM items JOIN partitions p ON p.pid = items.pid "
                      "WHERE p.aud0 + p.aud1 + p.aud2 + p.aud3 = 0").fetchone()[0] == 0
    db.close()
    log = AuditLog(data / "catalog.db")
    assert log.verify().ok
    # every stored item has its ingest entry and no entry names an item that was not stored
    ingested = [e.object for e in log.entries(limit=100000) if e.action == "ingest item"]
    assert sorted(ingested) == [f"sar/k{k:05d}" for k in range(n)]
    log.close()
