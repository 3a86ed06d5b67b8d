"""Scale: 20 simulated editors on SQLite and PostgreSQL; 4 concurrent ingests through 1 and 2 queue workers.

Editors (database level, the app's own functions): each of 20 threads loops — read the Drafts page (its
four queries: authors, collections, count, one page of rows), open a draft, save a revision on the version it
read (``save_revision``: optimistic concurrency). A quarter of the saves go to one shared draft, so conflicts
happen; a conflicted editor reloads and saves again (bounded retries), as the Editor page offers. Afterwards
every save that reported success must be found as a revision with its text (a missing one is a lost update),
and each draft's version must equal its newest revision number. Bounded: at most ``--ops`` saves per editor
and ``--seconds`` per engine.

Ingests: 4 uploads (the RAG corpus, one copy per collection) queued at once to procrastinate workers (real
embeddings) on a PostgreSQL and a Chroma server started here on 127.0.0.1, with 1 and then 2 workers; the
time from queueing to the last report gives the throughput. Every server and worker is stopped by PID.

    python bench/bench_scale.py [--editors 20] [--ops 15] [--seconds 60] [--skip-ingest]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import select  # noqa: E402

from db.crud import drafts as drafts_crud  # noqa: E402
from db.models import IngestTask, IngestTaskStatus, Revision  # noqa: E402
from db.session import session_scope  # noqa: E402
from editorial import settings as settings_module  # noqa: E402
from editorial import vectorstore  # noqa: E402
from editorial.auth import add_user  # noqa: E402
from editorial.collections import create_collection  # noqa: E402
from editorial.datastore import forget_migrations, open_database  # noqa: E402
from editorial.drafts import DraftConflict, create_generated_draft, save_revision  # noqa: E402
from editorial.ingest.pipeline import IngestItem  # noqa: E402
from editorial.jobs import queue  # noqa: E402
from editorial.jobs.ingest import submit_ingest  # noqa: E402
from tests.queue.processes import Processes  # noqa: E402
from tests.servers import ChromaServer, PostgresServer  # noqa: E402

CORPUS = ROOT / "bench" / "corpus" / "rag"
SHARED_SHARE = 0.25
MAX_RETRIES = 5
REPEAT = 5


@dataclass
class EditorStats:
    """What the editors did on one engine."""

    save_ms: list[float] = field(default_factory=list)
    read_ms: list[float] = field(default_factory=list)
    saved: list[tuple[int, int, str]] = field(default_factory=list)  # (draft, revision number, body)
    conflicts: int = 0
    gave_up: int = 0
    """Saves still refused after ``MAX_RETRIES`` reloads (their texts are kept as conflict revisions)."""
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values`` (nearest rank), 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def set_env(values: dict[str, str | None]) -> None:
    """Point the settings at another set-up (environment, caches cleared)."""
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    settings_module.get_settings.cache_clear()
    forget_migrations()
    vectorstore._clients.clear()


def seed(engine, editors: int) -> tuple[list[int], list[int], int]:
    """``editors`` accounts, one draft each, plus one shared draft; return user ids, draft ids, shared id."""
    users, drafts = [], []
    with session_scope(engine) as session:
        admin = add_user(session=session, actor=None, username="boss", password="boss-quiet-harbour", role="admin")
        for number in range(editors):
            user = add_user(
                session=session, actor=admin, username=f"ed{number}", password="ed-quiet-harbour", role="admin"
            )
            users.append(user.id)
        for number, user_id in enumerate([*users, admin.id]):
            draft = create_generated_draft(
                session=session,
                title=f"Post {number}",
                front_matter={"title": f"Post {number}", "tags": ["bench"]},
                body=f"First text of post {number}.",
                author_id=user_id,
                collection_id=None,
                plan_id=None,
            )
            drafts.append(draft.id)
    return users, drafts[:-1], drafts[-1]


def read_drafts_page(engine) -> None:
    """The queries the Drafts page runs for one render."""
    with session_scope(engine) as session:
        drafts_crud.draft_authors(session=session)
        drafts_crud.collections(session=session)
    with session_scope(engine) as session:
        drafts_crud.count_drafts(session=session)
    with session_scope(engine) as session:
        drafts_crud.list_drafts(session=session, limit=25, offset=0)


def editor(engine, user_id: int, own: int, shared: int, ops: int, until: float, stats: EditorStats, lock) -> None:
    """One editor: read the list, open a draft, save on the version read; conflicts reload and retry."""
    rng = random.Random(user_id)
    for op in range(ops):
        if time.monotonic() > until:
            return
        try:
            started = time.perf_counter()
            read_drafts_page(engine)
            read_ms = (time.perf_counter() - started) * 1000
            draft_id = shared if rng.random() < SHARED_SHARE else own
            for attempt in range(MAX_RETRIES):
                with session_scope(engine) as session:
                    draft = drafts_crud.get_draft(session=session, draft_id=draft_id)
                    base, front = (
                        draft.version,
                        dict(drafts_crud.current_revision(session=session, draft=draft).front_matter),
                    )
                body = f"Text {uuid.uuid4().hex} by editor {user_id}, save {op}, attempt {attempt}."
                started = time.perf_counter()
                try:
                    with session_scope(engine) as session:
                        saved = save_revision(
                            session=session,
                            draft_id=draft_id,
                            base_version=base,
                            front_matter=front,
                            body=body,
                            author_id=user_id,
                        )
                        number = saved.number
                except DraftConflict:
                    with lock:
                        stats.conflicts += 1
                    continue
                save_ms = (time.perf_counter() - started) * 1000
                with lock:
                    stats.save_ms.append(save_ms)
                    stats.read_ms.append(read_ms)
                    stats.saved.append((draft_id, number, body))
                break
            else:
                with lock:
                    stats.gave_up += 1
        except Exception as exc:  # counted and shown: the goal is none
            with lock:
                stats.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}")


def lost_updates(engine, stats: EditorStats, drafts: list[int]) -> int:
    """Successful saves not found as a revision with their text, plus drafts whose version is not their newest."""
    lost = 0
    with session_scope(engine) as session:
        revisions = list(session.exec(select(Revision).where(Revision.draft_id.in_(drafts))))  # type: ignore[attr-defined]
        found = {(r.draft_id, r.number): r.body for r in revisions}
        for draft_id, number, body in stats.saved:
            if found.get((draft_id, number)) != body:
                lost += 1
        for draft_id in drafts:
            draft = drafts_crud.get_draft(session=session, draft_id=draft_id)
            current = drafts_crud.current_revision(session=session, draft=draft)
            if current is None or current.number != draft.version:
                lost += 1
    return lost


def run_editors(label: str, engine, editors: int, ops: int, seconds: float) -> dict:
    """20 editors on one engine; their latencies, conflicts, lost updates and errors."""
    users, drafts, shared = seed(engine, editors)
    stats, lock = EditorStats(), threading.Lock()
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(target=editor, args=(engine, u, d, shared, ops, until, stats, lock))
        for u, d in zip(users, drafts, strict=True)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats.seconds = time.perf_counter() - started
    return {
        "engine": label,
        "saves": len(stats.saved),
        "saves/s": len(stats.saved) / stats.seconds if stats.seconds else 0.0,
        "read p50": statistics.median(stats.read_ms) if stats.read_ms else 0.0,
        "read p95": pct(stats.read_ms, 0.95),
        "save p50": statistics.median(stats.save_ms) if stats.save_ms else 0.0,
        "save p95": pct(stats.save_ms, 0.95),
        "conflicts": stats.conflicts,
        "gave up": stats.gave_up,
        "lost": lost_updates(engine, stats, [*drafts, shared]),
        "errors": len(stats.errors),
        "first error": stats.errors[0] if stats.errors else "",
    }


def run_ingests(env: dict[str, str], engine, settings, workers: int, folder: Path) -> dict:
    """4 uploads queued at once to ``workers`` workers; seconds to the last report and chunks per second."""
    files = sorted(CORPUS.glob("*.md"))
    processes = Processes(env, folder / f"workers-{workers}")
    try:
        for number in range(workers):
            processes.worker(f"w{number}", concurrency=1)
        warm = create_collection(engine, name=f"warm-{workers}-{uuid.uuid4().hex[:6]}")
        wait_tasks(
            engine,
            [
                submit_ingest(
                    settings,
                    engine,
                    collection_id=warm.id,
                    items=[IngestItem(files[0].name, data=files[0].read_bytes())],
                    user_id=None,
                )
            ],
        )
        if workers > 1:  # warm the second worker too (its embedding model loads on its first job)
            warm2 = create_collection(engine, name=f"warm2-{workers}-{uuid.uuid4().hex[:6]}")
            first = submit_ingest(
                settings,
                engine,
                collection_id=warm2.id,
                items=[IngestItem("a.md", data=files[1].read_bytes())],
                user_id=None,
            )
            warm3 = create_collection(engine, name=f"warm3-{workers}-{uuid.uuid4().hex[:6]}")
            second = submit_ingest(
                settings,
                engine,
                collection_id=warm3.id,
                items=[IngestItem("b.md", data=files[2].read_bytes())],
                user_id=None,
            )
            wait_tasks(engine, [first, second])
        collections = [create_collection(engine, name=f"bench-{workers}-{n}-{uuid.uuid4().hex[:6]}") for n in range(4)]
        started = time.perf_counter()
        tasks = [
            submit_ingest(settings, engine, collection_id=c.id, items=upload(files), user_id=None) for c in collections
        ]
        reports = wait_tasks(engine, tasks)
        seconds = time.perf_counter() - started
    finally:
        processes.stop_all()
    chunks = sum(sum(o.get("chunks_added", 0) for o in r.get("outcomes", [])) for r in reports)
    failed = sum(1 for r in reports for o in r.get("outcomes", []) if o.get("action") == "failed")
    return {
        "workers": workers,
        "ingests": len(tasks),
        "files": len(tasks) * len(files),
        "chunks": chunks,
        "seconds": seconds,
        "chunks/s": chunks / seconds,
        "failed": failed,
    }


def upload(files: list[Path], copies: int = REPEAT) -> list[IngestItem]:
    """One upload: each corpus file lengthened to ``copies`` numbered parts (about 40 KB in all)."""
    items = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        body = "\n\n".join(f"## Part {n + 1} of {path.stem}\n\n{text}" for n in range(copies))
        items.append(IngestItem(path.name, data=body.encode("utf-8")))
    return items


def wait_tasks(engine, task_ids: list[int], limit: float = 1800.0) -> list[dict]:
    """Wait until every task ended; return their reports (a failed task raises)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with session_scope(engine) as session:
            tasks = [session.get(IngestTask, t) for t in task_ids]
        if all(t.status in (IngestTaskStatus.SUCCEEDED, IngestTaskStatus.FAILED) for t in tasks):
            bad = [t for t in tasks if t.status == IngestTaskStatus.FAILED]
            if bad:
                raise RuntimeError(f"ingest task {bad[0].id} failed: {bad[0].error}")
            return [t.report or {} for t in tasks]
        time.sleep(0.25)
    raise TimeoutError(f"ingest tasks {task_ids} did not end in {limit:.0f} s")


