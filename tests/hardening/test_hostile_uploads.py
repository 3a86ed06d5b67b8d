"""Item 3: bounded work per upload, through the CLI (``python -m editorial ingest``) with fake embeddings.

Each hostile file fails with one line, nothing of it is stored, and the good files of the same upload are added.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from editorial.cli import main
from editorial.settings import get_settings
from tests.hardening.hostile_files import FIXTURES, nested_html, pdf_with_huge_content_stream, zip_bomb_docx
from tests.timing import scaled

SCALE = float(os.environ.get("EDITORIAL_TEST_TIME_SCALE", "1"))


@pytest.fixture(autouse=True)
def fake_model(monkeypatch):
    monkeypatch.setattr("editorial.embeddings.build_embeddings", lambda settings: DeterministicFakeEmbedding(size=32))


def _ingest(paths: list[Path], capsys) -> tuple[int, str, str, list[dict]]:
    code = main(["ingest", "--collection", "Docs", *map(str, paths)])
    captured = capsys.readouterr()
    main(["sources", "list", "--json"])
    rows = json.loads(capsys.readouterr().out)
    return code, captured.out, captured.err, rows


def test_zip_bomb_huge_pdf_page_and_deep_html_fail_alone(tmp_path, capsys):
    (tmp_path / "bomb.docx").write_bytes(zip_bomb_docx(200))
    (tmp_path / "huge-page.pdf").write_bytes(pdf_with_huge_content_stream(10))
    (tmp_path / "deep.html").write_bytes(nested_html(50_000))
    good = [tmp_path / "tidewater.md", tmp_path / "espresso-handbook.pdf"]
    for path in good:
        shutil.copy(FIXTURES / path.name, path)
    started = time.monotonic()
    code, out, err, rows = _ingest([tmp_path / "bomb.docx", tmp_path / "huge-page.pdf", tmp_path / "deep.html", *good],
                                   capsys)  # fmt: skip
    assert time.monotonic() - started < 60 * SCALE  # was: past 120 s and 2.2 GB for the bomb alone
    assert code == 1
    assert "2 added, 0 updated, 0 skipped, 3 failed" in out
    assert "bomb.docx: The Word document unpacks to more than 100 MB" in err
    assert "huge-page.pdf: The PDF's pages are too large to read" in err
    assert "deep.html: The HTML page nests elements more than 400 levels deep" in err
    assert sorted((row["name"], row["status"]) for row in rows) == [
        ("espresso-handbook.pdf", "ready"),
        ("tidewater.md", "ready"),
    ]
    assert not any((get_settings().resolved_data_dir / "sources").glob("*bomb*"))


def test_a_file_past_the_time_limit_is_stopped_and_the_rest_of_the_upload_goes_in(tmp_path, capsys, monkeypatch):
    # Allow deep HTML so the (quadratic) cleaning itself runs into the time limit.
    monkeypatch.setenv("EDITORIAL_PARSE_MAX_DEPTH", "1000000")
    monkeypatch.setenv("EDITORIAL_PARSE_TIMEOUT_S", str(2 * SCALE))
    get_settings.cache_clear()
    (tmp_path / "slow.html").write_bytes(nested_html(50_000))
    shutil.copy(FIXTURES / "tidewater.md", tmp_path / "tidewater.md")
    code, out, err, rows = _ingest([tmp_path / "slow.html", tmp_path / "tidewater.md"], capsys)
    assert code == 1
    assert "1 added, 0 updated, 0 skipped, 1 failed" in out
    assert f"slow.html: Reading the file took longer than {2 * SCALE:g} s, so it was stopped" in err
    assert [(row["name"], row["status"]) for row in rows] == [("tidewater.md", "ready")]


def test_a_file_past_the_memory_limit_fails_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EDITORIAL_PARSE_MAX_DECOMPRESSED_MB", "100000")
    monkeypatch.setenv("EDITORIAL_PARSE_MEMORY_MB", "600")
    get_settings.cache_clear()
    (tmp_path / "bomb.docx").write_bytes(zip_bomb_docx(200))
    shutil.copy(FIXTURES / "tidewater.md", tmp_path / "tidewater.md")
    code, out, err, rows = _ingest([tmp_path / "bomb.docx", tmp_path / "tidewater.md"], capsys)
    assert code == 1 and "1 added, 0 updated, 0 skipped, 1 failed" in out
    line = next(line for line in err.splitlines() if line.startswith("failed: bomb.docx"))
    assert "more than 600 MB of memory" in line or "reader crashed" in line
    assert [(row["name"], row["status"]) for row in rows] == [("tidewater.md", "ready")]


def test_a_slow_file_holds_back_no_other_file_of_the_upload(settings, engine, monkeypatch):
    from editorial.collections import create_collection
    from editorial.ingest import IngestItem, ingest_items, pipeline
    from editorial.ingest.progress import IngestCallbacks

    good_done = threading.Event()
    real_parse = pipeline._Ingest._parse
    waited: list[bool] = []

    def parse(self, kind, data):
        if b"slow" in data:  # this file takes as long as it takes the rest of the upload to be indexed
            waited.append(good_done.wait(scaled(120)))
        return real_parse(self, kind, data)

    class Watch(IngestCallbacks):
        def on_file_done(self, outcome):
            if outcome.name == "tidewater.md" and outcome.action == "added":
                good_done.set()

    monkeypatch.setattr(pipeline._Ingest, "_parse", parse)
    collection = create_collection(engine, name="Docs")
    report = ingest_items(
        settings,
        engine,
        DeterministicFakeEmbedding(size=32),
        collection_id=collection.id,
        items=[
            IngestItem("slow.md", b"# Slow\n\nA slow file, read last.\n"),
            IngestItem("tidewater.md", (FIXTURES / "tidewater.md").read_bytes()),
        ],
        callbacks=Watch(),
    )
    assert waited == [True]  # the good file was indexed while the slow one was still being read
    assert [(o.name, o.action) for o in report.outcomes] == [("slow.md", "added"), ("tidewater.md", "added")]
