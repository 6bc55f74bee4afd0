"""Analytics pipelines: what is published into a pipeline collection is analysed, and the finding published.

A collection declares them at its top level, `"aquila:pipelines": ["ships"]`. The worker reads the catalog's
outbox with its own durable cursor (no polling of the catalog): when an item of such a collection gets its
`data` asset — uploaded, or created/updated with a `file:` href under a read root the instance was given —
a run is queued in the instance's durable queue (`pipelines.db`), then executed: the ships pipeline reads
the scene as its originator nation, detects ships, fuses them with the instance's AIS (files under
`DATA/ais/`) and publishes the finding into `maritime-findings` with its derived label
(`aquila.analytics.findings`). Each stage is timed; a failure is recorded with its reason and publishes
nothing. Idempotent twice over: a scene is queued once per pipeline version, and the finding's id is a
keyed function of the scene and the version, so a run interrupted after publishing and run again finds its
finding instead of making a second.

`aquila serve` runs the worker in a child process (`aquila pipelines work`), so a scene that crashes
the detector cannot take the API down; `PipelineWorker` is the same loop in process (tests, one-shot runs).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aquila.catalog.pipeline_runs import KNOWN_PIPELINES, PIPELINES_PROPERTY
from aquila.errors import AquilaError, NotFound

if TYPE_CHECKING:
    from aquila.catalog.pipeline_runs import PipelineRun, RunQueueStore
    from aquila.instance import Instance

__all__ = ["PIPELINES", "PIPELINES_PROPERTY", "CONSUMER", "PipelineWorker", "declared_pipelines", "visible_runs"]

CONSUMER = "pipelines"
"""The worker's name on the outbox (its cursor)."""


def _ships_version() -> str:
    from aquila.analytics.findings import PIPELINE_VERSION

    return PIPELINE_VERSION


PIPELINES: dict[str, Callable[[], str]] = {"ships": _ships_version}
"""Pipeline name -> its version (a new version may analyse a scene again)."""
assert tuple(PIPELINES) == KNOWN_PIPELINES, "the catalog's validator must know every pipeline"


def declared_pipelines(collection_doc: dict[str, Any]) -> list[str]:
    """The pipelines a collection declares (the catalog's validator refuses unknown names)."""
    names = collection_doc.get(PIPELINES_PROPERTY)
    return [n for n in names if isinstance(n, str) and n in PIPELINES] if isinstance(names, list) else []


def _has_file_href(doc: dict[str, Any]) -> bool:
    href = ((doc.get("assets") or {}).get("data") or {}).get("href")
    return isinstance(href, str) and href.startswith(("file:", "/"))


