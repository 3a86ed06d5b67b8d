"""Writing runs and ingests in procrastinate workers on a real PostgreSQL (and a real Chroma server).

The workers are real ``python -m editorial worker`` processes; only their chat model is the unit tests'
fake (``tests.queue.fakes``), slowed so a run can be watched, cancelled and killed mid-way.
"""

from __future__ import annotations

import pytest

from db.crud import runs as run_crud
from db.crud import usage as usage_crud
from db.models import IngestTask, IngestTaskStatus, Run, RunKind, RunStatus, utcnow
from db.session import session_scope
from editorial.chain.liveness import request_cancel
from editorial.chain.runner import RunRequest
from editorial.collections import create_collection
from editorial.embeddings import build_embeddings
from editorial.ingest.pipeline import IngestItem
from editorial.jobs.ingest import QueuedIngest, submit_ingest
from editorial.jobs.runs import submit_run
from editorial.retrieval import search
from tests.queue.processes import kill_process
from tests.timing import scaled, wait_until

pytestmark = pytest.mark.integration


def _run(engine, run_id: int) -> Run:
    with session_scope(engine) as session:
        return run_crud.get_run(session=session, run_id=run_id)


def _request(collection_id: int) -> RunRequest:
    return RunRequest(
        kind=RunKind.PLAN_AND_WRITE, topic="retrieval quality", collection_id=collection_id, target_words=600
    )


def _finished(engine, run_id: int) -> Run | None:
    run = _run(engine, run_id)
    return run if run.status != RunStatus.RUNNING else None


def test_a_run_executes_in_a_worker_and_its_progress_lives_in_the_database(queue_settings, queue_engine, processes):
    collection = create_collection(queue_engine, name="Queue collection")
    run_id = submit_run(queue_settings, queue_engine, _request(collection.id), chroma_name=collection.chroma_name)
    assert _run(queue_engine, run_id).stage == "queued"  # no worker yet: nothing can have picked it up
    worker = processes.worker("w1")

    seen = {"live": "", "sections": 0}

    def writing_observed() -> bool:  # what another app process would show, read from the row only
        run = _run(queue_engine, run_id)
        if run.live_text:
            seen["live"] = run.live_text
        seen["sections"] = max(seen["sections"], len((run.state or {}).get("sections", [])))
        return bool(seen["live"]) and seen["sections"] >= 1

    wait_until(writing_observed, timeout=scaled(120), what="the worker's streamed text and a finished section")
    done = wait_until(lambda: _finished(queue_engine, run_id), timeout=scaled(300), what=f"run {run_id} to end")
    assert done.status == RunStatus.SUCCEEDED, done.error
    assert done.worker.endswith(f":{worker.pid}")
    assert done.draft_id is not None
    assert done.live_text == ""  # cleared once the run ended
    with session_scope(queue_engine) as session:
        totals = usage_crud.totals(session=session, run_id=run_id)
    assert totals["requests"] > 0 and totals["total_tokens"] > 0


def test_cancel_from_another_process_stops_the_worker_run(queue_settings, queue_engine, processes):
    processes.worker("w1", extra_env={"EDITORIAL_FAKE_CHUNK_DELAY_S": "0.2"})
    collection = create_collection(queue_engine, name="Cancel collection")
    run_id = submit_run(queue_settings, queue_engine, _request(collection.id), chroma_name=collection.chroma_name)
    wait_until(lambda: _run(queue_engine, run_id).live_text, timeout=scaled(120), what=f"run {run_id} to stream text")
    assert request_cancel(queue_engine, run_id)
    done = wait_until(lambda: _finished(queue_engine, run_id), timeout=scaled(60), what=f"run {run_id} to stop")
    assert done.status == RunStatus.CANCELLED
    assert done.draft_id is None


def test_a_run_whose_worker_died_is_resumed_by_another_worker(queue_settings, queue_engine, processes):
    first = processes.worker("w1", extra_env={"EDITORIAL_FAKE_CHUNK_DELAY_S": "0.1"})
    collection = create_collection(queue_engine, name="Crash collection")
    run_id = submit_run(queue_settings, queue_engine, _request(collection.id), chroma_name=collection.chroma_name)

    def one_section_saved() -> list:
        sections = (_run(queue_engine, run_id).state or {}).get("sections", [])
        return sections if sections else []

    saved = wait_until(one_section_saved, timeout=scaled(180), what=f"run {run_id} to save its first section")
    kill_process(first)
    killed_at = utcnow()
    stale_after = queue_settings.run_stale_after

    def marked_failed() -> bool:
        with session_scope(queue_engine) as session:
            run_crud.mark_stale_runs(session=session, stale_after=stale_after)
        return _run(queue_engine, run_id).status == RunStatus.FAILED

    wait_until(marked_failed, timeout=scaled(60), what=f"run {run_id} to go stale once its worker died")
    assert "resume" in _run(queue_engine, run_id).error

    second = processes.worker("w2")
    submit_run(
        queue_settings,
        queue_engine,
        _request(collection.id),
        chroma_name=collection.chroma_name,
        resume_run_id=run_id,
    )
    done = wait_until(lambda: _finished(queue_engine, run_id), timeout=scaled(300), what=f"run {run_id} to end")
    assert done.status == RunStatus.SUCCEEDED, done.error
    assert done.worker.endswith(f":{second.pid}")
    assert done.state["sections"][: len(saved)] == saved  # the finished sections were kept, not rewritten
    with session_scope(queue_engine) as session:
        calls = usage_crud.list_calls(session=session, run_id=run_id)
    first_section = [c for c in calls if c.stage == "section 1"]
    assert first_section and all(c.created_at < killed_at for c in first_section)
    assert any(c.created_at > killed_at for c in calls)  # the second worker did the rest


