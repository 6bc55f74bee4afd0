"""The ships pipeline: an upload into a pipeline collection becomes exactly one finding, through the outbox and a
durable queue; failures are recorded with their reason; runs survive a worker's death; runs are seen only by
who may read their source."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from aquila.analytics.findings import FINDINGS_COLLECTION, analyze_ships, producer_for
from aquila.analytics.pipeline import PipelineWorker
from aquila.catalog import SearchQuery
from aquila.cli.main import cli
from aquila.errors import InputError
from aquila.instance import Instance
from conftest import LiveServer
from library_helpers import collection, item, user

DEU = user("DEU", "NS", roles=("provider",))
ACQ = "2026-12-03T06:00:00Z"


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    d = tmp_path_factory.mktemp("scene")
    r = CliRunner().invoke(cli, ["synth", "sar", "--seed", "7", "--size", "512", "--ships", "10", "--out", str(d),
                                 "--ais-time", ACQ])
    assert r.exit_code == 0, r.output
    return d


def _instance(tmp_path: Path, scene: Path, pipelines: list[str] | None = None, inst: Instance | None = None
              ) -> Instance:
    inst = inst or Instance.open(tmp_path / "i")
    col = collection("deu-sar", rel=["NATO"], orig="DEU")
    if pipelines is not None:
        col["aquila:pipelines"] = pipelines
    inst.library.operator_collection(col)
    (inst.data_dir / "ais").mkdir(exist_ok=True)
    (inst.data_dir / "ais" / "feed.jsonl").write_bytes((scene / "ais.jsonl").read_bytes())
    return inst


def _upload(inst: Instance, scene: Path, iid: str, data: bytes | None = None) -> None:
    import rasterio

    with rasterio.open(scene / "scene.tif") as f:
        w, s, e, n = f.bounds
    doc = item(iid, "deu-sar", cls="NS", rel=["FRA"], orig="DEU", dt=ACQ)
    doc["geometry"] = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    body = data if data is not None else (scene / "scene.tif").read_bytes()
    inst.library.publish(DEU, "deu-sar", [doc], assets={iid: {"data": (body, "image/tiff; application=geotiff")}})


def _findings(inst: Instance, u: Any) -> list[dict[str, Any]]:
    return inst.library.search(u, SearchQuery(collections=[FINDINGS_COLLECTION], limit=100)).features


def test_an_upload_into_a_pipeline_collection_becomes_one_finding(tmp_path: Path, scene: Path) -> None:
    inst = _instance(tmp_path, scene, ["ships"])
    _upload(inst, scene, "s1")
    worker = PipelineWorker(inst, land_mask=str(scene / "land.tif"))
    queued = worker.intake()
    assert [(r.collection, r.item, r.pipeline, r.state) for r in queued] == [("deu-sar", "s1", "ships", "queued")]
    assert worker.intake() == []  # acknowledged: not queued again
    run = worker.run_next()
    assert run is not None and run.state == "done" and run.error is None, run
    assert list(run.stages) == ["ais", "read", "detect", "fuse", "publish"] and all(v >= 0 for v in run.stages.values())
    assert worker.run_next() is None
    found = _findings(inst, user("FRA", "NS"))
    assert [f["id"] for f in found] == [run.finding]
    p = found[0]["properties"]
    assert p["aquila:source"] == ["deu-sar/s1"] and p["aquila:vessels"] >= 5 and p["aquila:dark_vessels"] is not None
    assert "detections" in found[0]["assets"]
    # the same event read again (a crash before the ack) queues nothing: the run is done
    assert inst.pipeline_runs().enqueue("ships", "ships-1", "deu-sar", "s1", run.label, 1) is None
    assert _findings(inst, user("POL", "CTS")) == []  # the scene's label: NS REL FRA (and DEU)
    worker.close()
    inst.close()


def test_collections_without_the_pipeline_and_items_without_data_queue_nothing(tmp_path: Path, scene: Path) -> None:
    inst = _instance(tmp_path, scene, None)
    _upload(inst, scene, "s1")
    inst.library.operator_collection({**collection("deu-sar2", rel=["NATO"], orig="DEU"),
                                      "aquila:pipelines": ["ships"]})
    inst.library.publish(DEU, "deu-sar2", [item("bare", "deu-sar2", cls="NS", orig="DEU", dt=ACQ)])
    for bad in (["ships", "no-such-pipeline"], "ships", ["ships", "ships"], [{"name": "ships"}]):
        with pytest.raises(InputError, match="aquila:pipelines"):
            inst.library.operator_collection({**collection("deu-sar3", orig="DEU"), "aquila:pipelines": bad})
    worker = PipelineWorker(inst)
    assert worker.intake() == []
    assert worker.run_next() is None
    worker.close()
    inst.close()


def test_a_corrupt_upload_fails_with_its_reason_and_publishes_nothing(tmp_path: Path, scene: Path) -> None:
    inst = _instance(tmp_path, scene, ["ships"])
    _upload(inst, scene, "bad", data=b"II*\x00 not really a tiff" * 100)
    worker = PipelineWorker(inst, land_mask="none")
    worker.intake()
    run = worker.run_next()
    assert run is not None and run.state == "failed"
    assert run.error and "GeoTIFF" in run.error, run.error
    assert run.finding is None and _findings(inst, user("DEU", "CTS")) == []
    # a new upload of the same item queues it again, and this time it works
    srv = LiveServer(inst.data_dir)
    with srv.client(DEU) as c:
        r = c.put("/collections/deu-sar/items/bad/assets/data", content=(scene / "scene.tif").read_bytes(),
                  headers={"Content-Type": "image/tiff"})
    srv.stop()
    assert r.status_code in (200, 201), r.text
    assert [r.state for r in worker.intake()] == ["queued"]
    worker.land_mask = str(scene / "land.tif")
    again = worker.run_next()
    assert again is not None and again.state == "done" and again.id == run.id and again.attempts == 1
    worker.close()
    inst.close()


def test_a_worker_that_dies_mid_run_leaves_it_to_the_next_one_and_one_finding(tmp_path: Path, scene: Path) -> None:
    inst = _instance(tmp_path, scene, ["ships"])
    _upload(inst, scene, "s1")
    first = PipelineWorker(inst, land_mask=str(scene / "land.tif"))
    first.intake()
    claimed = first.queue.claim()  # the first worker took the run ...
    assert claimed is not None and claimed.state == "running"
    # ... and published the finding, then died before recording the run as done
    analyze_ships(inst.library, producer_for("DEU"), "deu-sar", "s1", None, id_key=inst.findings_key,
                  land_mask=str(scene / "land.tif"))
    first.close()
    second = PipelineWorker(inst, land_mask=str(scene / "land.tif"))
    assert second.work(once=True) == 1
    run = second.queue.get(claimed.id)
    assert run is not None and run.state == "done" and run.attempts == 2
    assert len(_findings(inst, user("DEU", "CTS"))) == 1
    second.close()
    inst.close()


def test_a_scene_that_kills_every_worker_fails_after_the_attempts(tmp_path: Path, scene: Path) -> None:
    inst = _instance(tmp_path, scene, ["ships"])
    _upload(inst, scene, "s1")
    w = PipelineWorker(inst)
    w.intake()
    for _ in range(w.queue.max_attempts):
        assert w.queue.recover() in (0, 1)
        assert w.queue.claim() is not None  # and the worker dies
    w.queue.recover()
    (run,) = w.queue.since()
    assert run.state == "failed" and "interrupted 3 times" in (run.error or "")
    w.close()
    inst.close()


def test_runs_over_http_are_seen_only_by_who_may_read_the_source(tmp_path: Path, scene: Path, live: LiveServer
                                                                  ) -> None:
    inst = _instance(tmp_path, scene, ["ships"], live.instance)
    _upload(inst, scene, "s1")
    worker = PipelineWorker(inst, land_mask=str(scene / "land.tif"))
    worker.work(once=True)
    client = live.client()

    def bearer(_: Instance, u: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {live.token(u)}"}

    r = client.get("/pipelines/runs", headers=bearer(inst, user("FRA", "NS")))
    assert r.status_code == 200, r.text
    (run,) = r.json()["runs"]
    assert run["source"] == "deu-sar/s1" and run["state"] == "done" and run["finding"]
    assert set(run["stages_s"]) == {"ais", "read", "detect", "fuse", "publish"}
    since = r.json()["next_since"]
    assert client.get(f"/pipelines/runs?since={since}", headers=bearer(inst, user("FRA", "NS"))).json()["runs"] == []
    t0 = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    assert len(client.get("/pipelines/runs", params={"since": t0},
                          headers=bearer(inst, user("FRA", "NS"))).json()["runs"]) == 1
    for outsider in (user("POL", "CTS"), user("FRA", "NC"), user("USA", "CTS", roles=("admin",))):
        body = client.get("/pipelines/runs", headers=bearer(inst, outsider)).json()
        assert body["runs"] == [], outsider
    for bad in ("yesterday", "2026-13-01T00:00:00Z"):
        r = client.get("/pipelines/runs", params={"since": bad}, headers=bearer(inst, user("FRA", "NS")))
        assert r.status_code == 400 and "since" in r.text
    r = client.get("/pipelines/runs", params={"limit": 0}, headers=bearer(inst, user("FRA", "NS")))
    assert r.status_code == 400 and "limit" in r.text
    assert client.get("/pipelines/runs").status_code == 401
    listed = [e for e in inst.audit.entries(after=0) if e.action == "list pipeline runs"]
    assert len(listed) == 6 and {e.nation for e in listed} == {"FRA", "POL", "USA"}
    client.close()
    worker.close()


def test_killing_the_worker_process_mid_scene_still_gives_exactly_one_finding(tmp_path: Path) -> None:
    """A real `aquila pipelines work` process, killed (SIGKILL) while its run is `running`; the next worker
    process recovers the run: one finding, the run done."""
    import subprocess
    import sys
    import time

    big = tmp_path / "big"
    r = CliRunner().invoke(cli, ["synth", "sar", "--seed", "8", "--size", "3072", "--ships", "40", "--out", str(big),
                                 "--ais-time", ACQ])
    assert r.exit_code == 0, r.output
    inst = _instance(tmp_path, big, ["ships"])
    _upload(inst, big, "s1")
    cmd = [sys.executable, "-m", "aquila", "pipelines", "work", "--data", str(inst.data_dir), "--land-mask",
           str(big / "land.tif")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    queue = inst.pipeline_runs()
    deadline = time.monotonic() + 60
    state = None
    while time.monotonic() < deadline and proc.poll() is None:
        runs = queue.since()
        state = runs[0].state if runs else None
        if state in ("running", "done"):
            break
        time.sleep(0.02)  # polling the queue with a deadline
    proc.kill()
    proc.wait(10)
    said = proc.stderr.read() if proc.stderr else b""
    if proc.stderr:
        proc.stderr.close()
    assert state in ("running", "done"), (state, said)
    out = subprocess.run([*cmd, "--once"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    (run,) = queue.since()
    assert run.state == "done" and run.finding, run
    assert [f["id"] for f in _findings(inst, user("DEU", "CTS"))] == [run.finding]
    queue.close()
    inst.close()
