"""Pipeline runs: the record of one analytics pipeline's run on one source item, and the queue's port.

The embedded backend is `aquila.catalog.backends.sqlite.pipeline_runs.RunQueue` (`pipelines.db`); what a run's
states mean and how the queue stays idempotent is told there and in `aquila.analytics.pipeline`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from aquila.security.labels import Label

__all__ = ["PipelineRun", "RunQueueStore", "RUN_STATES", "KNOWN_PIPELINES", "PIPELINES_PROPERTY"]

RUN_STATES = ("queued", "running", "done", "failed")
KNOWN_PIPELINES = ("ships",)
"""What a collection may declare (`aquila.analytics.pipeline.PIPELINES` runs them)."""
PIPELINES_PROPERTY = "aquila:pipelines"


@dataclass
class PipelineRun:
    """One pipeline's run on one source item."""

    id: str
    pipeline: str
    version: str
    collection: str
    item: str
    label: Label
    """The source item's label when the run was queued."""
    event_seq: int
    state: str
    attempts: int
    queued: str
    started: str | None = None
    finished: str | None = None
    updated: str = ""
    stages: dict[str, float] = field(default_factory=dict)
    """Seconds per stage (read, detect, fuse, publish, ...), in the order they ran."""
    error: str | None = None
    finding: str | None = None

    def as_json(self, finding_visible: bool = True) -> dict[str, Any]:
        return {"id": self.id, "pipeline": self.pipeline, "version": self.version,
                "source": f"{self.collection}/{self.item}", "state": self.state, "attempts": self.attempts,
                "queued": self.queued, "started": self.started, "finished": self.finished, "updated": self.updated,
                "stages_s": self.stages, "total_s": round(sum(self.stages.values()), 3) if self.stages else None,
                "error": self.error, "finding": self.finding if finding_visible else None}



class RunQueueStore(Protocol):
    """The durable queue of pipeline runs."""

    max_attempts: int

    def enqueue(self, pipeline: str, version: str, collection: str, item: str, label: Label, event_seq: int
                ) -> PipelineRun | None: ...

    def recover(self) -> int: ...

    def claim(self) -> PipelineRun | None: ...

    def stage(self, run_id: str, stages: dict[str, float]) -> None: ...

    def finish(self, run_id: str, stages: dict[str, float], finding: str | None = None,
               error: str | None = None) -> None: ...

    def get(self, run_id: str) -> PipelineRun | None: ...

    def since(self, updated_after: str = "", limit: int = 100) -> list[PipelineRun]: ...

    def pending(self) -> int: ...

    def close(self) -> None: ...
