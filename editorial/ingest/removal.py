"""Delete a source: its chunks from Chroma, its records from the record manager, its stored original, its row."""

from __future__ import annotations

from sqlalchemy import Engine

from db.crud import sources as crud
from db.models import SourceStatus, User
from db.session import session_scope
from editorial.ingest import records, storage
from editorial.ingest.errors import SourceBusy, SourceNotFound
from editorial.ingest.live import heartbeat_stale, live_source_ids
from editorial.settings import Settings
from editorial.workflow import require_delete_source


def delete_source(settings: Settings, engine: Engine, *, source_id: int, actor: User | None) -> int:
    """Delete one source everywhere; return how many chunks were removed.

    Only whoever added it, the collection's creator, reviewers and admins may
    (:func:`editorial.workflow.require_delete_source`).

    Chunks go first, then the row: if the process dies in between, the row is left without chunks
    and ``doctor`` marks it failed.

    Raises:
        SourceNotFound: no such source.
        SourceBusy: it is being ingested right now.
        PermissionDenied: ``actor`` may not delete it.
    """
    with session_scope(engine) as session:
        source = crud.get_source(session=session, source_id=source_id)
        if source is None:
            raise SourceNotFound(f"Source {source_id} does not exist (it may have been deleted already).")
        collection = crud.get_collection(session=session, collection_id=source.collection_id)
        require_delete_source(
            actor, name=source.name, added_by_id=source.added_by_id, collection_owner_id=collection.created_by_id
        )
        busy = source.id in live_source_ids() or (
            source.status == SourceStatus.INGESTING
            and not heartbeat_stale(source.updated_at, settings.ingest_stale_after)
        )
        if busy:
            raise SourceBusy(f"'{source.name}' is being ingested right now; delete it when that has finished.")
        key = source.source_key
    removed = records.purge_source(settings, engine, collection.chroma_name, key)
    with session_scope(engine) as session:
        source = crud.get_source(session=session, source_id=source_id)
        if source is not None:
            crud.delete_source(session=session, source=source)
    storage.remove_original(settings, key)
    return removed