def table(rows: list[dict], columns: list[str]) -> str:
    """A Markdown table."""

    def cell(value) -> str:
        return f"{value:.1f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(cell(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def main() -> int:
    """Run both parts and print their tables with the load average."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--editors", type=int, default=20)
    parser.add_argument("--ops", type=int, default=15, help="saves per editor at most")
    parser.add_argument("--seconds", type=float, default=60.0, help="time per engine at most")
    parser.add_argument("--skip-ingest", action="store_true")
    args = parser.parse_args()
    editors = max(1, min(args.editors, 50))
    folder = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    postgres = PostgresServer()
    chroma = ChromaServer(folder / "chroma")
    rows, ingest_rows = [], []
    try:
        postgres.start()
        set_env({"EDITORIAL_DATA_DIR": str(folder / "sqlite"), "EDITORIAL_DATABASE_URL": None})
        rows.append(
            run_editors("SQLite", open_database(settings_module.get_settings()), editors, args.ops, args.seconds)
        )
        url = postgres.create_database("bench")
        set_env({"EDITORIAL_DATA_DIR": str(folder / "pg"), "EDITORIAL_DATABASE_URL": url})
        rows.append(
            run_editors("PostgreSQL", open_database(settings_module.get_settings()), editors, args.ops, args.seconds)
        )
        print(f"\n{editors} editors, at most {args.ops} saves each ({SHARED_SHARE:.0%} to one shared draft); ms")
        print(
            table(
                rows,
                [
                    "engine",
                    "saves",
                    "saves/s",
                    "read p50",
                    "read p95",
                    "save p50",
                    "save p95",
                    "conflicts",
                    "gave up",
                    "lost",
                    "errors",
                ],
            )
        )
        for row in rows:
            if row["first error"]:
                print(f"first error on {row['engine']}: {row['first error']}")
        if not args.skip_ingest:
            chroma.start()
            env = {
                "EDITORIAL_DATA_DIR": str(folder / "queue"),
                "EDITORIAL_DATABASE_URL": postgres.create_database("bench_queue"),
                "EDITORIAL_TASK_QUEUE": "procrastinate",
                "EDITORIAL_CHROMA_HOST": "127.0.0.1",
                "EDITORIAL_CHROMA_PORT": str(chroma.port),
                "ANONYMIZED_TELEMETRY": "False",
            }
            set_env(env)
            settings = settings_module.get_settings()
            engine = open_database(settings)
            queue.ensure_schema(settings)
            for workers in (1, 2):
                ingest_rows.append(run_ingests(env, engine, settings, workers, folder))
            queue.close_clients()
            base = ingest_rows[0]["chunks/s"]
            for row in ingest_rows:
                row["speed-up"] = row["chunks/s"] / base if base else 0.0
            print("\n4 concurrent ingests through the queue (PostgreSQL + Chroma server, real embeddings)")
            print(
                table(
                    ingest_rows, ["workers", "ingests", "files", "chunks", "seconds", "chunks/s", "speed-up", "failed"]
                )
            )
    finally:
        queue.close_clients()
        chroma.stop()
        postgres.stop()
    load = os.getloadavg()
    print(f"\nload average during the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    bad = any(r["lost"] or r["errors"] for r in rows) or any(r["failed"] for r in ingest_rows)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
