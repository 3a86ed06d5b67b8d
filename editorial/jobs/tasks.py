"""The queue's tasks as a worker runs them: a writing run, an ingest."""

from __future__ import annotations

import logging
import threading
from typing import Any

from db.crud import runs as run_crud
from db.models import RunStatus
from db.session import session_scope
from editorial.chain.runner import RunRequest, execute
from editorial.jobs.ingest import run_ingest_task
from editorial.jobs.runtime import runtime, worker_name

logger = logging.getLogger(__name__)


def run_task(run_id: int, chroma_name: str | None = None, choices: dict[str, Any] | None = None) -> str:
    """Execute (or resume) run ``run_id`` in this worker; its progress and outcome go to the database."""
    work = runtime()
    engine = work.engine
    with session_scope(engine) as session:
        run = run_crud.get_run(session=session, run_id=run_id)
        if run is None or run.status != RunStatus.RUNNING:
            logger.info("run %s is gone or no longer running; nothing to do", run_id)
            return "skipped"
        request = RunRequest.model_validate(run.params)
        run_crud.set_live(session=session, run_id=run_id, stage="starting", worker=worker_name())
        cancelled = run.cancel_requested
    cancel = threading.Event()
    if cancelled:
        cancel.set()
    try:
        services = work.services(chroma_name=chroma_name, choices=choices, user_id=request.user_id)
    except Exception as exc:  # the models could not be built: the run fails with one line, and can resume
        logger.exception("run %s: services could not be built", run_id)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        with session_scope(engine) as session:
            run_crud.finish_run(session=session, run_id=run_id, status=RunStatus.FAILED, error=first[:500])
        return "failed"
    outcome = execute(run_id, request, services, cancel=cancel)
    return outcome.status.value


def ingest_task(task_id: int) -> str:
    """Ingest the files of queued task ``task_id`` in this worker."""
    work = runtime()
    return run_ingest_task(work.settings, work.engine, work.embeddings, task_id, worker=worker_name())
