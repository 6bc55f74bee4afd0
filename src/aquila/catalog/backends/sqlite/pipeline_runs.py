"""The pipeline queue in `pipelines.db`: one row per (pipeline, version, source item), durable across restarts.

A run is queued when the catalog's outbox says a pipeline collection's item got its data, claimed by the
worker (`running`, one more attempt), and finished `done` (with the finding's id) or `failed` (with the
reason). The key makes the queue idempotent: the same scene under the same pipeline version is queued once,
however often its event is read again; a failed run is queued again when its source changes (a new upload).
A worker that dies mid-run leaves the row `running`: the next worker puts it back in the queue, and after
`max_attempts` interrupted attempts marks it failed (a scene that kills the worker every time).
"""

from __future__ import annotations

import json
import secrets
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aquila.catalog.backends.sqlite.db import connect, transaction
from aquila.catalog.pipeline_runs import PipelineRun
from aquila.security.labels import Label

__all__ = ["RunQueue"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, version TEXT NOT NULL,
  collection TEXT NOT NULL, item TEXT NOT NULL, label TEXT NOT NULL, event_seq INTEGER NOT NULL,
  state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, queued TEXT NOT NULL, started TEXT, finished TEXT,
  updated TEXT NOT NULL, stages TEXT NOT NULL DEFAULT '{}', error TEXT, finding TEXT,
  UNIQUE (pipeline, version, collection, item));
CREATE INDEX IF NOT EXISTS runs_updated ON runs (updated);
CREATE INDEX IF NOT EXISTS runs_state ON runs (state, queued);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


_COLUMNS = ("id, pipeline, version, collection, item, label, event_seq, state, attempts, queued, started, finished, "
            "updated, stages, error, finding")


def _run(row: tuple[Any, ...]) -> PipelineRun:
    return PipelineRun(row[0], row[1], row[2], row[3], row[4], Label.from_properties(json.loads(row[5]), prefix=""),
                       row[6], row[7], row[8], row[9], row[10], row[11], row[12], json.loads(row[13]), row[14],
                       row[15])


class RunQueue:
    """The durable queue of pipeline runs of one instance (thread-safe; several processes may open it)."""

    def __init__(self, path: str | Path, max_attempts: int = 3) -> None:
        self.path = Path(path)
        self.max_attempts = max_attempts
        self._db = connect(self.path)
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def enqueue(self, pipeline: str, version: str, collection: str, item: str, label: Label, event_seq: int
                ) -> PipelineRun | None:
        """Queue a run unless this (pipeline, version, item) has one queued, running or done; a failed one is
        queued again. Returns the run queued, or None when there was nothing to do."""
        props = json.dumps(label.to_properties(), separators=(",", ":"))
        now = _now()
        with self._lock, transaction(self._db) as db:
            row = db.execute("SELECT id, state FROM runs WHERE pipeline = ? AND version = ? AND collection = ? "
                             "AND item = ?", (pipeline, version, collection, item)).fetchone()
            if row is None:
                rid = secrets.token_hex(8)
                db.execute(f"INSERT INTO runs ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,'queued',0,?,NULL,NULL,?,'{{}}',"
                           "NULL,NULL)", (rid, pipeline, version, collection, item, props, event_seq, now, now))
            elif row[1] == "failed":
                rid = row[0]
                db.execute("UPDATE runs SET state = 'queued', attempts = 0, label = ?, event_seq = ?, queued = ?, "
                           "started = NULL, finished = NULL, updated = ?, stages = '{}', error = NULL WHERE id = ?",
                           (props, event_seq, now, now, rid))
            else:
                return None
            return self._get(db, rid)

    def recover(self) -> int:
        """At a worker's start: runs left `running` by a dead worker go back to the queue (or fail after
        `max_attempts`). Returns how many were recovered."""
        now = _now()
        with self._lock, transaction(self._db) as db:
            db.execute("UPDATE runs SET state = 'failed', finished = ?, updated = ?, error = ? WHERE state = 'running' "
                       "AND attempts >= ?", (now, now, f"interrupted {self.max_attempts} times (the worker stopped "
                                                      "during the run each time)", self.max_attempts))
            cur = db.execute("UPDATE runs SET state = 'queued', updated = ? WHERE state = 'running'", (now,))
            return cur.rowcount

    def claim(self) -> PipelineRun | None:
        """The oldest queued run, now `running` with one more attempt (None when the queue is empty)."""
        now = _now()
        with self._lock, transaction(self._db) as db:
            row = db.execute("SELECT id FROM runs WHERE state = 'queued' ORDER BY queued, id LIMIT 1").fetchone()
            if row is None:
                return None
            db.execute("UPDATE runs SET state = 'running', attempts = attempts + 1, started = ?, updated = ? "
                       "WHERE id = ?", (now, now, row[0]))
            return self._get(db, row[0])

    def stage(self, run_id: str, stages: dict[str, float]) -> None:
        """Record the stage durations so far (a run that dies shows where it was)."""
        with self._lock:
            self._db.execute("UPDATE runs SET stages = ?, updated = ? WHERE id = ?",
                             (json.dumps(stages), _now(), run_id))

    def finish(self, run_id: str, stages: dict[str, float], finding: str | None = None, error: str | None = None
               ) -> None:
        state = "failed" if error is not None else "done"
        now = _now()
        with self._lock:
            self._db.execute("UPDATE runs SET state = ?, finished = ?, updated = ?, stages = ?, error = ?, finding = ? "
                             "WHERE id = ?", (state, now, now, json.dumps(stages), error, finding, run_id))

    def get(self, run_id: str) -> PipelineRun | None:
        with self._lock:
            return self._get(self._db, run_id)

    def since(self, updated_after: str = "", limit: int = 100) -> list[PipelineRun]:
        """Runs updated after the instant (ISO 8601 UTC, as the rows store it), oldest change first."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM runs WHERE updated > ? ORDER BY updated, id LIMIT ?",
                                    (updated_after, limit)).fetchall()
        return [_run(r) for r in rows]

    def pending(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM runs WHERE state IN ('queued', 'running')").fetchone()[0])

    @staticmethod
    def _get(db: Any, run_id: str) -> PipelineRun | None:
        row = db.execute(f"SELECT {_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _run(row) if row else None
