"""Ingests through the queue: the upload is stored in the database, a worker ingests it, any app shows it.

The app stores the files as an ``ingest_task`` and defers a job (one lock per collection, so uploads into
one collection run in turn across all workers). The worker records progress on the task row (throttled)
and its report at the end; :class:`QueuedIngest` gives the page the same snapshots as an in-process job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from db.crud import ingest_tasks as task_crud
from db.models import IngestTask, IngestTaskStatus
from db.session import session_scope
from editorial.errors import EditorialError
from editorial.ingest.jobs import FileProgress, JobSnapshot
from editorial.ingest.live import heartbeat_stale
from editorial.ingest.pipeline import IngestItem, ingest_items
from editorial.ingest.progress import Action, FileOutcome, IngestCallbacks, IngestReport
from editorial.jobs import queue
from editorial.settings import Settings

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.5


def submit_ingest(
    settings: Settings, engine: Engine, *, collection_id: int, items: list[IngestItem], user_id: int | None
) -> int:
    """Store the upload as a task and queue it; return the task id."""
    files = [{"name": i.name, "data": i.read(), "kind": i.kind, "force": i.force} for i in items]
    with session_scope(engine) as session:
        task_id = task_crud.create_task(
            session=session, collection_id=collection_id, files=files, created_by_id=user_id
        ).id
    try:
        queue.client(settings).configure_task(queue.INGEST_TASK, lock=f"collection-{collection_id}").defer(
            task_id=task_id
        )
    except Exception as exc:
        with session_scope(engine) as session:
            task_crud.finish_task(
                session=session, task_id=task_id, status=IngestTaskStatus.FAILED, error="The task queue refused it."
            )
        if isinstance(exc, EditorialError):
            raise
        logger.exception("queueing ingest task %s failed", task_id)
        raise EditorialError(f"The task queue refused the upload: {type(exc).__name__}") from exc
    return task_id


def _outcome(data: dict[str, Any]) -> FileOutcome:
    return FileOutcome(**{**data, "action": Action(data["action"])})


def task_snapshot(task: IngestTask, stale_after) -> JobSnapshot:
    """The page's picture of a queued task (a task whose worker went silent counts as failed)."""
    progress = dict(task.progress or {})
    active = [FileProgress(**item) for item in progress.get("active", [])]
    outcomes = [_outcome(item) for item in progress.get("outcomes", [])]
    report, error = None, task.error
    if task.report is not None:
        report = IngestReport(outcomes=[_outcome(o) for o in task.report.get("outcomes", [])])
        report.seconds = float(task.report.get("seconds", 0.0))
    running = task.status in (IngestTaskStatus.QUEUED, IngestTaskStatus.RUNNING)
    beat = task.heartbeat_at
    if task.status == IngestTaskStatus.RUNNING and beat is not None and heartbeat_stale(beat, stale_after):
        running, error = False, "The worker ingesting this upload stopped; retry the failed sources."
    if task.status == IngestTaskStatus.FAILED and error is None:
        error = "The ingest failed."
    return JobSnapshot(
        total=task.total,
        finished=len(outcomes),
        active=active,
        outcomes=outcomes,
        running=running,
        report=report,
        error=error,
    )


class QueuedIngest:
    """A queued ingest as the Sources page sees it: ``snapshot()`` reads the task row."""

    def __init__(self, engine: Engine, task_id: int, settings: Settings):
        self.engine, self.task_id, self.settings = engine, task_id, settings

    def snapshot(self) -> JobSnapshot:
        """The progress so far, from the database."""
        with session_scope(self.engine) as session:
            task = task_crud.get_task(session=session, task_id=self.task_id)
        if task is None:
            return JobSnapshot(total=0, finished=0, running=False, error="The ingest task no longer exists.")
        return task_snapshot(task, self.settings.ingest_stale_after)


class StoredIngestProgress(IngestCallbacks):
    """Writes the ingest's progress to its task row, at most every ``interval`` seconds (and at each file)."""

    def __init__(self, engine: Engine, task_id: int, total: int, *, interval: float = PROGRESS_INTERVAL_S):
        self.engine, self.task_id, self.total, self.interval = engine, task_id, total, interval
        self._lock = threading.Lock()
        self.active: dict[str, FileProgress] = {}
        self.outcomes: list[FileOutcome] = []
        self._written = 0.0

    def _write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._written < self.interval:
            return
        with self._lock:
            picture = {
                "active": [asdict(p) for p in self.active.values()],
                "outcomes": [{**asdict(o), "action": o.action.value} for o in self.outcomes],
            }
        try:
            with session_scope(self.engine) as session:
                task_crud.save_task_progress(session=session, task_id=self.task_id, total=self.total, progress=picture)
            self._written = now
        except Exception:  # a busy database skips one picture; the next event retries
            logger.warning("progress of ingest task %s not stored", self.task_id, exc_info=True)

    def write_now(self) -> None:
        """Store the picture now (the heartbeat)."""
        self._write(force=True)

    def on_start(self, total_files: int) -> None:  # noqa: D102
        self.total = max(self.total, total_files)
        self._write(force=True)

    def on_file_stage(self, name: str, stage: str, done: int = 0, total: int = 0) -> None:  # noqa: D102
        with self._lock:
            self.active[name] = FileProgress(name, stage, done, total)
        self._write()

    def on_file_done(self, outcome: FileOutcome) -> None:  # noqa: D102
        with self._lock:
            self.active.pop(outcome.name, None)
            self.outcomes.append(outcome)
        self._write(force=True)


def run_ingest_task(
    settings: Settings, engine: Engine, embeddings: Callable[[], Any], task_id: int, *, worker: str
) -> str:
    """Ingest a queued task's files (in a worker); record its report or its one-line error on the task."""
    with session_scope(engine) as session:
        task = task_crud.start_task(session=session, task_id=task_id, worker=worker)
        if task is None or task.status != IngestTaskStatus.RUNNING:
            return "skipped"
        collection_id, user_id = task.collection_id, task.created_by_id
        items = [
            IngestItem(f.name, data=f.data, kind=f.kind, force=f.force)
            for f in task_crud.task_files(session=session, task_id=task_id)
        ]
    progress = StoredIngestProgress(engine, task_id, len(items))
    stop = threading.Event()

    def beat() -> None:  # a long parse or embedding batch sends no event: keep the task visibly alive
        while not stop.wait(settings.ingest_heartbeat_s):
            progress.write_now()

    threading.Thread(target=beat, name=f"ingest-task-{task_id}-heartbeat", daemon=True).start()
    try:
        report = ingest_items(
            settings,
            engine,
            embeddings(),
            collection_id=collection_id,
            items=items,
            user_id=user_id,
            callbacks=progress,
        )
    except Exception as exc:
        if isinstance(exc, EditorialError):
            logger.warning("ingest task %s failed: %s", task_id, exc, exc_info=True)
            error = str(exc)
        else:
            logger.exception("ingest task %s failed unexpectedly", task_id)
            error = f"Unexpected error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        with session_scope(engine) as session:
            task_crud.finish_task(session=session, task_id=task_id, status=IngestTaskStatus.FAILED, error=error)
        return "failed"
    finally:
        stop.set()
    saved = {
        "outcomes": [{**asdict(o), "action": o.action.value} for o in report.outcomes],
        "seconds": report.seconds,
        "finished_at": datetime.now(UTC).isoformat(),
    }
    with session_scope(engine) as session:
        task_crud.finish_task(session=session, task_id=task_id, status=IngestTaskStatus.SUCCEEDED, report=saved)
    return "succeeded"
