"""Drafts and their revisions: lookups, paginated listing with filters in SQL, deletion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import Session, select

from db.models import Draft, DraftStatus, Revision, SourceCollection, User

SORTS = {
    "last change (newest first)": (Draft.updated_at.desc(), Draft.id.desc()),
    "last change (oldest first)": (Draft.updated_at.asc(), Draft.id.asc()),
    "title": (Draft.title.asc(), Draft.id.asc()),
    "status": (Draft.status.asc(), Draft.updated_at.desc()),
    "word count": (Draft.word_count.desc(), Draft.id.desc()),
}
"""Sort orders offered by the Drafts page and CLI, by name."""

DEFAULT_SORT = "last change (newest first)"


@dataclass(frozen=True)
class DraftRow:
    """One line of the drafts list (no text loaded)."""

    id: int
    title: str
    status: DraftStatus
    author: str | None
    collection: str | None
    updated_at: datetime
    word_count: int
    version: int


def get_draft(*, session: Session, draft_id: int) -> Draft | None:
    """The draft with ``draft_id``, freshly read from the database (None if missing)."""
    return session.get(Draft, draft_id, populate_existing=True)


def get_revision(*, session: Session, draft_id: int, number: int) -> Revision | None:
    """Revision ``number`` of a draft, or None."""
    return session.exec(select(Revision).where(Revision.draft_id == draft_id, Revision.number == number)).first()


def current_revision(*, session: Session, draft: Draft) -> Revision | None:
    """The revision a draft currently shows (number ``draft.version``)."""
    return get_revision(session=session, draft_id=draft.id, number=draft.version)


def list_revisions(*, session: Session, draft_id: int) -> list[Revision]:
    """Every revision of a draft, newest first."""
    return list(session.exec(select(Revision).where(Revision.draft_id == draft_id).order_by(Revision.number.desc())))


def next_revision_number(*, session: Session, draft_id: int) -> int:
    """One more than the highest revision number of the draft (conflict revisions included)."""
    highest = session.exec(select(func.max(Revision.number)).where(Revision.draft_id == draft_id)).one()
    return (highest or 0) + 1


def _filtered(statement, *, status, author_id, collection_id, text):
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        statement = statement.where(Draft.status.in_([DraftStatus(s) for s in statuses]))
    if author_id is not None:
        statement = statement.where(Draft.author_id == author_id)
    if collection_id is not None:
        statement = statement.where(Draft.collection_id == collection_id)
    if text and text.strip():
        escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        in_body = (
            select(Revision.id)
            .where(Revision.draft_id == Draft.id, Revision.number == Draft.version)
            .where(Revision.body.ilike(pattern, escape="\\"))
            .exists()
        )
        statement = statement.where(or_(Draft.title.ilike(pattern, escape="\\"), in_body))
    return statement


def list_drafts(
    *,
    session: Session,
    status: DraftStatus | str | list | None = None,
    author_id: int | None = None,
    collection_id: int | None = None,
    text: str | None = None,
    sort: str = DEFAULT_SORT,
    limit: int = 50,
    offset: int = 0,
) -> list[DraftRow]:
    """One page of drafts matching the filters, sorted; filtering and paging happen in SQL.

    Args:
        session: Database session.
        status: One status or a list of statuses.
        author_id: Only drafts by this user.
        collection_id: Only drafts grounded in this collection.
        text: Case-insensitive substring of the title or the current revision's body.
        sort: A key of :data:`SORTS`.
        limit: Page size.
        offset: Rows to skip.
    """
    statement = (
        select(
            Draft.id,
            Draft.title,
            Draft.status,
            User.username,
            SourceCollection.name,
            Draft.updated_at,
            Draft.word_count,
            Draft.version,
        )
        .outerjoin(User, User.id == Draft.author_id)
        .outerjoin(SourceCollection, SourceCollection.id == Draft.collection_id)
    )
    statement = _filtered(statement, status=status, author_id=author_id, collection_id=collection_id, text=text)
    statement = statement.order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT])).limit(limit).offset(offset)
    return [DraftRow(*row) for row in session.exec(statement)]


def count_drafts(
    *,
    session: Session,
    status: DraftStatus | str | list | None = None,
    author_id: int | None = None,
    collection_id: int | None = None,
    text: str | None = None,
) -> int:
    """How many drafts match the filters (same filters as :func:`list_drafts`)."""
    statement = _filtered(
        select(func.count()).select_from(Draft),
        status=status,
        author_id=author_id,
        collection_id=collection_id,
        text=text,
    )
    return session.exec(statement).one()


def draft_authors(*, session: Session) -> list[tuple[int, str]]:
    """Users who wrote at least one draft, as (id, username)."""
    statement = select(User.id, User.username).where(User.id.in_(select(Draft.author_id).distinct()))
    return [tuple(row) for row in session.exec(statement.order_by(User.username))]


def collections(*, session: Session) -> list[tuple[int, str]]:
    """Every source collection as (id, name), for filters."""
    return [tuple(row) for row in session.exec(select(SourceCollection.id, SourceCollection.name).order_by("name"))]


def delete_draft(*, session: Session, draft_id: int) -> None:
    """Delete a draft with its revisions and timeline (no permission check: callers check first)."""
    draft = get_draft(session=session, draft_id=draft_id)
    if draft is not None:
        session.delete(draft)
        session.flush()
