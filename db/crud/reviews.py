"""The review timeline's rows: status changes, comments, exports and publications, each with who and when.

Plain persistence: the workflow's rules (who may move a draft where) live in ``editorial.reviews``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from db.models import DraftStatus, ReviewEvent, ReviewEventKind, Revision, User


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a draft's timeline, with names resolved."""

    id: int
    kind: ReviewEventKind
    actor: str | None
    from_status: DraftStatus | None
    to_status: DraftStatus | None
    note: str
    revision_number: int | None
    created_at: datetime


def add_event(
    *,
    session: Session,
    draft_id: int,
    kind: ReviewEventKind,
    actor_id: int | None,
    note: str = "",
    from_status: DraftStatus | None = None,
    to_status: DraftStatus | None = None,
    revision_id: int | None = None,
) -> ReviewEvent:
    """Append one event to a draft's timeline (no permission check: callers check first)."""
    event = ReviewEvent(
        draft_id=draft_id,
        kind=kind,
        actor_id=actor_id,
        note=note,
        from_status=from_status,
        to_status=to_status,
        revision_id=revision_id,
    )
    session.add(event)
    session.flush()
    return event


def timeline(*, session: Session, draft_id: int) -> list[TimelineEntry]:
    """A draft's events, oldest first, with the actor's name and the revision number."""
    actor = aliased(User)
    statement = (
        select(
            ReviewEvent.id,
            ReviewEvent.kind,
            actor.username,
            ReviewEvent.from_status,
            ReviewEvent.to_status,
            ReviewEvent.note,
            Revision.number,
            ReviewEvent.created_at,
        )
        .outerjoin(actor, actor.id == ReviewEvent.actor_id)
        .outerjoin(Revision, Revision.id == ReviewEvent.revision_id)
        .where(ReviewEvent.draft_id == draft_id)
        .order_by(ReviewEvent.created_at, ReviewEvent.id)
    )
    return [TimelineEntry(*row) for row in session.exec(statement)]


def latest_status_event(*, session: Session, draft_id: int, to_status: DraftStatus) -> ReviewEvent | None:
    """The newest status change of a draft into ``to_status``, or None."""
    statement = (
        select(ReviewEvent)
        .where(
            ReviewEvent.draft_id == draft_id,
            ReviewEvent.kind == ReviewEventKind.STATUS_CHANGE,
            ReviewEvent.to_status == to_status,
        )
        .order_by(ReviewEvent.created_at.desc(), ReviewEvent.id.desc())
    )
    return session.exec(statement).first()
