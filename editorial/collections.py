"""Named source collections (one per topic or client), each mapped to its own Chroma collection."""

from __future__ import annotations

import contextlib
import uuid

from sqlalchemy import Engine

from db.crud import sources as crud
from db.models import SourceCollection, User
from db.session import session_scope
from editorial.errors import EditorialError
from editorial.settings import Settings
from editorial.vectorstore import chroma_name_for
from editorial.workflow import require_delete_collection

MAX_NAME = 200


class CollectionError(EditorialError):
    """A collection cannot be created, renamed, found or deleted."""


def _valid_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise CollectionError("A collection needs a name.")
    if len(cleaned) > MAX_NAME:
        raise CollectionError(f"Collection names can be at most {MAX_NAME} characters.")
    return cleaned


def create_collection(
    engine: Engine, *, name: str, description: str = "", user_id: int | None = None
) -> SourceCollection:
    """Create a collection with a display name and a generated, valid Chroma name.

    Raises:
        CollectionError: the name is blank, too long or already used.
    """
    name = _valid_name(name)
    with session_scope(engine) as session:
        if crud.get_collection_by_name(session=session, name=name) is not None:
            raise CollectionError(f"A collection named '{name}' already exists.")
        return crud.create_collection(
            session=session,
            name=name,
            description=description.strip(),
            chroma_name=chroma_name_for(name, uuid.uuid4().hex[:8]),
            created_by_id=user_id,
        )


def get_collection(engine: Engine, *, name: str) -> SourceCollection:
    """The collection called ``name``.

    Raises:
        CollectionError: there is none.
    """
    with session_scope(engine) as session:
        collection = crud.get_collection_by_name(session=session, name=name)
    if collection is None:
        raise CollectionError(f"There is no collection named '{name.strip()}'.")
    return collection


def get_or_create_collection(engine: Engine, *, name: str, user_id: int | None = None) -> tuple[SourceCollection, bool]:
    """The collection called ``name``, created if missing; and whether it was created."""
    try:
        return get_collection(engine, name=name), False
    except CollectionError:
        return create_collection(engine, name=name, user_id=user_id), True


def list_collections(engine: Engine) -> list[SourceCollection]:
    """Every collection, by name."""
    with session_scope(engine) as session:
        return crud.list_collections(session=session)


def rename_collection(engine: Engine, *, collection_id: int, name: str) -> SourceCollection:
    """Give a collection a new display name (its Chroma collection keeps its name).

    Raises:
        CollectionError: no such collection, or the name is blank, too long or taken.
    """
    name = _valid_name(name)
    with session_scope(engine) as session:
        collection = crud.get_collection(session=session, collection_id=collection_id)
        if collection is None:
            raise CollectionError("That collection no longer exists.")
        other = crud.get_collection_by_name(session=session, name=name)
        if other is not None and other.id != collection_id:
            raise CollectionError(f"A collection named '{name}' already exists.")
        return crud.rename_collection(session=session, collection=collection, name=name)


def delete_collection(settings: Settings, engine: Engine, *, collection_id: int, actor: User | None) -> int:
    """Delete a collection with all its sources, chunks, records and stored originals; return the source count.

    Only its creator, reviewers and admins may (:func:`editorial.workflow.require_delete_collection`).

    Raises:
        CollectionError: no such collection, or an upload into it is running.
        PermissionDenied: ``actor`` may not delete it.
    """
    from chromadb.errors import NotFoundError

    from editorial.ingest import records, storage
    from editorial.ingest.live import collection_busy
    from editorial.vectorstore import get_chroma_client

    with session_scope(engine) as session:
        collection = crud.get_collection(session=session, collection_id=collection_id)
        if collection is None:
            raise CollectionError("That collection no longer exists.")
        require_delete_collection(actor, name=collection.name, owner_id=collection.created_by_id)
    if collection_busy(collection_id):
        raise CollectionError("Files are being ingested into this collection; delete it when that has finished.")
    with session_scope(engine) as session:
        collection = crud.get_collection(session=session, collection_id=collection_id)
        if collection is None:
            raise CollectionError("That collection no longer exists.")
        keys = [source.source_key for source in crud.list_sources(session=session, collection_id=collection_id)]
        chroma_name = collection.chroma_name
    with contextlib.suppress(NotFoundError, ValueError):
        get_chroma_client(settings).delete_collection(chroma_name)
    records.drop_namespace(engine, chroma_name)
    with session_scope(engine) as session:
        collection = crud.get_collection(session=session, collection_id=collection_id)
        if collection is not None:
            crud.delete_collection(session=session, collection=collection)
    for key in keys:
        storage.remove_original(settings, key)
    return len(keys)
