"""Drafts and revisions: create, save with optimistic concurrency, restore.

``Draft.version`` is the number of the revision the draft currently shows. A save names the
version it started from; if someone saved in between, the save is refused with
:class:`DraftConflict` and the refused text is kept as a ``conflict`` revision (committed, so
it survives the exception) for the editor to merge. Nothing saved is ever overwritten.

Every revision (created, saved, restored or kept as a conflict) gets its groundedness report in the same
transaction: the writing run's own report for generated text, otherwise a re-check of the body without
generation (:mod:`editorial.grounding.store`).
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, select

from db.crud import drafts as drafts_crud
from db.crud.drafts import current_revision, get_draft, get_revision, next_revision_number
from db.crud.reviews import add_event
from db.models import Draft, DraftStatus, ReviewEventKind, Revision, RevisionOrigin, User, utcnow
from editorial.errors import EditorialError
from editorial.frontmatter import MAX_BODY_BYTES, normalize_front_matter
from editorial.grounding import store as grounding_store
from editorial.grounding.schemas import GroundednessReport
from editorial.reviews import DraftNotFound, load_draft
from editorial.text import count_words
from editorial.workflow import RECORDED_SAVES, Action, require, require_transition, save_note, status_after_save

__all__ = [
    "DraftConflict",
    "DraftNotFound",
    "create_draft",
    "create_generated_draft",
    "delete_draft",
    "restore_revision",
    "save_revision",
]


class DraftConflict(EditorialError):
    """A save based on an outdated revision; the refused text was kept as a conflict revision.

    Attributes:
        draft_id: The draft.
        base_version: The revision the refused save started from.
        current_version: The draft's current revision number.
        conflict_revision_id: Id of the revision holding the refused text.
        conflict_revision_number: Its number, to show and to diff against.
    """

    def __init__(
        self,
        message: str,
        *,
        draft_id: int,
        base_version: int,
        current_version: int,
        conflict_revision_id: int,
        conflict_revision_number: int,
    ) -> None:
        super().__init__(message)
        self.draft_id = draft_id
        self.base_version = base_version
        self.current_version = current_version
        self.conflict_revision_id = conflict_revision_id
        self.conflict_revision_number = conflict_revision_number


def _actor(session: Session, user_id: int | None, action: Action) -> User | None:
    """The acting user, checked for ``action``; None for system actions (no user)."""
    if user_id is None:
        return None
    return require(session.get(User, user_id), action)


def _title_of(front_matter: dict, fallback: str = "") -> str:
    title = front_matter.get("title")
    return (title.strip() if isinstance(title, str) else "") or fallback


class DraftTooLarge(EditorialError):
    """A body over dev.to's limit; nothing was saved."""


def check_body_size(body: str) -> None:
    """Refuse a body over dev.to's limit (800 KB) before anything is stored.

    Raises:
        DraftTooLarge: The body is larger than :data:`MAX_BODY_BYTES`.
    """
    size = len(body.encode("utf-8"))
    if size > MAX_BODY_BYTES:
        raise DraftTooLarge(
            f"The post is {size / 1000:,.0f} KB, over dev.to's limit of {MAX_BODY_BYTES // 1000} KB; nothing was saved."
        )


def _new_draft(
    *,
    session: Session,
    title: str,
    front_matter: dict,
    body: str,
    author_id: int | None,
    collection_id: int | None,
    plan_id: int | None,
    origin: RevisionOrigin,
    note: str,
    report: GroundednessReport | None = None,
) -> Draft:
    check_body_size(body)
    front_matter = normalize_front_matter(front_matter)
    front_matter.setdefault("title", title.strip())
    front_matter.setdefault("published", False)
    words = count_words(body)
    check = _check(session, None, body, report)
    draft = Draft(
        title=_title_of(front_matter, title)[:256],
        status=DraftStatus.DRAFT,
        collection_id=collection_id,
        plan_id=plan_id,
        author_id=author_id,
        version=1,
        word_count=words,
    )
    session.add(draft)
    session.flush()
    revision = Revision(
        draft_id=draft.id,
        number=1,
        front_matter=front_matter,
        body=body,
        origin=origin,
        note=note.strip(),
        word_count=words,
        author_id=author_id,
    )
    session.add(revision)
    session.flush()
    grounding_store.store_check(session=session, revision=revision, check=check)
    add_event(
        session=session,
        draft_id=draft.id,
        kind=ReviewEventKind.CREATED,
        actor_id=author_id,
        note=note.strip(),
        to_status=DraftStatus.DRAFT,
        revision_id=revision.id,
    )
    return draft