def test_an_ingest_runs_in_a_worker_and_is_searchable_from_this_process(queue_settings, queue_engine, processes):
    processes.worker("w1")
    collection = create_collection(queue_engine, name="Ingest collection")
    text = (
        "# Vector indexes\n\nHNSW graphs make approximate nearest neighbour search fast on large collections.\n\n"
        "Quantised vectors shrink the memory an index needs.\n"
    )
    task_id = submit_ingest(
        queue_settings,
        queue_engine,
        collection_id=collection.id,
        items=[IngestItem("indexes.md", data=text.encode()), IngestItem("broken.pdf", data=b"%PDF-1.4 not a pdf")],
        user_id=None,
    )
    handle = QueuedIngest(queue_engine, task_id, queue_settings)
    snapshot = wait_until(
        lambda: (lambda s: s if not s.running else None)(handle.snapshot()),
        timeout=scaled(240),
        what=f"ingest task {task_id} to end",
    )
    assert snapshot.error is None
    counts = snapshot.report.counts
    assert counts["added"] == 1 and counts["failed"] == 1
    assert "broken.pdf" in snapshot.report.failed[0].line
    with session_scope(queue_engine) as session:
        task = session.get(IngestTask, task_id)
        assert task.status == IngestTaskStatus.SUCCEEDED
    found = search(
        queue_settings,
        build_embeddings(queue_settings),
        chroma_name=collection.chroma_name,
        query="approximate nearest neighbour search",
        k=3,
    )
    assert found and "HNSW" in found[0].text


def test_a_worker_killed_mid_ingest_frees_its_collection_for_the_next_upload(queue_settings, queue_engine, processes):
    quick = {"EDITORIAL_WORKER_STALLED_AFTER_S": "4", "EDITORIAL_WORKER_RECOVERY_S": "2"}  # seconds, not minutes
    first = processes.worker("w1", extra_env=quick)
    collection = create_collection(queue_engine, name="Killed ingest collection")
    long_text = "\n\n".join(
        f"## Part {n}\n\n" + " ".join(f"Stream {n}.{i} keeps its offsets for {n * 7 + i} hours." for i in range(40))
        for n in range(400)
    )
    task_id = submit_ingest(
        queue_settings,
        queue_engine,
        collection_id=collection.id,
        items=[IngestItem("long-manual.md", data=long_text.encode())],
        user_id=None,
    )

    def embedding() -> bool:
        with session_scope(queue_engine) as session:
            task = session.get(IngestTask, task_id)
        return task.status == IngestTaskStatus.RUNNING and any(
            a.get("stage") == "embedding" for a in (task.progress or {}).get("active", [])
        )

    wait_until(embedding, timeout=scaled(240), what=f"ingest task {task_id} to be embedding")
    kill_process(first)
    processes.worker("w2", extra_env=quick)  # its periodic recovery fails the dead worker's job and task

    def task_failed() -> IngestTask | None:
        with session_scope(queue_engine) as session:
            task = session.get(IngestTask, task_id)
        return task if task.status == IngestTaskStatus.FAILED else None

    failed = wait_until(task_failed, timeout=scaled(120), what=f"ingest task {task_id} to be failed by the recovery")
    assert "stopped" in failed.error
    follow_up = submit_ingest(
        queue_settings,
        queue_engine,
        collection_id=collection.id,
        items=[IngestItem("short.md", data=b"# Short\n\nRetention keeps messages for seven days.\n")],
        user_id=None,
    )  # same collection: the dead job's lock must be gone, or this would wait forever
    snapshot = wait_until(
        lambda: (lambda s: s if not s.running else None)(
            QueuedIngest(queue_engine, follow_up, queue_settings).snapshot()
        ),
        timeout=scaled(240),
        what=f"ingest task {follow_up} into the same collection to end",
    )
    assert snapshot.error is None and snapshot.report.counts["added"] == 1