class PipelineWorker:
    """Consumes the outbox into the run queue and executes the runs, one at a time."""

    def __init__(self, instance: Instance, read_roots: Sequence[Path] = (), land_mask: str = "auto",
                 ais_dir: Path | None = None) -> None:
        self.instance = instance
        self.read_roots = [Path(r) for r in read_roots]
        self.land_mask = land_mask
        self.ais_dir = ais_dir if ais_dir is not None else instance.data_dir / "ais"
        self.queue: RunQueueStore = instance.pipeline_runs()
        self._events = instance.events()
        self._consumer = self._events.consumer(CONSUMER)

    def close(self) -> None:
        self.queue.close()
        self._events.close()

    # -- intake: outbox events -> queued runs ------------------------------------------------------------
    def intake(self, limit: int = 1000) -> list[PipelineRun]:
        """Queue the runs the new events call for, then acknowledge them (a crash in between reads them again:
        queueing is idempotent). Returns the runs queued."""
        queued: list[PipelineRun] = []
        events = self._consumer.poll(limit)
        for e in events:
            if e.item is None or not (e.kind == "asset.uploaded" and e.asset == "data"
                                      or e.kind in ("item.created", "item.updated")):
                continue
            for name in self._wanted(e):
                run = self.queue.enqueue(name, PIPELINES[name](), e.collection, e.item, e.label, e.seq)
                if run is not None:
                    queued.append(run)
        if events:
            self._consumer.ack(events[-1].seq)
        return queued

    def _wanted(self, e: Any) -> list[str]:
        """The pipelines the event's collection declares, if the item (as its originator sees it) has data."""
        from aquila.analytics.findings import producer_for

        user = producer_for(e.label.originator, e.label.caveats)
        store = self.instance.store
        item = store.item(user, e.collection, e.item)
        if item is None or item.label != e.label:
            return []  # gone, or another instance of the id (each is analysed on its own event)
        col = store.writable_collection(user, e.collection)
        if col is None or col.crid != item.crid:
            return []
        names = declared_pipelines(col.doc)
        if not names:
            return []
        if e.kind != "asset.uploaded" and store.asset(item.rid, "data") is None and not _has_file_href(item.doc):
            return []  # no data yet (an upload later has its own event); the queue drops repeats
        return names

    # -- execution --------------------------------------------------------------------------------------
    def run_next(self) -> PipelineRun | None:
        """Claim the oldest queued run and execute it; None when the queue is empty."""
        run = self.queue.claim()
        if run is None:
            return None
        stages: dict[str, float] = {}
        try:
            finding = self._execute(run, stages)
        except Exception as exc:  # noqa: BLE001 - any failure is the run's, recorded with its reason
            self.queue.finish(run.id, stages, error=_reason(exc))
        else:
            self.queue.finish(run.id, stages, finding=finding)
        return self.queue.get(run.id)

    def _execute(self, run: PipelineRun, stages: dict[str, float]) -> str:
        from aquila.analytics.findings import analyze_ships, producer_for

        user = producer_for(run.label.originator, run.label.caveats)
        t0 = time.perf_counter()
        ais = self._ais()
        stages["ais"] = round(time.perf_counter() - t0, 3)
        self.queue.stage(run.id, stages)
        try:
            found = analyze_ships(self.instance.library, user, run.collection, run.item, ais,
                                  id_key=self.instance.findings_key, land_mask=self.land_mask,
                                  read_roots=self.read_roots, stages=stages,
                                  on_stage=lambda: self.queue.stage(run.id, stages))
        except NotFound:
            raise NotFound(f"{run.collection}/{run.item} is no longer in the library (or no longer releasable "
                           f"to its originator {run.label.originator})") from None
        return str(found.item["id"])

    def _ais(self) -> Any:
        """The instance's AIS: every file under `ais_dir` (None when there is none)."""
        from aquila.analytics.ais import AisData, read_ais

        if not self.ais_dir.is_dir():
            return None
        files = sorted(p for p in self.ais_dir.iterdir() if p.is_file() and not p.name.startswith("."))
        parts = [read_ais(p) for p in files if p.stat().st_size > 0]
        return AisData.concat(parts) if parts else None

    # -- the loop -----------------------------------------------------------------------------------------
    def work(self, stop: threading.Event | None = None, idle_s: float = 0.2, once: bool = False) -> int:
        """Recover interrupted runs, then intake and execute until `stop` is set (or, with `once`, until the
        outbox and the queue are both drained). Returns how many runs were executed."""
        stop = stop or threading.Event()
        self.queue.recover()
        _warm_up()
        done = 0
        while not stop.is_set():
            try:
                self.intake()
                if self.run_next() is not None:
                    done += 1
                    continue
            except Exception:  # noqa: BLE001 - the worker outlives a bad event or a locked database
                if once:
                    raise
                import logging

                logging.getLogger("aquila.pipelines").exception("pipeline intake failed; retrying")
                stop.wait(1.0)
                continue
            if once and not self._consumer.poll(1):
                return done
            self._consumer.wait(idle_s)
        return done


def _reason(exc: BaseException) -> str:
    if isinstance(exc, AquilaError):
        return str(exc)[:2000]
    return f"{type(exc).__name__}: {str(exc)[:2000]}"


def visible_runs(instance: Instance, user: Any, since: str = "", limit: int = 100) -> list[dict[str, Any]]:
    """The runs updated after `since` whose source `user` may read now (its finding id only if the finding is
    readable too); the listing is audited once. A run on a source the user may not read is absent, as the
    source itself is."""
    from aquila.analytics.findings import FINDINGS_COLLECTION
    from aquila.security.policy import decide_item

    store = instance.store
    out: list[dict[str, Any]] = []
    queue = instance.pipeline_runs()
    try:
        cursor = since
        while len(out) < limit:  # pages past the runs the user may not see (they never end a page early)
            runs = queue.since(cursor, 500)
            for run in runs:
                source = store.item(user, run.collection, run.item)
                if (source is None or source.label != run.label or source.collection_label is None
                        or not decide_item(user, source.label, source.collection_label)):
                    continue  # the run's own instance, as labelled now, not another the user happens to read
                visible = run.finding is not None and store.item(user, FINDINGS_COLLECTION, run.finding) is not None
                out.append(run.as_json(finding_visible=visible))
                if len(out) == limit:
                    break
            if len(runs) < 500:
                break
            cursor = runs[-1].updated
    finally:
        queue.close()
    instance.library.record(user, "list pipeline runs", f"pipelines/runs?since={since}", True,
                            f"{len(out)} runs whose source is readable")
    return out


def _warm_up() -> None:
    """Load the detector's compiled kernels (and the land mask's grid) before the first scene arrives: the first
    run would otherwise pay seconds for them, on the clock of the first alert."""
    import numpy as np

    from aquila.analytics.sar.detect import DetectorConfig, detect_array

    rng = np.random.default_rng(0)
    x = rng.exponential(1.0, (256, 256)).astype(np.float32)
    x[100:104, 100:110] = 200.0
    land = np.zeros((256, 256), bool)
    land[:20] = True
    detect_array(x, (19.5, 1e-4, 0.0, 57.5, 0.0, -1e-4), "EPSG:4326", land, DetectorConfig())
    try:
        from global_land_mask import globe

        globe.is_land(np.array([57.5]), np.array([19.5]))
    except ImportError:  # pragma: no cover - a dependency of the package
        pass