def _check(
    session: Session, draft_id: int | None, body: str, report: GroundednessReport | None
) -> grounding_store.Check:
    """The writer's report of ``body``, or a re-check of it (no generation) against the draft's passages.

    Called before the save takes the database's write lock, so the check never holds other writers up.
    """
    if report is not None:
        return grounding_store.writer_check(report)
    return grounding_store.check_draft_body(session=session, draft_id=draft_id, body=body)


def create_generated_draft(
    *,
    session: Session,
    title: str,
    front_matter: dict,
    body: str,
    author_id: int | None,
    collection_id: int | None,
    plan_id: int | None,
    note: str = "",
    report: GroundednessReport | None = None,
) -> Draft:
    """A new draft (status draft) with revision 1 (origin generated), its groundedness report and a CREATED event.

    Args:
        session: Database session (the caller commits).
        title: The post title; used when ``front_matter`` has none.
        front_matter: dev.to front matter (normalized; unknown keys are dropped).
        body: The Markdown body.
        author_id: The user who ran the chain, or None.
        collection_id: The source collection the post is grounded in.
        plan_id: The plan it was written from.
        note: Shown on revision 1 and the timeline.
        report: The writing run's groundedness report of ``body`` (stored as is); without one the body is
            re-checked against no sources.

    Raises:
        PermissionDenied: ``author_id`` names a disabled account.
    """
    _actor(session, author_id, Action.CREATE_DRAFT)
    return _new_draft(
        session=session,
        title=title,
        front_matter=front_matter,
        body=body,
        author_id=author_id,
        collection_id=collection_id,
        plan_id=plan_id,
        origin=RevisionOrigin.GENERATED,
        note=note,
        report=report,
    )


def create_draft(
    *,
    session: Session,
    actor_id: int,
    title: str = "",
    front_matter: dict | None = None,
    body: str = "",
    collection_id: int | None = None,
    note: str = "",
) -> Draft:
    """A draft written by hand (revision 1, origin edited).

    Raises:
        PermissionDenied: The actor may not create drafts.
    """
    _actor(session, actor_id, Action.CREATE_DRAFT)
    return _new_draft(
        session=session,
        title=title or "Untitled",
        front_matter=front_matter or {},
        body=body,
        author_id=actor_id,
        collection_id=collection_id,
        plan_id=None,
        origin=RevisionOrigin.EDITED,
        note=note,
    )


def _keep_conflict(
    session: Session,
    *,
    draft_id: int,
    base_version: int,
    front_matter: dict,
    body: str,
    author_id: int | None,
    note: str,
    check: grounding_store.Check,
) -> DraftConflict:
    """Store the refused text as a conflict revision, commit it, and build the exception."""
    # Lock the draft row first (as a winning save holds it): numbering then cannot race another save's.
    session.exec(select(Draft.id).where(Draft.id == draft_id).with_for_update())
    draft = load_draft(session=session, draft_id=draft_id)
    number = next_revision_number(session=session, draft_id=draft_id)
    kept = Revision(
        draft_id=draft_id,
        number=number,
        front_matter=front_matter,
        body=body,
        origin=RevisionOrigin.CONFLICT,
        base_number=base_version,
        note=(note.strip() + " " if note.strip() else "") + f"(refused: based on revision {base_version})",
        word_count=count_words(body),
        author_id=author_id,
    )
    session.add(kept)
    session.flush()
    grounding_store.store_check(session=session, revision=kept, check=check)
    current = current_revision(session=session, draft=draft)
    who = ""
    if current is not None and current.author_id is not None:
        author = session.get(User, current.author_id)
        who = f" by {author.username}" if author else ""
    when = f" at {current.created_at:%Y-%m-%d %H:%M} UTC" if current is not None else ""
    conflict = DraftConflict(
        f"Draft {draft_id} changed while you were editing: revision {draft.version}{who}{when} replaced "
        f"revision {base_version} you started from. Your text was kept as conflict revision {number}; "
        "compare it with the current text and merge.",
        draft_id=draft_id,
        base_version=base_version,
        current_version=draft.version,
        conflict_revision_id=kept.id,
        conflict_revision_number=number,
    )
    session.commit()  # the refused text must survive the exception the caller's scope will roll back on
    return conflict


