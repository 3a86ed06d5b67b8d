"""The Sources page under AppTest: collections, an upload with good and bad files, the list, search, delete."""

from __future__ import annotations

from pathlib import Path

import pytest

from db.crud import sources as crud
from db.models import SourceStatus
from db.session import session_scope
from editorial.collections import create_collection
from editorial.datastore import open_database
from editorial.settings import get_settings
from pages.ui.state import Keys
from tests.pages.helpers import ensure_user, open_page
from tests.timing import scaled, wait_until

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
PAGE = "pages/sources.py"


def _wait_for_report(at, limit_s: float = 240):
    """Rerun the page (as its poll does) until the ingest job it started is gone from the session."""

    def finished() -> bool:
        at.run()
        return Keys.INGEST_JOB not in at.session_state

    wait_until(finished, timeout=scaled(limit_s), what="the page's ingest job to finish", interval=0.2)
    return at


def _metrics(at) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def test_first_visit_asks_for_a_collection_and_creates_it():
    at = open_page(PAGE)
    assert not at.exception
    assert "Create the first one" in at.info[0].value
    at.text_input[0].set_value("Client ACME")
    at.button[0].click()
    at.run()
    assert not at.exception
    assert at.selectbox(key="sources_collection").value is not None
    with session_scope(open_database(get_settings())) as session:
        assert [c.name for c in crud.list_collections(session=session)] == ["Client ACME"]


@pytest.mark.integration
def test_upload_mixed_files_then_search_and_delete():
    engine = open_database(get_settings())
    collection = create_collection(engine, name="Demo")
    at = open_page(PAGE)
    names = [
        "tidewater.md",
        "borrow-checker.html",
        "espresso-handbook.pdf",
        "autoscaling-runbook.docx",
        "encrypted.pdf",
        "empty.md",
    ]
    files = [(name, (FIXTURES / name).read_bytes(), "application/octet-stream") for name in names]
    uploader = at.get("file_uploader")[0]
    uploader.set_value(files)
    at.button(key="FormSubmitter:upload-Ingest files").click()
    at.run()
    assert not at.exception
    _wait_for_report(at)
    assert not at.exception
    metrics = _metrics(at)
    assert metrics["Added"] == "4" and metrics["Failed"] == "2", metrics
    errors = " ".join(error.value for error in at.error)
    assert "encrypted.pdf: The PDF is password-protected" in errors
    assert "empty.md: The file is empty." in errors
    with session_scope(engine) as session:
        rows = crud.list_sources(session=session, collection_id=collection.id)
    assert {row.name for row in rows} == set(names[:4])
    assert all(row.status == SourceStatus.READY and row.chunk_count > 0 for row in rows)
    assert {row.added_by_id for row in rows} == {at.session_state[Keys.USER_ID]}

    # Uploading the same set again skips everything.
    at.get("file_uploader")[0].set_value(files[:4])
    at.button(key="FormSubmitter:upload-Ingest files").click()
    at.run()
    _wait_for_report(at)
    assert _metrics(at)["Skipped"] == "4"

    # Search returns the relevant passage first, highlighted.
    search_box = next(t for t in at.text_input if t.label == "Search your sources")
    search_box.set_value("how long are messages kept before compaction removes them")
    at.button(key="FormSubmitter:search-Search").click()
    at.run()
    assert not at.exception
    best = at.success[0].value
    assert best.startswith("Best match: **tidewater.md** — Tidewater > Retention")

    # Open a source, see its chunks, delete it with confirmation.
    picker = next(s for s in at.selectbox if s.label == "Open a source")
    pdf = next(row for row in rows if row.name == "espresso-handbook.pdf")
    picker.set_value(pdf.id)
    at.run()
    assert any("page 2" in caption.value for caption in at.caption)
    at.button(key=f"delete_{pdf.id}").click()
    at.run()
    at.button(key="confirm_delete").click()
    at.run()
    assert not at.exception
    with session_scope(engine) as session:
        assert crud.get_source(session=session, source_id=pdf.id) is None


