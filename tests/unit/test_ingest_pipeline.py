"""Ingestion with fake embeddings and a real Chroma folder: outcomes, incremental updates, failures, consistency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings

from db.crud import sources as crud
from db.models import SourceStatus
from db.session import session_scope
from editorial.collections import CollectionError, create_collection, delete_collection, rename_collection
from editorial.ingest import (
    Action,
    IngestCallbacks,
    IngestItem,
    delete_source,
    ingest_items,
    records,
    retry_items,
    storage,
)
from editorial.ingest.consistency import check_consistency, check_sources, mark_interrupted
from editorial.ingest.jobs import IngestJob
from editorial.vectorstore import get_chroma_client

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
GOOD = ["tidewater.md", "borrow-checker.html", "espresso-handbook.pdf", "autoscaling-runbook.docx",
        "release-checklist.txt", "cuisine-cp1252.txt"]  # fmt: skip
BAD = {
    "empty.md": "The file is empty.",
    "blank.md": "The file has no text to index (it is blank after cleaning).",
    "encrypted.pdf": "The PDF is password-protected; remove the password and upload it again.",
    "truncated.pdf": "The PDF is damaged or truncated (it has no end-of-file marker); export it again.",
    "garbage.pdf": "The PDF is damaged and cannot be read (PdfReadError); export it again.",
    "scanned.pdf": "The PDF has no text layer (1 page(s) of images, e.g. a scan); run OCR on it first.",
    "image.txt": "The file holds binary data (a PNG image), not text.",
    "renamed.docx": "The file has a .docx name but is not a Word document (damaged or renamed).",
    "slides.key": "Unsupported file type '.key'; upload Markdown, text, PDF, HTML or Word (.docx) files.",
}
METADATA_KEYS = {"source", "source_id", "source_name", "collection_id", "location", "chunk_index", "kind"}


class CountingEmbeddings(Embeddings):
    """Fake embeddings that remember every text they embedded; ``fail_on`` makes a text raise."""

    def __init__(self, fail_on: str | None = None, interrupt_on: str | None = None) -> None:
        self.inner = DeterministicFakeEmbedding(size=32)
        self.embedded: list[str] = []
        self.fail_on, self.interrupt_on = fail_on, interrupt_on

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        for text in texts:
            if self.fail_on and self.fail_on in text:
                raise RuntimeError("embedding backend exploded")
            if self.interrupt_on and self.interrupt_on in text:
                raise KeyboardInterrupt
        self.embedded.extend(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def item(name: str, data: bytes | None = None) -> IngestItem:
    return IngestItem(name, data if data is not None else (FIXTURES / name).read_bytes())


@pytest.fixture
def collection(engine):
    return create_collection(engine, name="Topic")


@pytest.fixture
def run(settings, engine, collection):
    embeddings = CountingEmbeddings()

    def ingest(items, embedder=None, **kwargs):
        return ingest_items(
            settings, engine, embedder or embeddings, collection_id=collection.id, items=items, **kwargs
        )

    ingest.embeddings = embeddings
    return ingest


def rows(engine, collection):
    with session_scope(engine) as session:
        return {row.name: row for row in crud.list_sources(session=session, collection_id=collection.id)}


def stored(settings, collection) -> dict[str, set[str]]:
    return records.chroma_ids_by_source(records.chroma_collection(settings, collection.chroma_name))


def markdown(*sections: str) -> bytes:
    return "\n\n".join(f"## Part {i}\n\n{body}" for i, body in enumerate(sections)).encode()


# --------------------------------------------------------------------------- outcomes
def test_every_file_gets_an_outcome_and_bad_ones_leave_nothing(settings, engine, collection, run):
    names = GOOD + list(BAD)
    report = run([item(name) for name in names])
    outcomes = {o.name: o for o in report.outcomes}
    assert set(outcomes) == set(names)
    for name, message in BAD.items():
        assert outcomes[name].action is Action.FAILED and outcomes[name].message == message
    assert {name for name, o in outcomes.items() if o.action is Action.ADDED} == set(GOOD)
    assert outcomes["cuisine-cp1252.txt"].message == "decoded as cp1252"
    table = rows(engine, collection)
    assert set(table) == set(GOOD)  # no row for any bad file
    chunks = stored(settings, collection)
    for row in table.values():
        assert row.status is SourceStatus.READY and row.chunk_count == len(chunks[row.source_key]) > 0
        assert storage.load_original(settings, row.source_key) == (FIXTURES / row.name).read_bytes()
    assert table["espresso-handbook.pdf"].page_count == 3
    metadata = records.chroma_collection(settings, collection.chroma_name).get(include=["metadatas"])["metadatas"]
    assert all(set(m) == METADATA_KEYS for m in metadata)
    assert report.counts["failed"] == len(BAD) and report.counts["added"] == len(GOOD)
    assert report.summary().startswith(f"{len(GOOD)} added, 0 updated, 0 skipped, {len(BAD)} failed · chunks: ")


def test_reuploading_the_same_files_adds_nothing(settings, collection, run):
    run([item(name) for name in GOOD])
    before = stored(settings, collection)
    run.embeddings.embedded.clear()
    report = run([item(name) for name in GOOD])
    assert [o.action for o in report.outcomes] == [Action.SKIPPED] * len(GOOD)
    assert report.counts["chunks_added"] == 0 and report.counts["deleted"] == 0
    assert report.counts["chunks_skipped"] == sum(len(ids) for ids in before.values())
    assert run.embeddings.embedded == []
    assert stored(settings, collection) == before


def test_a_changed_file_replaces_only_its_changed_chunks(settings, engine, collection, run):
    original = markdown("Alpha text.", "Beta text.", "Gamma text.")
    run([item("doc.md", original), item("other.md", markdown("Unrelated."))])
    run.embeddings.embedded.clear()
    report = run(
        [item("doc.md", original.replace(b"Beta text.", b"Beta, revised.")), item("other.md", markdown("Unrelated."))]
    )
    doc, other = report.outcomes[0], report.outcomes[1]
    assert (doc.action, doc.chunks_added, doc.chunks_deleted, doc.chunks_skipped) == (Action.UPDATED, 1, 1, 2)
    assert other.action is Action.SKIPPED
    assert run.embeddings.embedded == ["## Part 1\n\nBeta, revised."]
    assert rows(engine, collection)["doc.md"].chunk_count == 3


def test_inserting_a_section_re_embeds_only_it_and_renumbers_the_rest(settings, engine, collection, run):
    run([item("doc.md", markdown("Alpha.", "Beta.", "Gamma."))])
    run.embeddings.embedded.clear()
    changed = b"## Intro\n\nNew first part.\n\n" + markdown("Alpha.", "Beta.", "Gamma.")
    report = run([item("doc.md", changed)])
    assert report.outcomes[0].chunks_added == 1 and report.outcomes[0].chunks_skipped == 3
    assert run.embeddings.embedded == ["## Intro\n\nNew first part."]
    chunks = records.chroma_collection(settings, collection.chroma_name).get(include=["documents", "metadatas"])
    order = sorted(zip(chunks["metadatas"], chunks["documents"], strict=True), key=lambda pair: pair[0]["chunk_index"])
    assert [m["chunk_index"] for m, _ in order] == [0, 1, 2, 3]
    assert [text.split("\n")[0] for _, text in order] == ["## Intro", "## Part 0", "## Part 1", "## Part 2"]


def test_a_large_source_spanning_many_batches_updates_incrementally(settings, collection, run):
    sections = [f"Paragraph number {i} with some words." for i in range(150)]
    run([item("big.md", markdown(*sections))])
    run.embeddings.embedded.clear()
    sections[120] = "Paragraph number 120, edited."
    report = run([item("big.md", markdown(*sections))])
    outcome = report.outcomes[0]
    assert (outcome.chunks_added, outcome.chunks_deleted, outcome.chunks_skipped) == (1, 1, 149)
    assert run.embeddings.embedded == ["## Part 120\n\nParagraph number 120, edited."]


def test_duplicate_names_and_contents_within_one_upload(engine, collection, run):
    report = run([
        item("notes.md", b"# Notes\n\nFirst version."),
        item("notes.md", b"# Notes\n\nA different version."),
        item("copy.md", b"# Notes\n\nFirst version."),
        item("again.md", b"# Again\n\nSame twice."),
        item("again.md", b"# Again\n\nSame twice."),
    ])  # fmt: skip
    assert [(o.name, o.action) for o in report.outcomes] == [
        ("notes.md", Action.ADDED),
        ("notes.md", Action.FAILED),
        ("copy.md", Action.SKIPPED),
        ("again.md", Action.ADDED),
        ("again.md", Action.SKIPPED),
    ]
    by_message = {o.message for o in report.outcomes}
    assert (
        "Another file in this upload has the same name but different content; rename one and upload again."
        in by_message
    )
    assert "same content as 'notes.md' in this upload" in by_message
    assert "listed twice in this upload" in by_message
    assert rows(engine, collection)["notes.md"].chunk_count == 1


def test_same_content_under_another_name_is_skipped_and_a_new_version_of_a_name_updates(engine, collection, run):
    run([item("a.md", b"# A\n\nShared text.")])
    report = run([item("b.md", b"# A\n\nShared text."), item("a.md", b"# A\n\nNew text.")])
    assert report.outcomes[0].action is Action.SKIPPED
    assert report.outcomes[0].message == "same content as 'a.md', already in the collection"
    assert report.outcomes[1].action is Action.UPDATED
    assert set(rows(engine, collection)) == {"a.md"}


def test_a_file_over_the_size_limit_is_refused_before_reading(monkeypatch, settings, engine, collection):
    settings.max_upload_mb = 0.001
    big = Path(settings.resolved_data_dir).parent / "big.md"
    big.write_bytes(b"# Big\n\n" + b"x" * 5000)
    report = ingest_items(
        settings, engine, CountingEmbeddings(), collection_id=collection.id, items=[IngestItem("big.md", path=big)]
    )
    assert report.outcomes[0].message == "The file is 0.0 MB, over the 0.001 MB limit (EDITORIAL_MAX_UPLOAD_MB)."


@pytest.mark.single_engine
def test_thousands_of_tiny_files_share_embedding_batches(settings, engine, collection):
    class BatchCounter(CountingEmbeddings):
        calls = 0

        def embed_documents(self, texts):
            BatchCounter.calls += 1
            return super().embed_documents(texts)

    items = [IngestItem(f"tiny/{i:04}.txt", f"Tiny note {i}.".encode()) for i in range(2000)]
    report = ingest_items(settings, engine, BatchCounter(), collection_id=collection.id, items=items)
    assert report.counts["added"] == 2000 and report.counts["failed"] == 0
    assert BatchCounter.calls <= 2000 // 32
    assert sum(len(ids) for ids in stored(settings, collection).values()) == 2000


def test_an_embedding_failure_fails_only_its_file_and_leaves_no_chunks(settings, engine, collection, run):
    report = run(
        [
            item("good.md", b"# Good\n\nFine text."),
            item("bad.md", b"# Bad\n\nBOOM here."),
            item("also.md", b"# Also\n\nOk."),
        ],
        embedder=CountingEmbeddings(fail_on="BOOM"),
    )
    outcomes = {o.name: o for o in report.outcomes}
    assert outcomes["good.md"].action is Action.ADDED and outcomes["also.md"].action is Action.ADDED
    assert outcomes["bad.md"].message == "Storing the chunks failed (embedding backend exploded); retry it."
    table = rows(engine, collection)
    assert table["bad.md"].status is SourceStatus.FAILED and table["bad.md"].chunk_count == 0
    assert table["bad.md"].source_key not in stored(settings, collection)
    assert check_consistency(settings, engine).ok
    # Retry from the stored original (with a healthy model) makes it ready.
    retried = ingest_items(
        settings, engine, CountingEmbeddings(), collection_id=collection.id,
        items=retry_items(settings, engine, source_ids=[table["bad.md"].id])[collection.id],
    )  # fmt: skip
    assert retried.outcomes[0].action is Action.ADDED
    assert rows(engine, collection)["bad.md"].status is SourceStatus.READY


def test_an_interrupt_marks_the_group_failed_and_propagates(settings, engine, collection, run):
    with pytest.raises(KeyboardInterrupt):
        run([item("stop.md", b"# Stop\n\nHALT now.")], embedder=CountingEmbeddings(interrupt_on="HALT"))
    row = rows(engine, collection)["stop.md"]
    assert row.status is SourceStatus.FAILED
    assert row.error == "Ingestion was interrupted before all chunks were stored; retry it."
    assert check_consistency(settings, engine).ok


# --------------------------------------------------------------------------- delete
def test_deleting_a_source_removes_all_its_chunks_records_and_original(settings, engine, collection, run):
    run([item("tidewater.md"), item("release-checklist.txt")])
    table = rows(engine, collection)
    removed = delete_source(settings, engine, source_id=table["tidewater.md"].id)
    assert removed == table["tidewater.md"].chunk_count
    assert set(rows(engine, collection)) == {"release-checklist.txt"}
    key = table["tidewater.md"].source_key
    assert key not in stored(settings, collection)
    assert records.keys_by_source(engine, collection.chroma_name, [key]) == {key: set()}
    assert storage.load_original(settings, key) is None
    assert check_consistency(settings, engine).ok


# --------------------------------------------------------------------------- consistency
def _age(engine, source_id: int, minutes: int) -> None:
    from sqlalchemy import update

    from db.models import Source

    with session_scope(engine) as session:
        session.execute(
            update(Source)
            .where(Source.id == source_id)
            .values(status=SourceStatus.INGESTING, updated_at=datetime.now(UTC) - timedelta(minutes=minutes))
        )


def test_rows_left_ingesting_by_a_dead_process_become_failed(settings, engine, collection, run):
    run([item("tidewater.md"), item("release-checklist.txt")])
    table = rows(engine, collection)
    _age(engine, table["tidewater.md"].id, minutes=10)  # a dead process's row, with chunks
    _age(engine, table["release-checklist.txt"].id, minutes=0)  # another process, heartbeat fresh
    report = check_consistency(settings, engine)
    assert report.interrupted == ["tidewater.md"] and not report.ok
    assert mark_interrupted(settings, engine) == ["tidewater.md"]
    table = rows(engine, collection)
    assert table["tidewater.md"].status is SourceStatus.FAILED
    assert table["tidewater.md"].error == "Ingestion was interrupted before all chunks were stored; retry it."
    assert table["tidewater.md"].source_key not in stored(settings, collection)
    assert table["release-checklist.txt"].status is SourceStatus.INGESTING


def test_doctor_finds_and_repairs_mismatches(settings, engine, collection, run):
    run([item("tidewater.md"), item("borrow-checker.html")])
    table = rows(engine, collection)
    chroma = records.chroma_collection(settings, collection.chroma_name)
    missing = sorted(stored(settings, collection)[table["tidewater.md"].source_key])[0]
    chroma.delete(ids=[missing])  # a chunk lost from Chroma
    chroma.add(ids=["orphan-1"], embeddings=[[0.1] * 32], documents=["stray"], metadatas=[{"source": "gone"}])
    get_chroma_client(settings).get_or_create_collection("ed-abandoned-12345678")

    result = check_sources(settings, repair=False)
    assert not result.ok
    assert result.message == (
        "1 source(s) with missing or extra chunks (tidewater.md); 1 orphan chunk(s) in Chroma; "
        "1 orphan Chroma collection(s) (run doctor --repair)"
    )
    repaired = check_sources(settings, repair=True)
    assert repaired.ok and repaired.message.startswith("repaired: ")
    after = check_sources(settings, repair=False)
    assert after.ok and after.message == "2 source(s): database, Chroma and records agree"
    table = rows(engine, collection)
    assert table["tidewater.md"].status is SourceStatus.FAILED
    assert table["tidewater.md"].error.startswith("Its chunks in Chroma do not match the database")
    assert table["borrow-checker.html"].status is SourceStatus.READY
    assert "ed-abandoned-12345678" not in [c.name for c in get_chroma_client(settings).list_collections()]


def test_doctor_lists_the_sources_check():
    from editorial.doctor import CHECKS

    assert "check_sources" in [check.__name__ for check in CHECKS]


# --------------------------------------------------------------------------- collections
def test_collections_create_rename_delete(settings, engine, run, collection):
    with pytest.raises(CollectionError, match=r"A collection named 'topic' already exists."):
        create_collection(engine, name="  topic ")
    with pytest.raises(CollectionError, match=r"A collection needs a name."):
        create_collection(engine, name="   ")
    other = create_collection(engine, name="Client ACME / 2024 (draft)")
    assert other.chroma_name.startswith("ed-client-acme-2024-draft-")
    with pytest.raises(CollectionError, match="already exists"):
        rename_collection(engine, collection_id=other.id, name="Topic")
    assert rename_collection(engine, collection_id=other.id, name="ACME").name == "ACME"

    run([item("tidewater.md")])
    key = rows(engine, collection)["tidewater.md"].source_key
    assert delete_collection(settings, engine, collection_id=collection.id) == 1
    assert collection.chroma_name not in [c.name for c in get_chroma_client(settings).list_collections()]
    assert records.keys_by_source(engine, collection.chroma_name) == {}
    assert storage.load_original(settings, key) is None
    with session_scope(engine) as session:
        assert crud.list_sources(session=session) == []
        assert [c.name for c in crud.list_collections(session=session)] == ["ACME"]


# --------------------------------------------------------------------------- background job
def test_a_background_job_reports_progress_and_the_report(settings, engine, collection):
    seen: list[tuple[str, str]] = []

    class Recorder(IngestCallbacks):
        def on_file_stage(self, name, stage, done=0, total=0):
            seen.append((name, stage))

    items = [item("tidewater.md"), item("empty.md")]
    job = IngestJob(
        lambda callbacks: ingest_items(
            settings, engine, CountingEmbeddings(), collection_id=collection.id, items=items, callbacks=callbacks
        ),
        total=2,
    ).start()
    assert job.wait(60)
    snapshot = job.snapshot()
    assert not snapshot.running and snapshot.fraction == 1.0 and snapshot.error is None
    assert [o.action for o in snapshot.report.outcomes] == [Action.ADDED, Action.FAILED]
    ingest_items(
        settings, engine, CountingEmbeddings(), collection_id=collection.id, items=[item("borrow-checker.html")],
        callbacks=Recorder(),
    )  # fmt: skip
    assert ("borrow-checker.html", "embedding") in seen


def test_a_background_job_turns_errors_into_one_line():
    def boom(callbacks):
        raise ValueError("bad things\nsecond line")

    job = IngestJob(boom).start()
    assert job.wait(10)
    assert job.snapshot().error == "Unexpected error: ValueError: bad things"
