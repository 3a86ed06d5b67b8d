"""Ingest files into a collection: read, parse, clean, split, then index through LangChain's indexing API.

Each file is checked and parsed before anything is written, so a bad file leaves nothing behind. Good
files are indexed in groups (so thousands of tiny files share embedding batches): their rows turn
INGESTING before the first chunk is stored and READY, with the chunk count, only after the last one.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.indexing import index
from sqlalchemy import Engine

from db.crud import sources as crud
from db.models import SourceStatus
from db.session import session_scope
from editorial.ingest import records, storage
from editorial.ingest.detect import kind_for_name
from editorial.ingest.errors import SourceBusy, SourceNotFound, SourceRejected
from editorial.ingest.live import collection_lock, heartbeat_stale, ingesting, live_source_ids
from editorial.ingest.parsers import ParsedDocument, parse
from editorial.ingest.progress import Action, FileOutcome, IngestCallbacks, IngestReport
from editorial.ingest.sandbox import SandboxLimits, parse_sandboxed
from editorial.ingest.splitting import Chunk, split_sections
from editorial.settings import Settings

logger = logging.getLogger(__name__)

PIPELINE_VERSION = "1"
"""Bump when parsing or splitting changes, so unchanged files are indexed again."""

GROUP_CHUNKS = 128
"""Files are indexed together until a group holds this many chunks."""

GROUP_WAIT_S = 1.0
"""A group waits this long for the next file's parse before it is indexed anyway."""

INDEX_BATCH = 128
"""Documents per ``add_documents`` call: one Chroma upsert each (its fixed cost is amortised over the batch);
the embedding model splits them into batches of ``embedding_batch_size``."""

MAX_NAME = 512


@dataclass
class IngestItem:
    """One file (or pasted text) to ingest: bytes in memory or a path read on demand."""

    name: str
    data: bytes | None = None
    path: Path | None = None
    kind: str | None = None
    force: bool = False

    def size(self) -> int:
        """Size in bytes, without reading a file into memory."""
        if self.data is not None:
            return len(self.data)
        return self.path.stat().st_size if self.path is not None else 0

    def read(self) -> bytes:
        """The bytes."""
        if self.data is not None:
            return self.data
        return self.path.read_bytes() if self.path is not None else b""


@dataclass
class _Admitted:
    name: str
    kind: str
    data: bytes
    content: str


@dataclass
class _Prepared:
    name: str
    kind: str
    data: bytes
    fingerprint: str
    page_count: int | None
    notes: list[str]
    chunks: list[Chunk]
    source_id: int = 0
    source_key: str = ""
    was_ready: bool = False
    documents: list[Document] = field(default_factory=list)


def fingerprint(settings: Settings, data: bytes) -> str:
    """The content hash stored on a ready source: the bytes plus everything that shapes its chunks."""
    digest = hashlib.sha256(f"v{PIPELINE_VERSION}|{settings.chunk_size}|{settings.chunk_overlap}|".encode())
    digest.update(data)
    return digest.hexdigest()


def clean_name(name: str) -> str:
    """A source name: forward slashes, no leading folders' dots, at most 512 characters."""
    cleaned = name.replace("\\", "/").strip().lstrip("/")
    return (cleaned or "untitled")[-MAX_NAME:]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


