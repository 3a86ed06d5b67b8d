"""The review timeline: status changes, comments, exports and publications, each with who and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from db.models import Draft, DraftStatus, ReviewEvent, ReviewEventKind, Revision, User, utcnow
from editorial.errors import EditorialError
from editorial.frontmatter import validate_front_matter
from editorial.workflow import Action, InvalidTransition, require, require_transition, status_label


class DraftNotFound(EditorialError):
    """No draft has the given id."""


class InvalidDraft(EditorialError):
    """The draft does not meet dev.to's rules and cannot move on."""


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


def load_draft(*, session: Session, draft_id: int) -> Draft:
    """The draft, freshly read; raises :class:`DraftNotFound` when it does not exist."""
    draft = session.get(Draft, draft_id, populate_existing=True)
    if draft is None:
        raise DraftNotFound(f"There is no draft {draft_id}.")
    return draft


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


def _current_revision(session: Session, draft: Draft) -> Revision | None:
    return session.exec(select(Revision).where(Revision.draft_id == draft.id, Revision.number == draft.version)).first()


def set_status(
    *, session: Session, draft: Draft, to_status: DraftStatus, actor: User | None, note: str = ""
) -> ReviewEvent:
    """Move ``draft`` to ``to_status`` if the workflow allows ``actor`` to, and record it.

    Submitting and approving also require the current revision to meet dev.to's rules.

    Raises:
        PermissionDenied: The actor's role may not make this change.
        InvalidTransition: The change does not exist from the current status.
        InvalidDraft: The draft's front matter or body breaks dev.to's rules.
    """
    from_status = DraftStatus(draft.status)
    action = require_transition(actor, from_status, to_status)
    if action is Action.EDIT_DRAFT:
        raise InvalidTransition(f"A {status_label(from_status).lower()} draft goes back to review by saving a change.")
    revision = _current_revision(session, draft)
    if action in (Action.SUBMIT, Action.APPROVE):
        problems = validate_front_matter(revision.front_matter, revision.body) if revision else {"body": "empty"}
        if problems:
            fields = "; ".join(f"{field}: {message}" for field, message in problems.items())
            raise InvalidDraft(
                f"Fix the draft before it can be {'submitted' if action is Action.SUBMIT else 'approved'} — {fields}"
            )
    draft.status = to_status
    draft.updated_at = utcnow()
    session.add(draft)
    return add_event(
        session=session,
        draft_id=draft.id,
        kind=ReviewEventKind.STATUS_CHANGE,
        actor_id=actor.id if actor else None,
        note=note.strip(),
        from_status=from_status,
        to_status=DraftStatus(to_status),
        revision_id=revision.id if revision else None,
    )


def change_status(
    *, session: Session, draft_id: int, to_status: DraftStatus, actor: User | None, note: str = ""
) -> ReviewEvent:
    """Load the draft and :func:`set_status` it."""
    return set_status(
        session=session,
        draft=load_draft(session=session, draft_id=draft_id),
        to_status=to_status,
        actor=actor,
        note=note,
    )


def submit(*, session: Session, draft_id: int, actor: User | None, note: str = "") -> ReviewEvent:
    """Send a draft (or a draft with changes requested) to review."""
    return change_status(session=session, draft_id=draft_id, to_status=DraftStatus.IN_REVIEW, actor=actor, note=note)


def approve(*, session: Session, draft_id: int, actor: User | None, note: str = "") -> ReviewEvent:
    """Approve a draft in review (reviewers and admins)."""
    return change_status(session=session, draft_id=draft_id, to_status=DraftStatus.APPROVED, actor=actor, note=note)


def request_changes(*, session: Session, draft_id: int, actor: User | None, note: str = "") -> ReviewEvent:
    """Send a draft in review back to its author with a note (reviewers and admins)."""
    if not note.strip():
        raise InvalidDraft("Say what should change: the note is required when requesting changes.")
    return change_status(
        session=session, draft_id=draft_id, to_status=DraftStatus.CHANGES_REQUESTED, actor=actor, note=note
    )


def add_comment(
    *, session: Session, draft_id: int, actor: User | None, note: str, revision_number: int | None = None
) -> ReviewEvent:
    """Comment on a draft, optionally on one of its revisions.

    Raises:
        PermissionDenied: The actor may not comment.
        InvalidDraft: The comment is empty or names a revision that does not exist.
    """
    require(actor, Action.COMMENT)
    draft = load_draft(session=session, draft_id=draft_id)
    if not note.strip():
        raise InvalidDraft("A comment cannot be empty.")
    revision_id = None
    if revision_number is not None:
        revision = session.exec(
            select(Revision).where(Revision.draft_id == draft.id, Revision.number == revision_number)
        ).first()
        if revision is None:
            raise InvalidDraft(f"Draft {draft_id} has no revision {revision_number}.")
        revision_id = revision.id
    return add_event(
        session=session,
        draft_id=draft.id,
        kind=ReviewEventKind.COMMENT,
        actor_id=actor.id,
        note=note.strip(),
        revision_id=revision_id,
    )


def describe(entry: TimelineEntry) -> str:
    """One readable line for a timeline entry (without the time)."""
    who = entry.actor or "system"
    rev = f" (revision {entry.revision_number})" if entry.revision_number is not None else ""
    note = f": {entry.note}" if entry.note else ""
    if entry.kind is ReviewEventKind.STATUS_CHANGE and entry.from_status and entry.to_status:
        return f"{who} moved it from {status_label(entry.from_status)} to {status_label(entry.to_status)}{rev}{note}"
    verbs = {
        ReviewEventKind.CREATED: "created it",
        ReviewEventKind.COMMENT: "commented",
        ReviewEventKind.EXPORT: "exported it",
        ReviewEventKind.PUBLISH: "sent it to dev.to",
    }
    return f"{who} {verbs.get(entry.kind, str(entry.kind))}{rev}{note}"
