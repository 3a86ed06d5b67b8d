"""Collections and sources: keyword-only CRUD (Chroma and files are handled in editorial.ingest)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from db.models import Source, SourceCollection, SourceStatus, User, utcnow


# --------------------------------------------------------------------------- collections
def create_collection(
    *, session: Session, name: str, chroma_name: str, description: str = "", created_by_id: int | None = None
) -> SourceCollection:
    """Add a collection row."""
    collection = SourceCollection(
        name=name, chroma_name=chroma_name, description=description, created_by_id=created_by_id
    )
    session.add(collection)
    session.flush()
    return collection


def get_collection(*, session: Session, collection_id: int) -> SourceCollection | None:
    """The collection with this id, or None."""
    return session.get(SourceCollection, collection_id)


def get_collection_by_name(*, session: Session, name: str) -> SourceCollection | None:
    """The collection with this name (case-insensitive), or None."""
    query = select(SourceCollection).where(func.lower(SourceCollection.name) == name.strip().lower())
    return session.exec(query).first()


def list_collections(*, session: Session) -> list[SourceCollection]:
    """Every collection, by name."""
    return list(session.exec(select(SourceCollection).order_by(func.lower(SourceCollection.name))))


def rename_collection(*, session: Session, collection: SourceCollection, name: str) -> SourceCollection:
    """Change a collection's display name (its Chroma name stays)."""
    collection.name = name
    session.add(collection)
    session.flush()
    return collection


def delete_collection(*, session: Session, collection: SourceCollection) -> None:
    """Delete a collection row and (by cascade) its source rows."""
    session.execute(Source.__table__.delete().where(Source.__table__.c.collection_id == collection.id))
    session.delete(collection)
    session.flush()


# --------------------------------------------------------------------------- sources
def get_source(*, session: Session, source_id: int) -> Source | None:
    """The source with this id, or None."""
    return session.get(Source, source_id)


def get_source_by_name(*, session: Session, collection_id: int, name: str) -> Source | None:
    """The source called ``name`` in a collection, or None."""
    query = select(Source).where(Source.collection_id == collection_id, Source.name == name)
    return session.exec(query).first()


def get_ready_source_by_hash(*, session: Session, collection_id: int, content_hash: str) -> Source | None:
    """A ready source of the collection whose content hash matches, or None."""
    query = select(Source).where(
        Source.collection_id == collection_id,
        Source.content_hash == content_hash,
        Source.status == SourceStatus.READY,
    )
    return session.exec(query).first()


def list_sources(
    *, session: Session, collection_id: int | None = None, statuses: Iterable[SourceStatus] | None = None
) -> list[Source]:
    """Sources (of one collection, with given statuses), newest first."""
    query = select(Source)
    if collection_id is not None:
        query = query.where(Source.collection_id == collection_id)
    if statuses is not None:
        query = query.where(col(Source.status).in_(list(statuses)))
    return list(session.exec(query.order_by(col(Source.created_at).desc(), col(Source.id).desc())))


def list_sources_with_adder(*, session: Session, collection_id: int) -> list[tuple[Source, str | None]]:
    """Sources of a collection with the username of whoever added each (None if unknown), newest first."""
    query = (
        select(Source, User.username)
        .join(User, col(Source.added_by_id) == col(User.id), isouter=True)
        .where(Source.collection_id == collection_id)
        .order_by(col(Source.created_at).desc(), col(Source.id).desc())
    )
    return [(source, username) for source, username in session.exec(query)]


def start_ingesting(
    *,
    session: Session,
    collection_id: int,
    name: str,
    kind: str,
    size_bytes: int,
    page_count: int | None,
    added_by_id: int | None,
) -> tuple[Source, bool]:
    """Create the source row (or reuse the one with this name) in status INGESTING; return it and whether it is new."""
    source = get_source_by_name(session=session, collection_id=collection_id, name=name)
    created = source is None
    if source is None:
        source = Source(
            collection_id=collection_id, name=name, source_key=uuid.uuid4().hex, added_by_id=added_by_id, kind=kind
        )
    source.kind = kind
    source.size_bytes = size_bytes
    source.page_count = page_count
    source.status = SourceStatus.INGESTING
    source.error = None
    source.updated_at = utcnow()
    session.add(source)
    session.flush()
    return source, created


def mark_ready(*, session: Session, source_id: int, chunk_count: int, content_hash: str) -> None:
    """All chunks are stored: status READY with its chunk count and content hash, in one update."""
    session.execute(
        update(Source)
        .where(col(Source.id) == source_id)
        .values(
            status=SourceStatus.READY,
            chunk_count=chunk_count,
            content_hash=content_hash,
            error=None,
            updated_at=utcnow(),
        )
    )


def mark_failed(*, session: Session, source_ids: Sequence[int], error: str, chunk_count: int | None = 0) -> None:
    """Mark sources FAILED with a one-line reason (and, unless None, the chunk count left in Chroma)."""
    if not source_ids:
        return
    values = {"status": SourceStatus.FAILED, "error": error, "content_hash": "", "updated_at": utcnow()}
    if chunk_count is not None:
        values["chunk_count"] = chunk_count
    session.execute(update(Source).where(col(Source.id).in_(list(source_ids))).values(**values))


def touch_sources(*, session: Session, source_ids: Sequence[int]) -> None:
    """Refresh ``updated_at`` of sources being ingested (the heartbeat that tells them from abandoned ones)."""
    if source_ids:
        session.execute(update(Source).where(col(Source.id).in_(list(source_ids))).values(updated_at=utcnow()))


def stale_ingesting(*, session: Session, older_than: datetime, exclude_ids: Iterable[int] = ()) -> list[Source]:
    """Sources still INGESTING whose heartbeat is older than ``older_than`` (and not in ``exclude_ids``)."""
    excluded = set(exclude_ids)
    rows = session.exec(select(Source).where(Source.status == SourceStatus.INGESTING))
    stale = []
    for source in rows:
        beat = source.updated_at if source.updated_at.tzinfo else source.updated_at.replace(tzinfo=UTC)
        if source.id not in excluded and beat < older_than:
            stale.append(source)
    return stale


def collection_fingerprint(*, session: Session, chroma_name: str) -> tuple:
    """What changes whenever a collection's stored chunks change: its sources' count, chunks and last update."""
    statement = (
        select(func.count(col(Source.id)), func.coalesce(func.sum(Source.chunk_count), 0), func.max(Source.updated_at))
        .join(SourceCollection, col(SourceCollection.id) == col(Source.collection_id))
        .where(SourceCollection.chroma_name == chroma_name)
    )
    count, chunks, updated = session.exec(statement).one()
    return int(count), int(chunks), str(updated)


def delete_source(*, session: Session, source: Source) -> None:
    """Delete a source row."""
    session.delete(source)
    session.flush()
