"""Keep source rows, Chroma chunks and the record manager in agreement; find and repair mismatches.

* An INGESTING row that no live ingest owns (its process died) becomes FAILED, its partial chunks removed.
* A READY row whose chunks in Chroma differ from its records or its chunk count becomes FAILED, its chunks
  removed (retry re-indexes it from the stored original). Failed rows keep no chunks.
* Chunks and records of sources that have no row are deleted (orphans); so are Chroma collections of ours
  (``ed-`` prefix) that no collection row points to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from db.crud import sources as crud
from db.models import SourceStatus
from db.session import session_scope
from editorial.checks import CheckResult
from editorial.datastore import open_database
from editorial.ingest import records
from editorial.ingest.live import live_source_ids
from editorial.settings import Settings
from editorial.vectorstore import get_chroma_client

INTERRUPTED = "Ingestion was interrupted before all chunks were stored; retry it."
MISMATCH = "Its chunks in Chroma do not match the database ({detail}); retry it."


@dataclass
class ConsistencyReport:
    """What a consistency pass found (and, when repairing, fixed)."""

    interrupted: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    orphan_chunks: int = 0
    orphan_records: int = 0
    orphan_collections: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether nothing disagreed."""
        return not (
            self.interrupted or self.mismatched or self.orphan_chunks or self.orphan_records or self.orphan_collections
        )

    def describe(self) -> str:
        """One line: the problems found, or that all agree."""
        parts = []
        if self.interrupted:
            parts.append(f"{len(self.interrupted)} interrupted ingest(s) ({', '.join(self.interrupted[:3])})")
        if self.mismatched:
            parts.append(
                f"{len(self.mismatched)} source(s) with missing or extra chunks ({', '.join(self.mismatched[:3])})"
            )
        if self.orphan_chunks:
            parts.append(f"{self.orphan_chunks} orphan chunk(s) in Chroma")
        if self.orphan_records:
            parts.append(f"{self.orphan_records} orphan record(s)")
        if self.orphan_collections:
            parts.append(f"{len(self.orphan_collections)} orphan Chroma collection(s)")
        return "; ".join(parts)


def mark_interrupted(settings: Settings, engine: Engine, *, now: datetime | None = None) -> list[str]:
    """Turn sources left INGESTING by a dead process into FAILED (partial chunks removed); return their names."""
    cutoff = (now or datetime.now(UTC)) - settings.ingest_stale_after
    with session_scope(engine) as session:
        stale = crud.stale_ingesting(session=session, older_than=cutoff, exclude_ids=live_source_ids())
        found = [(s.id, s.name, s.source_key, s.collection_id) for s in stale]
        chroma_names = {
            c.id: c.chroma_name for c in crud.list_collections(session=session) if c.id in {row[3] for row in found}
        }
    for source_id, _name, key, collection_id in found:
        records.purge_source(settings, engine, chroma_names[collection_id], key)
        with session_scope(engine) as session:
            crud.mark_failed(session=session, source_ids=[source_id], error=INTERRUPTED)
    return [row[1] for row in found]


def check_consistency(settings: Settings, engine: Engine, *, repair: bool = False) -> ConsistencyReport:
    """Compare rows, Chroma and records in every collection; with ``repair``, fix what disagrees."""
    report = ConsistencyReport()
    if repair:
        report.interrupted = mark_interrupted(settings, engine)
    else:
        cutoff = datetime.now(UTC) - settings.ingest_stale_after
        with session_scope(engine) as session:
            stale = crud.stale_ingesting(session=session, older_than=cutoff, exclude_ids=live_source_ids())
            report.interrupted = [s.name for s in stale]
    with session_scope(engine) as session:
        collections = crud.list_collections(session=session)
        rows = {c.id: crud.list_sources(session=session, collection_id=c.id) for c in collections}
    live_ids = live_source_ids()
    for collection in collections:
        _check_collection(settings, engine, collection, rows[collection.id], live_ids, report, repair)
    known = {c.chroma_name for c in collections}
    for chroma in get_chroma_client(settings).list_collections():
        name = chroma if isinstance(chroma, str) else chroma.name
        if name.startswith("ed-") and name not in known:
            report.orphan_collections.append(name)
            if repair:
                get_chroma_client(settings).delete_collection(name)
                records.drop_namespace(engine, name)
    return report


def _check_collection(settings, engine, collection, sources, live_ids, report, repair) -> None:
    chroma = records.chroma_collection(settings, collection.chroma_name)
    stored = records.chroma_ids_by_source(chroma)
    recorded = records.keys_by_source(engine, collection.chroma_name)
    by_key = {source.source_key: source for source in sources}
    orphan_ids = sorted(i for key, ids in stored.items() if key not in by_key for i in ids)
    orphan_keys = sorted(k for key, keys in recorded.items() if key not in by_key for k in keys)
    report.orphan_chunks += len(orphan_ids)
    report.orphan_records += len(orphan_keys)
    if repair:
        records.delete_chunks(chroma, sorted(set(orphan_ids) | set(orphan_keys)))
        records.delete_records(engine, collection.chroma_name, orphan_keys)
    for source in sources:
        if source.id in live_ids or source.status == SourceStatus.INGESTING:
            continue
        ids, keys = stored.get(source.source_key, set()), recorded.get(source.source_key, set())
        if source.status != SourceStatus.READY:
            # Failed sources keep no chunks: leftovers would show up in search.
            report.orphan_chunks += len(ids | keys)
            if repair and (ids or keys):
                records.delete_chunks(chroma, sorted(ids | keys))
                records.delete_records(engine, collection.chroma_name, sorted(keys))
            continue
        if ids == keys and len(ids) == source.chunk_count:
            continue
        detail = f"{len(ids)} stored, {len(keys)} recorded, {source.chunk_count} expected"
        report.mismatched.append(source.name)
        if repair:
            records.delete_chunks(chroma, sorted(ids | keys))
            records.delete_records(engine, collection.chroma_name, sorted(keys))
            with session_scope(engine) as session:
                crud.mark_failed(session=session, source_ids=[source.id], error=MISMATCH.format(detail=detail))


def check_sources(settings: Settings, repair: bool) -> CheckResult:
    """Doctor check: source rows, Chroma chunks and the record manager agree (``--repair`` reconciles them)."""
    engine = open_database(settings)
    report = check_consistency(settings, engine, repair=repair)
    with session_scope(engine) as session:
        total = sum(
            len(crud.list_sources(session=session, collection_id=c.id)) for c in crud.list_collections(session=session)
        )
    if report.ok:
        return CheckResult("sources", True, f"{total} source(s): database, Chroma and records agree")
    if repair:
        return CheckResult("sources", True, f"repaired: {report.describe()}; failed sources can be retried")
    return CheckResult("sources", False, f"{report.describe()} (run doctor --repair)")
