"""Ingestion with the real embedded model (all-MiniLM-L6-v2) and a real Chroma folder.

Covers the acceptance path (mixed real documents, relevant passages first, re-upload skipped, an edit
updates only its file, delete), every bad input of the issue, and a process killed mid-ingest.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from db.crud import sources as crud
from db.models import Role, SourceStatus
from db.session import session_scope
from editorial.collections import create_collection
from editorial.ingest import Action, IngestItem, delete_source, ingest_items, retry_items
from editorial.ingest.consistency import check_consistency, check_sources
from editorial.ingest.live import heartbeat_stale
from editorial.retrieval import search
from tests.timing import scaled, wait_until
from tests.unit.workflow_support import make_user

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "sources"
GOOD = ["tidewater.md", "borrow-checker.html", "espresso-handbook.pdf", "autoscaling-runbook.docx"]


@pytest.fixture
def embeddings(real_embeddings):
    return real_embeddings


def files(*names: str) -> list[IngestItem]:
    return [IngestItem(name, (FIXTURES / name).read_bytes()) for name in names]


def source_rows(engine, collection) -> dict:
    with session_scope(engine) as session:
        return {s.name: s for s in crud.list_sources(session=session, collection_id=collection.id)}


def test_mixed_documents_become_ready_and_searchable(settings, engine, embeddings):
    collection = create_collection(engine, name="Acceptance")

    def ingest(items):
        return ingest_items(settings, engine, embeddings, collection_id=collection.id, items=items)

    report = ingest(files(*GOOD))
    assert [o.action for o in report.outcomes] == [Action.ADDED] * 4
    rows = source_rows(engine, collection)
    assert all(rows[name].status is SourceStatus.READY and rows[name].chunk_count > 0 for name in GOOD)

    def top(query: str, **kwargs):
        return search(settings, embeddings, chroma_name=collection.chroma_name, query=query, k=3, **kwargs)

    expectations = {
        "How often should the boiler be descaled?": ("espresso-handbook.pdf", "page 1"),
        "How do I install the broker?": ("tidewater.md", "Tidewater > Installation"),
        "How long are messages kept?": ("tidewater.md", "Tidewater > Retention"),
        "RefCell and Mutex move the borrow check to run time": (
            "borrow-checker.html", "Understanding the borrow checker > Interior mutability"),
        "When are new nodes added to the cluster?": (
            "autoscaling-runbook.docx", "Kubernetes Autoscaling Runbook > Cluster Autoscaler"),
    }  # fmt: skip
    for query, (name, location) in expectations.items():
        best = top(query)[0]
        assert (best.source_name, best.location) == (name, location), query
        assert 0.3 < best.score <= 1.0
    diverse = top("espresso machine maintenance", mmr=True)
    assert len({p.chunk_id for p in diverse}) == 3

    # Same set again: all skipped. Edit one file: only it is updated, with only its changed chunk.
    assert [o.action for o in ingest(files(*GOOD)).outcomes] == [Action.SKIPPED] * 4
    edited = (FIXTURES / "tidewater.md").read_bytes().replace(b"seven days", b"thirty days")
    report = ingest([IngestItem("tidewater.md", edited), *files(*GOOD[1:])])
    assert [o.action for o in report.outcomes] == [Action.UPDATED, Action.SKIPPED, Action.SKIPPED, Action.SKIPPED]
    assert (report.outcomes[0].chunks_added, report.outcomes[0].chunks_deleted) == (1, 1)
    assert "thirty days" in top("How long are messages kept?")[0].text

    # Delete: its chunks are gone from search and Chroma.
    with session_scope(engine) as session:
        reviewer = make_user(session, "rita", Role.REVIEWER)
    delete_source(settings, engine, source_id=rows["tidewater.md"].id, actor=reviewer)
    assert all(p.source_name != "tidewater.md" for p in top("message queue consumer groups retention"))
    assert check_consistency(settings, engine).ok


def test_every_bad_input_gets_a_clear_message_while_the_rest_ingests(settings, engine, embeddings, tmp_path):
    collection = create_collection(engine, name="Bad input")
    oversize = tmp_path / "huge.txt"
    with oversize.open("wb") as handle:  # just over the default 25 MB limit
        handle.truncate(int(25.5 * 1024 * 1024))
    items = [
        *files("empty.md", "slides.key", "image.txt", "encrypted.pdf", "truncated.pdf", "garbage.pdf", "scanned.pdf",
               "renamed.docx", "cuisine-cp1252.txt", "release-checklist.txt"),
        IngestItem("huge.txt", path=oversize),
        IngestItem("notes.md", b"# Notes\n\nThe first version of the notes."),
        IngestItem("notes.md", b"# Notes\n\nA second file with the same name."),
    ]  # fmt: skip
    items += [IngestItem(f"tiny/{i:04}.txt", f"Tiny note number {i}.".encode()) for i in range(2000)]
    report = ingest_items(settings, engine, embeddings, collection_id=collection.id, items=items)
    messages = {o.name: o.message for o in report.outcomes if o.action is Action.FAILED}
    assert messages == {
        "empty.md": "The file is empty.",
        "slides.key": "Unsupported file type '.key'; upload Markdown, text, PDF, HTML or Word (.docx) files.",
        "image.txt": "The file holds binary data (a PNG image), not text.",
        "encrypted.pdf": "The PDF is password-protected; remove the password and upload it again.",
        "truncated.pdf": "The PDF is damaged or truncated (it has no end-of-file marker); export it again.",
        "garbage.pdf": "The PDF is damaged and cannot be read (PdfReadError); export it again.",
        "scanned.pdf": "The PDF has no text layer (1 page(s) of images, e.g. a scan); run OCR on it first.",
        "renamed.docx": "The file has a .docx name but is not a Word document (damaged or renamed).",
        "huge.txt": "The file is 25.5 MB, over the 25 MB limit (EDITORIAL_MAX_UPLOAD_MB).",
        "notes.md": "Another file in this upload has the same name but different content; rename one and upload again.",
    }
    rows = source_rows(engine, collection)
    assert len(rows) == 2003  # cp1252 text, checklist, first notes.md and 2000 tiny files; nothing of the bad ones
    assert all(row.status is SourceStatus.READY for row in rows.values())
    assert rows["cuisine-cp1252.txt"].chunk_count == 1
    best = search(settings, embeddings, chroma_name=collection.chroma_name, query="crème brûlée caramel", k=1)[0]
    assert best.source_name == "cuisine-cp1252.txt" and "La crème brûlée se cuit" in best.text
    assert (
        search(settings, embeddings, chroma_name=collection.chroma_name, query="tiny note number 1234", k=1)[
            0
        ].source_name
        == "tiny/1234.txt"
    )
    assert check_consistency(settings, engine).ok


def _record_count(database: Path) -> int:
    try:
        with sqlite3.connect(database, timeout=1) as connection:
            return connection.execute("select count(*) from upsertion_record").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_process_killed_mid_ingest_is_found_repaired_and_retried(settings, engine, embeddings, tmp_path):
    big = tmp_path / "big.md"
    big.write_text(
        "\n\n".join(f"## Part {i}\n\n" + f"Sentence {i} about the topic of part {i}. " * 22 for i in range(260))
    )
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "editorial", "ingest", "--collection", "Big", str(big)],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    database = settings.resolved_data_dir / "editorial.db"
    try:
        wait_until(
            lambda: _record_count(database) > 0 or process.poll() is not None,
            timeout=scaled(240),
            what="the ingest subprocess to store its first chunks",
        )
        assert process.poll() is None, "the ingest finished before it could be killed"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)

    with session_scope(engine) as session:
        (collection,) = crud.list_collections(session=session)
    row = source_rows(engine, collection)["big.md"]
    assert row.status is SourceStatus.INGESTING and row.chunk_count == 0  # never shown ready

    # A short stale limit (a setting) instead of waiting out the default 60 s of silence.
    short = settings.model_copy(update={"ingest_heartbeat_s": 0.1, "ingest_stale_after_s": 0.5})
    wait_until(
        lambda: heartbeat_stale(source_rows(engine, collection)["big.md"].updated_at, short.ingest_stale_after),
        timeout=scaled(30),
        what="the killed ingest's heartbeat to go stale",
    )
    found = check_sources(short, repair=False)
    assert not found.ok and found.message.startswith("1 interrupted ingest(s) (big.md)")
    assert check_sources(short, repair=True).ok
    row = source_rows(engine, collection)["big.md"]
    assert row.status is SourceStatus.FAILED
    assert row.error == "Ingestion was interrupted before all chunks were stored; retry it."
    assert check_consistency(settings, engine).ok  # no partial chunks left behind

    items = retry_items(settings, engine, source_ids=[row.id])[collection.id]
    report = ingest_items(settings, engine, embeddings, collection_id=collection.id, items=items)
    assert report.outcomes[0].action is Action.ADDED
    row = source_rows(engine, collection)["big.md"]
    assert row.status is SourceStatus.READY and row.chunk_count == report.outcomes[0].chunk_count > 200
    assert check_consistency(settings, engine).ok