def _failing_source(engine, collection_id: int) -> None:
    from langchain_core.embeddings import Embeddings

    from editorial.ingest import IngestItem, ingest_items

    class Broken(Embeddings):
        def embed_documents(self, texts):
            raise RuntimeError("model crashed")

        def embed_query(self, text):
            raise RuntimeError("model crashed")

    item = IngestItem("notes.md", b"# Notes\n\nGrinder calibration for the morning shift.")
    ingest_items(get_settings(), engine, Broken(), collection_id=collection_id, items=[item])


@pytest.mark.integration
def test_paste_text_and_retry_a_failed_source():
    engine = open_database(get_settings())
    collection = create_collection(engine, name="Notes")
    _failing_source(engine, collection.id)
    at = open_page(PAGE)
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["status"]) == ["❌ failed"]
    assert "Storing the chunks failed (model crashed); retry it." in list(table["problem"])

    retry = next(b for b in at.button if b.label == "Retry 1 failed source(s)")
    retry.click()
    at.run()
    _wait_for_report(at)
    assert _metrics(at)["Added"] == "1"

    title = next(t for t in at.text_input if t.label == "Title of the pasted text")
    title.set_value("Interview notes")
    at.text_area[0].set_value("# Interview\n\nThe team ships on Fridays after the review.")
    at.button(key="FormSubmitter:paste-Ingest text").click()
    at.run()
    _wait_for_report(at)
    with session_scope(engine) as session:
        rows = {s.name: s for s in crud.list_sources(session=session, collection_id=collection.id)}
    assert rows["notes.md"].status == SourceStatus.READY
    assert rows["Interview notes"].kind == "paste" and rows["Interview notes"].status == SourceStatus.READY


def test_a_row_left_ingesting_by_a_dead_process_shows_as_failed(monkeypatch):
    from datetime import UTC, datetime, timedelta

    from db.models import Source

    engine = open_database(get_settings())
    collection = create_collection(engine, name="Crashed")
    with session_scope(engine) as session:
        session.add(
            Source(
                collection_id=collection.id, name="half.pdf", kind="pdf", source_key="k" * 32,
                status=SourceStatus.INGESTING, updated_at=datetime.now(UTC) - timedelta(minutes=5),
            )
        )  # fmt: skip
    at = open_page(PAGE)
    assert not at.exception
    assert "1 ingest(s) were interrupted and are marked failed: half.pdf" in at.warning[0].value
    assert list(at.dataframe[0].value["status"]) == ["❌ failed"]


def test_rename_and_delete_a_collection():
    engine = open_database(get_settings())
    create_collection(engine, name="Old name")
    at = open_page(PAGE)
    rename = next(t for t in at.text_input if t.label == "Rename this collection")
    rename.set_value("New name")
    at.button(key="FormSubmitter:rename_collection-Rename").click()
    at.run()
    assert not at.exception
    with session_scope(engine) as session:
        assert [c.name for c in crud.list_collections(session=session)] == ["New name"]

    delete = next(b for b in at.button if b.label == "Delete collection")
    assert delete.disabled
    at.checkbox(key="confirm_delete_collection").check()
    at.run()
    next(b for b in at.button if b.label == "Delete collection").click()
    at.run()
    assert not at.exception
    with session_scope(engine) as session:
        assert crud.list_collections(session=session) == []
    assert "Create the first one" in at.info[0].value


def test_an_editor_cannot_delete_a_collection_someone_else_created():
    engine = open_database(get_settings())
    admin = ensure_user("admin", "admin")
    create_collection(engine, name="Shared", user_id=admin.id)
    at = open_page(PAGE, role="editor")
    at.checkbox(key="confirm_delete_collection").check()
    at.run()
    next(b for b in at.button if b.label == "Delete collection").click()
    at.run()
    assert not at.exception
    assert at.error[0].value == (
        "editor may not delete the collection 'Shared': only the editor who created it, reviewers and admins may."
    )
    with session_scope(engine) as session:
        assert [c.name for c in crud.list_collections(session=session)] == ["Shared"]