class _Ingest:
    """One upload into one collection."""

    def __init__(self, settings, engine, embeddings, collection, user_id, callbacks) -> None:
        self.settings, self.engine, self.embeddings = settings, engine, embeddings
        self.collection, self.user_id, self.callbacks = collection, user_id, callbacks
        self.names: dict[str, str] = {}
        self.hashes: dict[str, str] = {}
        self._beat = 0.0
        self._store = None

    # ------------------------------------------------------------------ prepare (nothing written)
    def admit(self, item: IngestItem) -> _Admitted | FileOutcome:
        """The cheap checks, in upload order: size, duplicates in this upload, unchanged since the last ingest."""
        name = clean_name(item.name)
        self.callbacks.on_file_stage(name, "reading")
        kind = item.kind or ""
        try:
            kind = item.kind or kind_for_name(name)
            size = item.size()
            if size == 0:
                raise SourceRejected("The file is empty.")
            limit = self.settings.max_upload_bytes
            if size > limit:
                raise SourceRejected(
                    f"The file is {size / 1048576:.1f} MB, over the {self.settings.max_upload_mb:g} MB limit "
                    "(EDITORIAL_MAX_UPLOAD_MB)."
                )
            data = item.read()
            content = fingerprint(self.settings, data)
            earlier = self.names.get(name)
            if earlier is not None:
                if earlier == content:
                    return FileOutcome(name, Action.SKIPPED, "listed twice in this upload", kind)
                raise SourceRejected(
                    "Another file in this upload has the same name but different content; rename one and upload again."
                )
            self.names[name] = content
            twin = self.hashes.get(content)
            if twin is not None and not item.force:
                return FileOutcome(name, Action.SKIPPED, f"same content as '{twin}' in this upload", kind)
            self.hashes[content] = name
            skipped = self._unchanged(name, kind, content, item.force)
            if skipped is not None:
                return skipped
        except (SourceRejected, SourceBusy) as exc:
            return FileOutcome(name, Action.FAILED, str(exc), kind)
        except OSError as exc:
            return FileOutcome(name, Action.FAILED, f"The file cannot be read: {exc.strerror or exc}.", kind)
        except Exception as exc:
            logger.exception("reading %r failed", name)
            return FileOutcome(name, Action.FAILED, f"The file could not be read ({type(exc).__name__}).", kind)
        return _Admitted(name, kind, data, content)

    def parse_admitted(self, admitted: _Admitted) -> _Prepared | FileOutcome:
        """Parse and split one admitted file (thread-safe: files of one upload are parsed side by side)."""
        name, kind = admitted.name, admitted.kind
        self.callbacks.on_file_stage(name, "parsing")
        try:
            parsed = self._parse(kind, admitted.data)
            chunks = split_sections(
                parsed.sections, chunk_size=self.settings.chunk_size, chunk_overlap=self.settings.chunk_overlap
            )
            if not chunks:
                raise SourceRejected("The file has no text to index (it is blank after cleaning).")
        except (SourceRejected, SourceBusy) as exc:
            return FileOutcome(name, Action.FAILED, str(exc), kind)
        except Exception as exc:
            logger.exception("parsing %r failed", name)
            return FileOutcome(name, Action.FAILED, f"The file could not be parsed ({type(exc).__name__}).", kind)
        return _Prepared(name, kind, admitted.data, admitted.content, parsed.page_count, parsed.notes, chunks)

    def _parse(self, kind: str, data: bytes) -> ParsedDocument:
        limits = SandboxLimits.from_settings(self.settings)
        if self.settings.parse_in_subprocess:
            return parse_sandboxed(kind, data, limits)
        return parse(kind, data, limits.parser)

    def _unchanged(self, name: str, kind: str, content: str, force: bool) -> FileOutcome | None:
        with session_scope(self.engine) as session:
            existing = crud.get_source_by_name(session=session, collection_id=self.collection.id, name=name)
            busy = existing is not None and (
                existing.id in live_source_ids()
                or (
                    existing.status == SourceStatus.INGESTING
                    and not heartbeat_stale(existing.updated_at, self.settings.ingest_stale_after)
                )
            )
            if busy:
                raise SourceBusy("This source is being ingested by another upload right now; try again shortly.")
            if force:
                return None
            if existing is not None and existing.status == SourceStatus.READY and existing.content_hash == content:
                return FileOutcome(
                    name,
                    Action.SKIPPED,
                    "unchanged",
                    kind,
                    existing.id,
                    existing.chunk_count,
                    0,
                    0,
                    existing.chunk_count,
                )
            twin = crud.get_ready_source_by_hash(
                session=session, collection_id=self.collection.id, content_hash=content
            )
            if twin is not None and twin.name != name:
                return FileOutcome(
                    name, Action.SKIPPED, f"same content as '{twin.name}', already in the collection", kind, twin.id
                )
        return None

    # ------------------------------------------------------------------ index a group
    def _heartbeat(self, ids: list[int], force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._beat >= self.settings.ingest_heartbeat_s:
            self._beat = now
            with session_scope(self.engine) as session:
                crud.touch_sources(session=session, source_ids=ids)

    def _feed(self, group: list[_Prepared], ids: list[int]) -> Iterator[Document]:
        step = max(1, self.settings.embedding_batch_size)
        for prepared in group:
            total = len(prepared.documents)
            for position, document in enumerate(prepared.documents):
                if position % step == 0:
                    self.callbacks.on_file_stage(prepared.name, "embedding", position, total)
                    self._heartbeat(ids)
                yield document

    def _documents(self, prepared: _Prepared) -> list[Document]:
        base = {
            "source": prepared.source_key,
            "source_id": prepared.source_id,
            "source_name": prepared.name,
            "collection_id": self.collection.id,
            "kind": prepared.kind,
        }
        return [
            Document(page_content=chunk.text, metadata={**base, "location": chunk.location, "chunk_index": chunk.index})
            for chunk in prepared.chunks
        ]

    def flush(self, group: list[_Prepared]) -> list[FileOutcome]:
        if not group:
            return []
        try:
            self._start(group)
        except Exception as exc:
            reason = f"The source could not be recorded ({_first_line(exc)}); try again."
            for prepared in group:
                if prepared.source_key:
                    storage.remove_original(self.settings, prepared.source_key)
            return [FileOutcome(p.name, Action.FAILED, reason, p.kind) for p in group]
        with ingesting([prepared.source_id for prepared in group]):
            return self._index_or_fail(group)

    def _index_or_fail(self, group: list[_Prepared]) -> list[FileOutcome]:
        """Index a group; if it fails, index its files one by one so one bad file does not sink the others."""
        try:
            return self._index(group, [prepared.source_id for prepared in group])
        except BaseException as exc:
            interrupted = not isinstance(exc, Exception)
            reason = (
                "Ingestion was interrupted before all chunks were stored; retry it."
                if interrupted
                else f"Storing the chunks failed ({_first_line(exc)}); retry it."
            )
            self._fail(group, reason)
            if interrupted:
                raise
            if len(group) > 1:
                return [outcome for prepared in group for outcome in self._index_or_fail([prepared])]
            return [FileOutcome(p.name, Action.FAILED, reason, p.kind, p.source_id) for p in group]

    def _start(self, group: list[_Prepared]) -> None:
        """Rows to INGESTING and originals saved, in one transaction."""
        with session_scope(self.engine) as session:
            for prepared in group:
                source, created = crud.start_ingesting(
                    session=session,
                    collection_id=self.collection.id,
                    name=prepared.name,
                    kind=prepared.kind,
                    size_bytes=len(prepared.data),
                    page_count=prepared.page_count,
                    added_by_id=self.user_id,
                )
                prepared.was_ready = not created and bool(source.content_hash)
                prepared.source_id, prepared.source_key = source.id, source.source_key
                storage.save_original(self.settings, source.source_key, prepared.data)

    def _fail(self, group: list[_Prepared], reason: str) -> None:
        for prepared in group:
            try:
                records.purge_source(self.settings, self.engine, self.collection.chroma_name, prepared.source_key)
            except Exception:  # keep what was stored; doctor --repair reconciles it
                continue
        with session_scope(self.engine) as session:
            crud.mark_failed(session=session, source_ids=[p.source_id for p in group], error=reason)

    def _index(self, group: list[_Prepared], ids: list[int]) -> list[FileOutcome]:
        from editorial.vectorstore import vector_store

        for prepared in group:
            prepared.documents = self._documents(prepared)
        chroma_name = self.collection.chroma_name
        before = records.keys_by_source(self.engine, chroma_name, [p.source_key for p in group])
        self._heartbeat(ids, force=True)
        if self._store is None:
            self._store = vector_store(self.settings, chroma_name, self.embeddings)
        store = self._store
        index(
            self._feed(group, ids),
            records.record_manager(self.engine, chroma_name),
            store,
            batch_size=INDEX_BATCH,
            cleanup="scoped_full",
            source_id_key="source",
            key_encoder=records.chunk_key,
        )
        outcomes = []
        kept_positions: dict[str, int] = {}
        for prepared in group:
            new = {}
            for document in prepared.documents:
                new.setdefault(records.chunk_key(document), document.metadata["chunk_index"])
            old = before.get(prepared.source_key, set())
            kept = set(new) & old
            kept_positions.update({key: new[key] for key in kept})
            action = Action.UPDATED if prepared.was_ready else Action.ADDED
            outcomes.append(
                FileOutcome(
                    prepared.name,
                    action,
                    "; ".join(prepared.notes),
                    prepared.kind,
                    prepared.source_id,
                    chunk_count=len(new),
                    chunks_added=len(set(new) - old),
                    chunks_deleted=len(old - set(new)),
                    chunks_skipped=len(kept),
                )
            )
        self._renumber(store, kept_positions)
        with session_scope(self.engine) as session:
            for prepared, outcome in zip(group, outcomes, strict=True):
                crud.mark_ready(
                    session=session,
                    source_id=prepared.source_id,
                    chunk_count=outcome.chunk_count,
                    content_hash=prepared.fingerprint,
                )
        return outcomes

    @staticmethod
    def _renumber(store, positions: dict[str, int]) -> None:
        """Correct ``chunk_index`` of chunks that were kept but moved (their id leaves the position out)."""
        if not positions:
            return
        collection = store._collection
        ids = list(positions)
        for start in range(0, len(ids), 5000):
            batch = ids[start : start + 5000]
            stored = collection.get(ids=batch, include=["metadatas"])
            moved = [
                (chunk_id, {"chunk_index": positions[chunk_id]})
                for chunk_id, metadata in zip(stored["ids"], stored["metadatas"], strict=True)
                if (metadata or {}).get("chunk_index") != positions[chunk_id]
            ]
            if moved:
                collection.update(ids=[m[0] for m in moved], metadatas=[m[1] for m in moved])


def ingest_items(
    settings: Settings,
    engine: Engine,
    embeddings: Embeddings,
    *,
    collection_id: int,
    items: Iterable[IngestItem],
    user_id: int | None = None,
    callbacks: IngestCallbacks | None = None,
    total: int | None = None,
) -> IngestReport:
    """Ingest files into a collection; every file gets an outcome, bad ones a one-line reason.

    Args:
        settings: Chunk size/overlap, upload limit and locations.
        engine: The project database (source rows and the record manager).
        embeddings: The embedding model.
        collection_id: The target collection.
        items: Files or pasted texts; read lazily, one at a time.
        user_id: Who adds them ("added by"); None when nobody is logged in.
        callbacks: Progress hooks (no-op by default).
        total: Number of items when ``items`` has no ``len``.

    Returns:
        The report: one outcome per item, in input order.
    """
    callbacks = callbacks or IngestCallbacks()
    started = time.perf_counter()
    with session_scope(engine) as session:
        collection = crud.get_collection(session=session, collection_id=collection_id)
    if collection is None:
        raise SourceNotFound(f"Collection {collection_id} does not exist.")
    items = list(items) if total is None else items
    callbacks.on_start(total if total is not None else len(items))
    report = IngestReport()
    run = _Ingest(settings, engine, embeddings, collection, user_id, callbacks)
    done: list[tuple[int, FileOutcome]] = []
    with collection_lock(collection_id):
        group: list[tuple[int, _Prepared]] = []
        group_chunks = 0

        def flush() -> None:
            nonlocal group, group_chunks
            outcomes = run.flush([prepared for _, prepared in group])
            for (position, _), outcome in zip(group, outcomes, strict=True):
                done.append((position, outcome))
                callbacks.on_file_done(outcome)
            group, group_chunks = [], 0

        def take(position: int, prepared: _Prepared | FileOutcome) -> None:
            nonlocal group_chunks
            if isinstance(prepared, FileOutcome):
                done.append((position, prepared))
                callbacks.on_file_done(prepared)
                return
            group.append((position, prepared))
            group_chunks += len(prepared.chunks)
            callbacks.on_file_stage(prepared.name, "waiting", 0, len(prepared.chunks))
            if group_chunks >= GROUP_CHUNKS:
                flush()

        def take_finished(parsing: dict[Future, int], block_until: int) -> None:
            while len(parsing) > block_until:
                finished, _ = wait(parsing, timeout=GROUP_WAIT_S if group else None, return_when=FIRST_COMPLETED)
                if not finished:  # a slow file: index the files already read rather than hold them back
                    flush()
                    continue
                for future in sorted(finished, key=parsing.get):
                    take(parsing.pop(future), future.result())

        workers = max(1, settings.parse_workers)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest-parse") as pool:
            parsing: dict[Future, int] = {}
            for position, item in enumerate(items):
                admitted = run.admit(item)
                if isinstance(admitted, FileOutcome):
                    take(position, admitted)
                    continue
                parsing[pool.submit(run.parse_admitted, admitted)] = position
                take_finished(parsing, block_until=2 * workers - 1)  # bounded: few files' bytes in memory at once
            take_finished(parsing, block_until=0)
        flush()
    report.outcomes = [outcome for _, outcome in sorted(done, key=lambda pair: pair[0])]
    report.seconds = time.perf_counter() - started
    callbacks.on_finish(report)
    return report


def retry_items(settings: Settings, engine: Engine, *, source_ids: Iterable[int]) -> dict[int, list[IngestItem]]:
    """Items that re-ingest sources from their stored originals, grouped by collection id.

    Raises:
        SourceNotFound: a source does not exist or its original file is no longer stored.
    """
    grouped: dict[int, list[IngestItem]] = {}
    with session_scope(engine) as session:
        for source_id in source_ids:
            source = crud.get_source(session=session, source_id=source_id)
            if source is None:
                raise SourceNotFound(f"Source {source_id} does not exist.")
            data = storage.load_original(settings, source.source_key)
            if data is None:
                raise SourceNotFound(f"The original of '{source.name}' is no longer stored; upload it again.")
            item = IngestItem(source.name, data=data, kind=source.kind, force=True)
            grouped.setdefault(source.collection_id, []).append(item)
    return grouped
