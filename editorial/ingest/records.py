"""Where chunks live: LangChain's SQL record manager (in the project database) and the raw Chroma collection."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable

from langchain_core.documents import Document
from sqlalchemy import Engine, select

from editorial.settings import Settings

RECORD_TABLE = "upsertion_record"
"""The record manager's own table (created with ``create_schema``, not by our migrations)."""

_schema_ready: set[str] = set()
_schema_lock = threading.Lock()


def namespace_for(chroma_name: str) -> str:
    """The record-manager namespace of one Chroma collection."""
    return f"chroma/{chroma_name}"


def record_manager(engine: Engine, chroma_name: str):
    """A ``SQLRecordManager`` for one collection, its table created once per database."""
    from langchain_classic.indexes import SQLRecordManager

    manager = SQLRecordManager(namespace_for(chroma_name), engine=engine)
    url = engine.url.render_as_string(hide_password=False)
    with _schema_lock:
        if url not in _schema_ready:
            manager.create_schema()
            _schema_ready.add(url)
    return manager


def chunk_key(document: Document) -> str:
    """The chunk id: SHA-256 of its text and metadata, leaving out ``chunk_index``.

    Leaving the position out means an edit that shifts later chunks does not re-embed them; their
    ``chunk_index`` is corrected in place after indexing.
    """
    metadata = {key: value for key, value in document.metadata.items() if key != "chunk_index"}
    payload = json.dumps([document.page_content, metadata], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def keys_by_source(engine: Engine, chroma_name: str, source_keys: Iterable[str] | None = None) -> dict[str, set[str]]:
    """Record-manager keys per source key (group id) in one collection; all sources when ``source_keys`` is None."""
    from langchain_classic.indexes._sql_record_manager import UpsertionRecord

    record_manager(engine, chroma_name)
    wanted = None if source_keys is None else list(dict.fromkeys(source_keys))
    found: dict[str, set[str]] = {key: set() for key in wanted or []}
    table = UpsertionRecord.__table__
    with engine.connect() as connection:
        batches = [None] if wanted is None else [wanted[i : i + 500] for i in range(0, len(wanted), 500)]
        for batch in batches:
            query = select(table.c.key, table.c.group_id).where(table.c.namespace == namespace_for(chroma_name))
            if batch is not None:
                query = query.where(table.c.group_id.in_(batch))
            for key, group_id in connection.execute(query):
                found.setdefault(group_id or "", set()).add(key)
    return found


def delete_records(engine: Engine, chroma_name: str, keys: list[str]) -> None:
    """Forget record-manager keys of one collection."""
    manager = record_manager(engine, chroma_name)
    for start in range(0, len(keys), 500):
        manager.delete_keys(keys[start : start + 500])


def drop_namespace(engine: Engine, chroma_name: str) -> int:
    """Forget every record of one collection; return how many there were."""
    from langchain_classic.indexes._sql_record_manager import UpsertionRecord

    record_manager(engine, chroma_name)
    table = UpsertionRecord.__table__
    with engine.begin() as connection:
        result = connection.execute(table.delete().where(table.c.namespace == namespace_for(chroma_name)))
    return int(result.rowcount or 0)


def chroma_collection(settings: Settings, chroma_name: str):
    """The raw Chroma collection, or None if it does not exist (yet)."""
    from chromadb.errors import NotFoundError

    from editorial.vectorstore import get_chroma_client

    try:
        return get_chroma_client(settings).get_collection(chroma_name)
    except (NotFoundError, ValueError):
        return None


def chroma_ids_by_source(collection, source_keys: Iterable[str] | None = None, page: int = 5000) -> dict[str, set[str]]:
    """Chunk ids per ``source`` metadata value in a raw Chroma collection (all sources when ``source_keys`` is None)."""
    found: dict[str, set[str]] = {}
    if collection is None:
        return found
    if source_keys is not None:
        for key in dict.fromkeys(source_keys):
            result = collection.get(where={"source": key}, include=[])
            found[key] = set(result["ids"])
        return found
    offset = 0
    while True:
        result = collection.get(include=["metadatas"], limit=page, offset=offset)
        for chunk_id, metadata in zip(result["ids"], result["metadatas"] or [], strict=False):
            found.setdefault(str((metadata or {}).get("source", "")), set()).add(chunk_id)
        if len(result["ids"]) < page:
            return found
        offset += page


def delete_chunks(collection, ids: list[str]) -> None:
    """Delete chunk ids from a raw Chroma collection, in batches."""
    if collection is None:
        return
    for start in range(0, len(ids), 5000):
        collection.delete(ids=ids[start : start + 5000])


def purge_source(settings: Settings, engine: Engine, chroma_name: str, source_key: str) -> int:
    """Remove every chunk of one source from Chroma and the record manager; return how many were removed."""
    collection = chroma_collection(settings, chroma_name)
    records = keys_by_source(engine, chroma_name, [source_key]).get(source_key, set())
    stored = chroma_ids_by_source(collection, [source_key]).get(source_key, set())
    delete_chunks(collection, sorted(records | stored))
    delete_records(engine, chroma_name, sorted(records))
    return len(records | stored)
