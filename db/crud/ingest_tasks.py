"""Queued ingests: the files handed to a worker, its progress, its result."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, delete, select

from db.models import IngestTask, IngestTaskFile, IngestTaskStatus, utcnow


def create_task(
    *, session: Session, collection_id: int, files: list[dict[str, Any]], created_by_id: int | None = None
) -> IngestTask:
    """Store an upload (``files``: name, data, kind, force) as a queued task; return it."""
    task = IngestTask(collection_id=collection_id, total=len(files), created_by_id=created_by_id)
    session.add(task)
    session.flush()
    for position, item in enumerate(files):
        session.add(
            IngestTaskFile(
                task_id=task.id,
                position=position,
                name=item["name"],
                kind=item.get("kind"),
                force=bool(item.get("force", False)),
                data=item["data"],
            )
        )
    session.flush()
    return task


def get_task(*, session: Session, task_id: int) -> IngestTask | None:
    """The task with this id, or None."""
    return session.get(IngestTask, task_id)


def task_files(*, session: Session, task_id: int) -> list[IngestTaskFile]:
    """The task's files in upload order."""
    query = select(IngestTaskFile).where(IngestTaskFile.task_id == task_id).order_by(col(IngestTaskFile.position))
    return list(session.exec(query))


def start_task(*, session: Session, task_id: int, worker: str) -> IngestTask | None:
    """Mark the task running on ``worker``; None when it does not exist."""
    task = session.get(IngestTask, task_id)
    if task is None:
        return None
    task.status = IngestTaskStatus.RUNNING
    task.worker = worker[:200]
    task.heartbeat_at = utcnow()
    session.add(task)
    session.flush()
    return task


def save_task_progress(*, session: Session, task_id: int, total: int, progress: dict[str, Any]) -> None:
    """Store the task's progress picture and beat its heart."""
    task = session.get(IngestTask, task_id)
    if task is not None:
        task.total = max(task.total, total)
        task.progress = progress
        task.heartbeat_at = utcnow()
        session.add(task)
        session.flush()


def finish_task(
    *,
    session: Session,
    task_id: int,
    status: IngestTaskStatus,
    report: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """Close the task and drop its stored files (the sources keep their originals)."""
    task = session.get(IngestTask, task_id)
    if task is None:
        return
    task.status, task.report, task.error = status, report, error
    task.heartbeat_at = utcnow()
    session.add(task)
    session.exec(delete(IngestTaskFile).where(IngestTaskFile.task_id == task_id))
    session.flush()
