"""Writing runs through the queue: the app creates the run row and defers it; a worker executes it.

:class:`QueueRunRegistry` stands where the in-process :class:`~editorial.chain.runner.RunRegistry` stands
on the pages: it holds no threads (``remote`` is True, ``get`` finds nothing), so the pages show every run
from its row, which the worker keeps current (stage, finished sections, the section being written, calls).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from db.crud import runs as run_crud
from db.models import RunStatus
from db.session import session_scope
from editorial.chain.liveness import request_cancel
from editorial.chain.runner import RunRequest, create_run, prepare_resume
from editorial.errors import EditorialError
from editorial.jobs import queue
from editorial.settings import Settings

logger = logging.getLogger(__name__)

QUEUED = run_crud.QUEUED_STAGE
"""The stage of a run waiting for a worker (never taken as stale)."""


def submit_run(
    settings: Settings,
    engine: Engine,
    request: RunRequest,
    *,
    chroma_name: str | None,
    choices: dict[str, Any] | None = None,
    resume_run_id: int | None = None,
) -> int:
    """Create (or reopen, to resume) a run and queue it for a worker; return its id."""
    if resume_run_id is None:
        run_id = create_run(engine, request)
    else:
        prepare_resume(engine, resume_run_id)
        run_id = resume_run_id
    with session_scope(engine) as session:
        run_crud.set_live(session=session, run_id=run_id, stage=QUEUED, worker="")
    try:
        queue.defer(settings, queue.RUN_TASK, run_id=run_id, chroma_name=chroma_name, choices=choices or None)
    except EditorialError as exc:
        with session_scope(engine) as session:
            run_crud.finish_run(session=session, run_id=run_id, status=RunStatus.FAILED, error=str(exc))
        raise
    return run_id


class QueueRunRegistry:
    """The pages' run registry when runs execute in queue workers."""

    remote = True

    def __init__(self, settings: Settings, engine: Engine):
        self.settings, self.engine = settings, engine

    def submit(
        self,
        request: RunRequest,
        *,
        chroma_name: str | None,
        choices: dict[str, Any] | None = None,
        resume_run_id: int | None = None,
    ) -> int:
        """Queue a run (or its resume); return the run id."""
        return submit_run(
            self.settings, self.engine, request, chroma_name=chroma_name, choices=choices, resume_run_id=resume_run_id
        )

    def get(self, run_id: int) -> None:
        """No run works in this process's threads."""
        return None

    def cancel(self, run_id: int) -> bool:
        """Ask the run to stop, wherever it works."""
        return request_cancel(self.engine, run_id)

    def active_ids(self) -> list[int]:
        """Workers bound the work, not this process: nothing here blocks a new run."""
        return []
