"""``ingest``, ``search`` and ``sources``: load files into a collection, search it, list/delete/retry sources."""

from __future__ import annotations

import argparse
import json
import sys

from editorial.logs import safe_text
from editorial.settings import get_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ingest``, ``search`` and ``sources`` commands."""
    ingest = subparsers.add_parser("ingest", help="ingest files and folders into a collection (created if missing)")
    ingest.add_argument("--collection", required=True, help="collection name")
    ingest.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    ingest.set_defaults(handler=ingest_command)

    search = subparsers.add_parser("search", help="search a collection's chunks")
    search.add_argument("--collection", required=True, help="collection name")
    search.add_argument("query", help="what to look for")
    search.add_argument("-k", type=int, default=5, help="how many passages (default 5)")
    search.add_argument("--mmr", action="store_true", help="diversify results (maximal marginal relevance)")
    search.add_argument("--json", action="store_true", help="print JSON")
    search.set_defaults(handler=search_command)

    sources = subparsers.add_parser("sources", help="list, delete or retry sources")
    actions = sources.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list sources with status and chunk counts")
    listing.add_argument("--collection", help="only this collection")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=list_command)
    delete = actions.add_parser("delete", help="delete sources (and all their chunks)")
    delete.add_argument("--collection", required=True, help="collection name")
    delete.add_argument("names", nargs="+", metavar="NAME", help="source names or ids")
    delete.add_argument(
        "--as", dest="actor", required=True, help="who deletes (password from EDITORIAL_PASSWORD); see 'users'"
    )
    delete.set_defaults(handler=delete_command)
    retry = actions.add_parser("retry", help="ingest failed sources again from their stored originals")
    retry.add_argument("--collection", required=True, help="collection name")
    retry.add_argument("names", nargs="*", metavar="NAME", help="source names or ids (default: every failed one)")
    retry.set_defaults(handler=retry_command)


def _prepare():
    from editorial.datastore import open_database
    from editorial.ingest import mark_interrupted

    settings = get_settings()
    engine = open_database(settings)
    for name in mark_interrupted(settings, engine):
        print(
            f"note: '{safe_text(name)}' was left half-ingested by a stopped process; marked failed (retry it)",
            file=sys.stderr,
        )
    return settings, engine


def _embeddings(settings):
    from editorial.embeddings import build_embeddings, embedding_display_name

    print(f"loading {embedding_display_name(settings)} …", file=sys.stderr, flush=True)
    return build_embeddings(settings)


class _Printer:
    """Prints one line per finished file."""

    def __init__(self) -> None:
        from editorial.ingest import IngestCallbacks

        class Callbacks(IngestCallbacks):
            def on_file_done(self, outcome) -> None:
                label = outcome.action.value.upper() if outcome.action.value == "failed" else outcome.action.value
                print(f"{label:8} {safe_text(outcome.line, 1000)}", flush=True)

        self.callbacks = Callbacks()


def _print_report(report, ignored: list[str]) -> None:
    if ignored:
        shown = ", ".join(safe_text(name) for name in ignored[:5]) + (" …" if len(ignored) > 5 else "")
        print(f"ignored  {len(ignored)} file(s) of unsupported types in folders: {shown}")
    print(report.summary())
    for outcome in report.failed:
        print(f"failed: {safe_text(outcome.line, 1000)}", file=sys.stderr)


def ingest_command(args: argparse.Namespace) -> int:
    """Ingest paths; exit 1 if any file failed."""
    from editorial.collections import get_or_create_collection
    from editorial.ingest import Action, FileOutcome, ingest_items
    from editorial.ingest.files import collect_paths

    settings, engine = _prepare()
    collected = collect_paths(args.paths)
    collection, created = get_or_create_collection(engine, name=args.collection)
    if created:
        print(f"created collection '{safe_text(collection.name)}'")
    embeddings = _embeddings(settings)
    report = ingest_items(
        settings, engine, embeddings, collection_id=collection.id, items=collected.items, callbacks=_Printer().callbacks
    )
    for missing in collected.missing:
        outcome = FileOutcome(missing, Action.FAILED, "No such file or folder.")
        report.outcomes.append(outcome)
        print(f"FAILED   {safe_text(outcome.line, 1000)}")
    _print_report(report, collected.ignored)
    return 1 if report.failed else 0


def search_command(args: argparse.Namespace) -> int:
    """Print the top passages for a query."""
    from editorial.collections import get_collection
    from editorial.retrieval import search

    settings, engine = _prepare()
    collection = get_collection(engine, name=args.collection)
    passages = search(
        settings, _embeddings(settings), chroma_name=collection.chroma_name, query=args.query, k=args.k, mmr=args.mmr
    )
    if args.json:
        print(json.dumps([passage.__dict__ for passage in passages], indent=2, ensure_ascii=False))
        return 0
    if not passages:
        print("no passages found")
    for rank, passage in enumerate(passages, 1):
        where = f" — {passage.location}" if passage.location else ""
        print(f"[{rank}] {passage.score:.3f}  {safe_text(passage.source_name + where)}")
        print("    " + " ".join(passage.text.split())[:400])
    return 0


def _rows(engine, collection_name: str | None) -> list[dict]:
    from db.crud import sources as crud
    from db.session import session_scope
    from editorial.collections import get_collection, list_collections

    collections = [get_collection(engine, name=collection_name)] if collection_name else list_collections(engine)
    rows = []
    with session_scope(engine) as session:
        for collection in collections:
            for source, username in crud.list_sources_with_adder(session=session, collection_id=collection.id):
                rows.append(
                    {
                        "id": source.id,
                        "collection": collection.name,
                        "name": source.name,
                        "kind": source.kind,
                        "size_bytes": source.size_bytes,
                        "chunks": source.chunk_count,
                        "status": source.status.value,
                        "added_by": username,
                        "added_at": source.created_at.isoformat(timespec="seconds"),
                        "error": source.error,
                    }
                )
    return rows


def list_command(args: argparse.Namespace) -> int:
    """List sources."""
    _settings, engine = _prepare()
    rows = _rows(engine, args.collection)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no sources")
    for row in rows:
        error = f"  ({safe_text(row['error'])})" if row["error"] else ""
        print(
            f"{row['id']:>5}  {safe_text(row['collection'])[:20]:20}  {row['status']:9}  {row['chunks']:>5} chunks  "
            f"{row['kind']:5}  {safe_text(row['name'])}{error}"
        )
    return 0


def _pick(engine, collection_name: str, names: list[str]) -> list[tuple[int, str]]:
    from db.crud import sources as crud
    from db.session import session_scope
    from editorial.collections import get_collection
    from editorial.ingest import SourceNotFound

    collection = get_collection(engine, name=collection_name)
    picked = []
    with session_scope(engine) as session:
        for name in names:
            source = crud.get_source_by_name(session=session, collection_id=collection.id, name=name)
            if source is None and name.isdigit():
                source = crud.get_source(session=session, source_id=int(name))
                source = source if source is not None and source.collection_id == collection.id else None
            if source is None:
                raise SourceNotFound(f"There is no source '{name}' in collection '{collection.name}'.")
            picked.append((source.id, source.name))
    return picked


def delete_command(args: argparse.Namespace) -> int:
    """Delete sources by name or id."""
    from db.session import session_scope
    from editorial.cli.users import login_actor
    from editorial.ingest import delete_source

    settings, engine = _prepare()
    with session_scope(engine) as session:
        actor = login_actor(session, args.actor)
    for source_id, name in _pick(engine, args.collection, args.names):
        removed = delete_source(settings, engine, source_id=source_id, actor=actor)
        print(f"deleted  {safe_text(name)} ({removed} chunks)")
    return 0


def retry_command(args: argparse.Namespace) -> int:
    """Re-ingest failed sources from their stored originals; exit 1 if any still fails."""
    from db.crud import sources as crud
    from db.models import SourceStatus
    from db.session import session_scope
    from editorial.collections import get_collection
    from editorial.ingest import IngestReport, ingest_items, retry_items

    settings, engine = _prepare()
    if args.names:
        ids = [source_id for source_id, _ in _pick(engine, args.collection, args.names)]
    else:
        collection = get_collection(engine, name=args.collection)
        with session_scope(engine) as session:
            failed = crud.list_sources(session=session, collection_id=collection.id, statuses=[SourceStatus.FAILED])
            ids = [source.id for source in failed]
    if not ids:
        print("nothing to retry")
        return 0
    embeddings = _embeddings(settings)
    report = IngestReport()
    for collection_id, items in retry_items(settings, engine, source_ids=ids).items():
        part = ingest_items(
            settings, engine, embeddings, collection_id=collection_id, items=items, callbacks=_Printer().callbacks
        )
        report.outcomes.extend(part.outcomes)
        report.seconds += part.seconds
    _print_report(report, [])
    return 1 if report.failed else 0
