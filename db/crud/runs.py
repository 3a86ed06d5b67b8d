"""Runs of the chain: create, save progress (resumable state), heartbeat, finish, detect dead ones."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, col, select

from db.models import Run, RunKind, RunStatus, utcnow

STALE_AFTER = timedelta(seconds=90)
"""A running run whose heartbeat is older than this belongs to a process that died."""

QUEUED_STAGE = "queued"
"""The stage of a run waiting for a queue worker."""


def create_run(
    *,
    session: Session,
    kind: RunKind,
    topic: str = "",
    collection_id: int | None = None,
    plan_id: int | None = None,
    draft_id: int | None = None,
    params: dict[str, Any] | None = None,
    started_by_id: int | None = None,
) -> Run:
    """Insert a new running run."""
    now = utcnow()
    run = Run(
        kind=kind,
        topic=topic,
        collection_id=collection_id,
        plan_id=plan_id,
        draft_id=draft_id,
        params=dict(params or {}),
        state={},
        started_by_id=started_by_id,
        started_at=now,
        heartbeat_at=now,
    )
    session.add(run)
    session.flush()
    return run


def get_run(*, session: Session, run_id: int) -> Run | None:
    """The run with this id, or None."""
    return session.get(Run, run_id)


def save_progress(
    *,
    session: Session,
    run_id: int,
    stage: str | None = None,
    state: dict[str, Any] | None = None,
    plan_id: int | None = None,
    draft_id: int | None = None,
) -> Run:
    """Store the current stage and the resumable state (replaced whole), and beat the heart."""
    run = session.get(Run, run_id)
    if run is None:
        raise LookupError(f"run {run_id} does not exist")
    if stage is not None:
        run.stage = stage
    if state is not None:
        run.state = copy.deepcopy(dict(state))
        flag_modified(run, "state")
    if plan_id is not None:
        run.plan_id = plan_id
    if draft_id is not None:
        run.draft_id = draft_id
    run.heartbeat_at = utcnow()
    session.add(run)
    session.flush()
    return run


def heartbeat(*, session: Session, run_id: int) -> None:
    """Mark the run as alive now."""
    run = session.get(Run, run_id)
    if run is not None:
        run.heartbeat_at = utcnow()
        session.add(run)
        session.flush()


def restart_run(*, session: Session, run_id: int) -> Run:
    """Set a failed or cancelled run running again (for a resume); its state is kept."""
    run = session.get(Run, run_id)
    if run is None:
        raise LookupError(f"run {run_id} does not exist")
    run.status = RunStatus.RUNNING
    run.error = None
    run.finished_at = None
    run.cancel_requested = False
    run.heartbeat_at = utcnow()
    session.add(run)
    session.flush()
    return run


def finish_run(*, session: Session, run_id: int, status: RunStatus, error: str | None = None) -> Run:
    """Close the run with its final status (and a one-line error for failures)."""
    run = session.get(Run, run_id)
    if run is None:
        raise LookupError(f"run {run_id} does not exist")
    run.status = status
    run.error = error
    run.live_text = ""
    run.finished_at = utcnow()
    run.heartbeat_at = run.finished_at
    session.add(run)
    session.flush()
    return run


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def stale_run_ids(*, session: Session, now: datetime | None = None, stale_after: timedelta = STALE_AFTER) -> list[int]:
    """Ids of running runs whose heartbeat is older than ``stale_after`` (their process died)."""
    now = now or utcnow()
    running = session.exec(select(Run).where(Run.status == RunStatus.RUNNING))
    return [run.id for run in running if is_stale(run, now=now, stale_after=stale_after)]


def is_stale(run: Run, *, now: datetime | None = None, stale_after: timedelta = STALE_AFTER) -> bool:
    """Whether a running run's heartbeat is older than ``stale_after`` (a run waiting in the queue never is)."""
    if run.status != RunStatus.RUNNING or run.stage == QUEUED_STAGE:
        return False
    beat = _aware(run.heartbeat_at) or _aware(run.started_at)
    return beat is not None and (now or utcnow()) - beat > stale_after


def mark_stale_runs(
    *, session: Session, now: datetime | None = None, stale_after: timedelta = STALE_AFTER
) -> list[int]:
    """Fail running runs whose heartbeat is stale (their process died); return their ids.

    Their calls stay in the ledger; their saved state lets them resume.
    """
    now = now or utcnow()
    stale = stale_run_ids(session=session, now=now, stale_after=stale_after)
    for run_id in stale:
        run = session.get(Run, run_id)
        run.status = RunStatus.FAILED
        run.error = "The process running it stopped (no heartbeat); resume it to continue."
        run.finished_at = now
        session.add(run)
    session.flush()
    return stale


def list_runs(
    *, session: Session, kinds: list[RunKind] | None = None, status: RunStatus | None = None, limit: int = 50
) -> list[Run]:
    """Recent runs, newest first."""
    query = select(Run)
    if kinds:
        query = query.where(col(Run.kind).in_(kinds))
    if status is not None:
        query = query.where(Run.status == status)
    return list(session.exec(query.order_by(col(Run.started_at).desc(), col(Run.id).desc()).limit(limit)))


def request_cancel(*, session: Session, run_id: int) -> bool:
    """Ask a running run to stop (any process may ask; the one running it polls); True if it is running."""
    run = session.get(Run, run_id)
    if run is None or run.status != RunStatus.RUNNING:
        return False
    run.cancel_requested = True
    session.add(run)
    session.flush()
    return True


def cancel_requested(*, session: Session, run_id: int) -> bool:
    """Whether someone asked run ``run_id`` to stop."""
    value = session.exec(select(Run.cancel_requested).where(Run.id == run_id)).first()
    return bool(value)


def set_live(
    *, session: Session, run_id: int, live_text: str | None = None, stage: str | None = None, worker: str | None = None
) -> None:
    """Store what a run is writing right now (the current section's text so far), its stage or its worker."""
    values: dict[str, Any] = {}
    if live_text is not None:
        values["live_text"] = live_text
    if stage is not None:
        values["stage"] = stage
    if worker is not None:
        values["worker"] = worker
    if values:
        session.execute(update(Run).where(Run.id == run_id).values(**values))
