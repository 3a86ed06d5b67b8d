"""Review actions: submit, approve, request changes, comment — each checked against the workflow's rules.

The rules themselves (who may, which status changes exist, what a save does) live in
:mod:`editorial.workflow`; the rows are written by :mod:`db.crud.reviews`. An approval names the
revision the reviewer saw and is refused when the draft has moved on since; exports and dev.to
take the revision that was approved (:func:`approved_revision`).
"""

from __future__ import annotations

from sqlmodel import Session

from db.crud.drafts import current_revision, get_draft, get_revision
from db.crud.reviews import TimelineEntry, add_event, latest_status_event, timeline
from db.models import Draft, DraftStatus, ReviewEvent, ReviewEventKind, Revision, User, utcnow
from editorial.errors import EditorialError
from editorial.frontmatter import validate_front_matter
from editorial.grounding import store as grounding_store
from editorial.workflow import (
    EXPORTABLE,
    Action,
    InvalidTransition,
    StaleReview,
    require,
    require_current_revision,
    require_transition,
    status_label,
)

__all__ = [
    "DraftNotFound",
    "InvalidDraft",
    "StaleReview",
    "TimelineEntry",
    "add_comment",
    "approve",
    "approved_revision",
    "describe",
    "load_draft",
    "release_revision",
    "request_changes",
    "submit",
    "timeline",
]


class DraftNotFound(EditorialError):
    """No draft has the given id."""


class InvalidDraft(EditorialError):
    """The draft does not meet dev.to's rules and cannot move on."""


def load_draft(*, session: Session, draft_id: int) -> Draft:
    """The draft, freshly read.

    Raises:
        DraftNotFound: It does not exist.
    """
    draft = get_draft(session=session, draft_id=draft_id)
    if draft is None:
        raise DraftNotFound(f"There is no draft {draft_id}.")
    return draft


def _change_status(
    session: Session,
    *,
    draft_id: int,
    to_status: DraftStatus,
    actor: User | None,
    note: str = "",
    revision_number: int | None = None,
) -> ReviewEvent:
    """Move a draft to ``to_status`` if the workflow allows ``actor`` to, and record it on the timeline.

    Submitting and approving also require the current revision to meet dev.to's rules; a
    ``revision_number`` that is not the current revision is refused (the reviewer saw older text).
    """
    draft = load_draft(session=session, draft_id=draft_id)
    from_status = DraftStatus(draft.status)
    action = require_transition(actor, from_status, to_status)
    if action is Action.EDIT_DRAFT:
        raise InvalidTransition(f"A {status_label(from_status).lower()} draft goes back to review by saving a change.")
    if action is Action.APPROVE or revision_number is not None:
        require_current_revision(draft_id=draft_id, seen=revision_number, current=draft.version, action=str(action))
    revision = current_revision(session=session, draft=draft)
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


def submit(*, session: Session, draft_id: int, actor: User | None, note: str = "") -> ReviewEvent:
    """Send a draft (or a draft with changes requested) to review."""
    return _change_status(session, draft_id=draft_id, to_status=DraftStatus.IN_REVIEW, actor=actor, note=note)


def approve(
    *,
    session: Session,
    draft_id: int,
    actor: User | None,
    revision_number: int | None,
    note: str = "",
    acknowledge_unsupported: bool = False,
) -> ReviewEvent:
    """Approve the revision of a draft in review that the reviewer saw (reviewers and admins).

    A revision with unsupported (or unchecked) sentences needs ``acknowledge_unsupported``; the acknowledgement
    goes into the approval's timeline note and onto the revision's groundedness report (who, when).

    Args:
        session: Database session (the caller commits).
        draft_id: The draft.
        actor: The reviewer.
        revision_number: The revision the reviewer read; it must still be the current one.
        note: Optional note for the timeline.
        acknowledge_unsupported: The reviewer approves despite unsupported sentences.

    Raises:
        PermissionDenied: The actor may not approve.
        InvalidTransition: The draft is not in review.
        StaleReview: No revision named, or the draft changed since that revision.
        UnsupportedNotAcknowledged: Unsupported sentences and no acknowledgement.
        InvalidDraft: The revision breaks dev.to's rules.
    """
    draft = load_draft(session=session, draft_id=draft_id)
    require_transition(actor, DraftStatus(draft.status), DraftStatus.APPROVED)
    stored = grounding_store.current_report(session=session, draft=draft)
    note = grounding_store.acknowledged_note(stored, acknowledge_unsupported, note)
    event = _change_status(
        session,
        draft_id=draft_id,
        to_status=DraftStatus.APPROVED,
        actor=actor,
        note=note,
        revision_number=revision_number,
    )
    grounding_store.record_acknowledgement(session=session, stored=stored, actor=actor)
    return event


def request_changes(
    *, session: Session, draft_id: int, actor: User | None, note: str, revision_number: int | None = None
) -> ReviewEvent:
    """Send a draft in review back to its author with a note (reviewers and admins).

    When ``revision_number`` is given it must be the current revision (as for :func:`approve`).
    """
    if not note.strip():
        raise InvalidDraft("Say what should change: the note is required when requesting changes.")
    return _change_status(
        session,
        draft_id=draft_id,
        to_status=DraftStatus.CHANGES_REQUESTED,
        actor=actor,
        note=note,
        revision_number=revision_number,
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
        revision = get_revision(session=session, draft_id=draft.id, number=revision_number)
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


def approved_revision(*, session: Session, draft: Draft) -> Revision | None:
    """The revision a reviewer approved, for a draft whose status is approved, exported or published.

    None for drafts in other statuses (they have no standing approval).
    """
    if DraftStatus(draft.status) not in EXPORTABLE:
        return None
    event = latest_status_event(session=session, draft_id=draft.id, to_status=DraftStatus.APPROVED)
    if event is None or event.revision_id is None:
        return None
    return session.get(Revision, event.revision_id)


def release_revision(*, session: Session, draft: Draft) -> Revision | None:
    """The text that leaves the desk (export, dev.to): the approved revision of an approved draft.

    For a draft without a standing approval (an admin's forced export) it is the current revision.
    """
    if DraftStatus(draft.status) in EXPORTABLE:
        return approved_revision(session=session, draft=draft)
    return current_revision(session=session, draft=draft)


def describe(entry: TimelineEntry) -> str:
    """One readable line for a timeline entry (without the time)."""
    who = entry.actor or "system"
    rev = f" (revision {entry.revision_number})" if entry.revision_number is not None else ""
    note = f": {entry.note}" if entry.note else ""
    if entry.kind is ReviewEventKind.STATUS_CHANGE and entry.from_status and entry.to_status:
        if entry.from_status == entry.to_status:
            return f"{who} saved a change while it was {status_label(entry.to_status).lower()}{rev}{note}"
        return f"{who} moved it from {status_label(entry.from_status)} to {status_label(entry.to_status)}{rev}{note}"
    verbs = {
        ReviewEventKind.CREATED: "created it",
        ReviewEventKind.COMMENT: "commented",
        ReviewEventKind.EXPORT: "exported it",
        ReviewEventKind.PUBLISH: "sent it to dev.to",
    }
    return f"{who} {verbs.get(entry.kind, str(entry.kind))}{rev}{note}"
