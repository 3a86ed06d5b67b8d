"""Items 2, 3, 8 and 9 through the pages (AppTest) and the command line: one clear line, nothing lost."""

from __future__ import annotations

import logging
import os
import time
import tomllib
from pathlib import Path

from langchain_core.embeddings import DeterministicFakeEmbedding
from sqlmodel import select

from db.models import Draft, Revision, Role
from db.session import session_scope
from editorial.cli import main
from editorial.datastore import open_database
from editorial.drafts import create_generated_draft
from editorial.ingest.jobs import IngestJob
from editorial.logs import log_path
from editorial.settings import Settings, get_settings
from pages.ui.state import Keys
from tests.pages.helpers import REPO_ROOT, open_page

SCALE = float(os.environ.get("EDITORIAL_TEST_TIME_SCALE", "1"))
FRONT = {"title": "Grounded", "description": "d", "tags": ["python"], "published": False}


def _draft(body: str) -> int:
    with session_scope(open_database(get_settings())) as session:
        return create_generated_draft(session=session, title="Grounded", front_matter=FRONT, body=body,
                                      author_id=None, collection_id=None, plan_id=None).id  # fmt: skip


def test_deep_yaml_is_one_line_and_the_app_lives():
    at = open_page("pages/drafts.py", role=Role.EDITOR, username="ed")
    for deep in ("tags: " + "[" * 30_000 + "]" * 30_000, "- " * 30_000 + "x"):
        at.text_area(key="new_draft_text").input(f"---\ntitle: Deep\n{deep}\n---\nBody text.")
        at.button[[b.label for b in at.button].index("Create and open")].click().run()
        assert not at.exception
        errors = [e.value for e in at.error]
        assert errors == ["The front matter is nested too deeply (more than 20 levels)."], errors
    with session_scope(open_database(get_settings())) as session:
        assert session.exec(select(Draft)).all() == []


def test_streamlit_upload_limit_matches_the_setting():
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == Settings().max_upload_mb == 25
    assert "--server.maxUploadSize $(EDITORIAL_MAX_UPLOAD_MB)" in (REPO_ROOT / "Makefile").read_text()


def test_latin1_is_read_as_western_text(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("editorial.embeddings.build_embeddings", lambda settings: DeterministicFakeEmbedding(size=32))
    (tmp_path / "notes.txt").write_bytes("Il est très fort.\nÇa va très bien, merci.\n".encode("latin-1"))
    assert main(["ingest", "--collection", "Docs", str(tmp_path / "notes.txt")]) == 0
    assert "notes.txt (1 chunks; decoded as cp1252)" in capsys.readouterr().out
    assert main(["search", "--collection", "Docs", "très", "--json"]) == 0
    assert "Ça va très bien" in capsys.readouterr().out


def test_central_european_text_is_read_in_its_code_page(tmp_path, capsys, monkeypatch):
    from editorial.ingest.detect import decode_text

    monkeypatch.setattr("editorial.embeddings.build_embeddings", lambda settings: DeterministicFakeEmbedding(size=32))
    (tmp_path / "notatki.txt").write_bytes("Przykład krótki: łąka.\n".encode("cp1250"))  # short: no detector is sure
    assert main(["ingest", "--collection", "Docs", str(tmp_path / "notatki.txt")]) == 0
    assert "notatki.txt (1 chunks; decoded as cp1250)" in capsys.readouterr().out
    assert main(["search", "--collection", "Docs", "łąka", "--json"]) == 0
    assert "Przykład krótki: łąka." in capsys.readouterr().out
    for text, encoding in [
        ("Příliš žluťoučký kůň úpěl ďábelské ódy.", "cp1250"),
        ("Grüße aus München, schöne Straße.", "cp1252"),
        ("Привет, мир! Это тест кодировки.", "cp1251"),
    ]:
        assert decode_text(text.encode(encoding)) == (text, encoding)


def test_cli_prints_hostile_names_escaped(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("editorial.embeddings.build_embeddings", lambda settings: DeterministicFakeEmbedding(size=32))
    names = ["bad\nname.md", "\x1b[31mred\x1b[0m.md", "rtl\u202egnp.md"]
    for name in names:
        (tmp_path / name).write_text("# Title\n\nSome text here.\n")
    main(["ingest", "--collection", "Docs", *(str(tmp_path / name) for name in names)])
    main(["sources", "list"])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out
    assert "bad\\nname.md" in out and "\\x1b[31mred\\x1b[0m.md" in out and "rtl\\u202egnp.md" in out
    assert all(line.count("\\n") <= 1 for line in out.splitlines())


def test_big_side_by_side_diff_is_bounded():
    draft_id = _draft("\n".join(f"line {i} with some words in it" for i in range(1000)))
    at = open_page("pages/editor.py", role=Role.EDITOR, username="ed", state={Keys.DRAFT_ID: draft_id})
    body = "\n".join(f"changed {i} with other words here" for i in range(1000))
    at.text_area(key=f"editor.{draft_id}.body").input(body).run()
    at.button(key="save").click().run()
    assert not at.exception
    assert "+changed 999 with other words here" in at.code[0].value  # the unified diff shows everything
    started = time.monotonic()
    at.radio(key="diff_mode").set_value("side by side").run()
    assert time.monotonic() - started < 20 * SCALE  # was 64 s
    assert not at.exception
    assert "Too many changes for the side-by-side view (1000 lines added, 1000 removed)" in at.html[-1].value


def test_oversize_revision_is_refused():
    draft_id = _draft("Short body.")
    at = open_page("pages/editor.py", role=Role.EDITOR, username="ed", state={Keys.DRAFT_ID: draft_id})
    at.text_area(key=f"editor.{draft_id}.body").input("word " * 200_000).run()  # 1 MB
    at.button(key="save").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("over dev.to's limit of 800 KB; nothing was saved." in e for e in errors), errors
    with session_scope(open_database(get_settings())) as session:
        assert [r.body for r in session.exec(select(Revision).where(Revision.draft_id == draft_id))] == ["Short body."]


def test_data_files_are_private(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("editorial.embeddings.build_embeddings", lambda settings: DeterministicFakeEmbedding(size=32))
    (tmp_path / "a.md").write_text("# A\n\nText.\n")
    assert main(["ingest", "--collection", "Docs", str(tmp_path / "a.md")]) == 0
    data = get_settings().resolved_data_dir
    assert data.stat().st_mode & 0o777 == 0o700
    database = data / "editorial.db"
    assert database.stat().st_mode & 0o777 == 0o600
    originals = data / "sources"
    assert originals.stat().st_mode & 0o777 == 0o700
    assert [p.stat().st_mode & 0o777 for p in originals.iterdir()] == [0o600]
    assert log_path(get_settings()).stat().st_mode & 0o777 == 0o600


def test_background_failures_keep_their_traceback_in_the_log(capsys):
    settings = get_settings()
    open_database(settings)

    def work(job):
        raise ZeroDivisionError("boom in the background")

    job = IngestJob(work, total=1).start()
    job.wait(30 * SCALE)
    assert job.snapshot().error == "Unexpected error: ZeroDivisionError: boom in the background"
    for handler in logging.getLogger("editorial").handlers:
        handler.flush()
    text = Path(log_path(settings)).read_text()
    assert "Traceback (most recent call last)" in text and "ZeroDivisionError: boom in the background" in text
    assert main(["doctor", "--no-models"]) in (0, 1)
    assert f"log: tracebacks of background failures: {log_path(settings)}" in capsys.readouterr().out