def save_revision(
    *,
    session: Session,
    draft_id: int,
    base_version: int,
    front_matter: dict,
    body: str,
    author_id: int | None,
    origin: RevisionOrigin = RevisionOrigin.EDITED,
    note: str = "",
    report: GroundednessReport | None = None,
) -> Revision:
    """Save a new revision of a draft if nobody saved since ``base_version``.

    The draft row is updated with a conditional ``UPDATE … WHERE version = base_version``, so two
    concurrent saves on the same base cannot both win. Saving an approved, exported or published
    draft sends it back to review, and saving a draft in review keeps it there; both are recorded on
    the timeline, and an approval must then name the new revision (see :mod:`editorial.workflow`).
    Saving text identical to the current revision creates nothing and returns the current revision.

    Args:
        session: Database session (the caller commits on success).
        draft_id: The draft.
        base_version: The revision number the editor started from.
        front_matter: dev.to front matter (normalized before storing).
        body: The Markdown body.
        author_id: The saving user (checked for the edit permission), or None for the system.
        origin: ``edited`` or ``restored`` (``generated`` for the chain).
        note: Optional note shown in the history.
        report: A writing run's groundedness report of ``body``; without one (every person's save) the new
            revision is re-checked against the passages of the draft's latest report.

    Returns:
        The new revision.

    Raises:
        DraftConflict: ``base_version`` is outdated; the text is kept as a conflict revision.
        DraftNotFound: No such draft.
        PermissionDenied: The author may not edit drafts.
    """
    check_body_size(body)
    actor = _actor(session, author_id, Action.EDIT_DRAFT)
    front_matter = normalize_front_matter(front_matter)
    draft = load_draft(session=session, draft_id=draft_id)
    if draft.version == base_version:
        current = current_revision(session=session, draft=draft)
        if current is not None and current.body == body and current.front_matter == front_matter:
            return current
    check = _check(session, draft_id, body, report)
    now = utcnow()
    claimed = session.execute(
        update(Draft)
        .where(Draft.id == draft_id, Draft.version == base_version)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise _keep_conflict(
            session,
            draft_id=draft_id,
            base_version=base_version,
            front_matter=front_matter,
            body=body,
            author_id=author_id,
            note=note,
            check=check,
        )
    # The row is ours until commit: numbering below cannot race another save of this draft.
    draft = load_draft(session=session, draft_id=draft_id)
    number = next_revision_number(session=session, draft_id=draft_id)
    words = count_words(body)
    revision = Revision(
        draft_id=draft_id,
        number=number,
        front_matter=front_matter,
        body=body,
        origin=origin,
        base_number=base_version,
        note=note.strip(),
        word_count=words,
        author_id=author_id,
        created_at=now,
    )
    session.add(revision)
    previous_status = DraftStatus(draft.status)
    new_status = status_after_save(previous_status)
    if actor is not None and new_status is not previous_status:
        require_transition(actor, previous_status, new_status)
    draft.version = number
    draft.word_count = words
    draft.title = _title_of(front_matter, draft.title)[:256]
    draft.updated_at = now
    draft.status = new_status
    session.add(draft)
    session.flush()
    grounding_store.store_check(session=session, revision=revision, check=check)
    if previous_status in RECORDED_SAVES:
        add_event(
            session=session,
            draft_id=draft_id,
            kind=ReviewEventKind.STATUS_CHANGE,
            actor_id=author_id,
            note=save_note(previous_status),
            from_status=previous_status,
            to_status=new_status,
            revision_id=revision.id,
        )
    return revision


def restore_revision(
    *, session: Session, draft_id: int, number: int, base_version: int, author_id: int | None, note: str = ""
) -> Revision:
    """Make an old revision current again, as a new revision with origin ``restored``.

    Raises:
        DraftConflict: Someone saved since ``base_version``.
        DraftNotFound: No such draft or revision.
    """
    old = get_revision(session=session, draft_id=draft_id, number=number)
    if old is None or get_draft(session=session, draft_id=draft_id) is None:
        raise DraftNotFound(f"Draft {draft_id} has no revision {number}.")
    return save_revision(
        session=session,
        draft_id=draft_id,
        base_version=base_version,
        front_matter=dict(old.front_matter),
        body=old.body,
        author_id=author_id,
        origin=RevisionOrigin.RESTORED,
        note=note.strip() or f"Restored revision {number}.",
    )


def delete_draft(*, session: Session, draft_id: int, actor: User | None) -> None:
    """Delete a draft with its revisions and timeline (admins only; a missing draft is no error).

    Raises:
        PermissionDenied: ``actor`` may not delete drafts.
    """
    require(actor, Action.DELETE_DRAFT)
    drafts_crud.delete_draft(session=session, draft_id=draft_id)
