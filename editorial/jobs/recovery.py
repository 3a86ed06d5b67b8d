"""Clean up after workers that died: their queue jobs, their ingest tasks, their runs.

A worker killed mid-job leaves its procrastinate job ``doing`` (holding its collection's lock, which would
block every later ingest into that collection) and its run or ingest task without a heartbeat. Every worker
runs :func:`recover` every ``EDITORIAL_WORKER_RECOVERY_S`` seconds (15 by default; a periodic task): jobs of
workers whose procrastinate heartbeat stopped are failed, their ingest tasks marked failed, and runs whose
heartbeat is stale marked failed (resumable).
"""

from __future__ import annotations

import asyncio
import logging

from procrastinate import JobContext
from procrastinate.jobs import Status

from db.crud import ingest_tasks as task_crud
from db.crud import runs as run_crud
from db.models import IngestTaskStatus
from db.session import session_scope
from editorial.jobs import queue
from editorial.jobs.runtime import runtime

logger = logging.getLogger(__name__)


def cron(every_s: int) -> str:
    """The periodic task's schedule: every ``every_s`` seconds of each minute (the sixth column is seconds)."""
    return f"* * * * * */{every_s}"


def _fail_ingest_tasks(task_ids: list[int]) -> None:
    engine = runtime().engine
    with session_scope(engine) as session:
        for task_id in task_ids:
            task = task_crud.get_task(session=session, task_id=task_id)
            if task is not None and task.status in (IngestTaskStatus.QUEUED, IngestTaskStatus.RUNNING):
                task_crud.finish_task(
                    session=session,
                    task_id=task_id,
                    status=IngestTaskStatus.FAILED,
                    error="The worker ingesting this upload stopped; retry the failed sources.",
                )


def _fail_stale_runs() -> list[int]:
    work = runtime()
    with session_scope(work.engine) as session:
        return run_crud.mark_stale_runs(session=session, stale_after=work.settings.run_stale_after)


async def recover(context: JobContext, timestamp: int) -> str:
    """Fail the jobs of dead workers (releasing their locks), their ingest tasks, and stale runs."""
    manager = context.app.job_manager
    limit = runtime().settings.worker_stalled_after_s
    stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=limit))
    ingest_ids = []
    for job in stalled:
        await manager.finish_job(job, status=Status.FAILED, delete_job=False)
        if job.task_name == queue.INGEST_TASK and "task_id" in job.task_kwargs:
            ingest_ids.append(int(job.task_kwargs["task_id"]))
    if ingest_ids:
        await asyncio.to_thread(_fail_ingest_tasks, ingest_ids)
    runs = await asyncio.to_thread(_fail_stale_runs)
    if stalled or runs:
        logger.warning("recovered %d stalled job(s) and %d stale run(s) of dead workers", len(stalled), len(runs))
    return f"{len(stalled)} jobs, {len(runs)} runs"
