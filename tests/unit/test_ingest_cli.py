"""``python -m editorial ingest | search | sources`` with fake embeddings (the real model runs in integration tests)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from db.models import Role
from db.session import session_scope
from editorial.auth import add_user
from editorial.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"


@pytest.fixture(autouse=True)
def fake_model(monkeypatch):
    monkeypatch.setattr("editorial.embeddings.build_embeddings", lambda settings: DeterministicFakeEmbedding(size=32))


@pytest.fixture
def accounts(engine, monkeypatch):
    """An admin ``boss`` and an editor ``ed`` (password ``secret-pass``), logged in through EDITORIAL_PASSWORD."""
    with session_scope(engine) as session:
        boss = add_user(session=session, actor=None, username="boss", password="secret-pass", role=Role.ADMIN)
        add_user(session=session, actor=boss, username="ed", password="secret-pass")
    monkeypatch.setenv("EDITORIAL_PASSWORD", "secret-pass")


@pytest.fixture
def folder(tmp_path) -> Path:
    target = tmp_path / "docs"
    (target / "guides").mkdir(parents=True)
    shutil.copy(FIXTURES / "tidewater.md", target / "tidewater.md")
    shutil.copy(FIXTURES / "borrow-checker.html", target / "guides" / "borrow-checker.html")
    (target / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (target / ".git").mkdir()
    (target / ".git" / "HEAD").write_text("ref")
    return target


def test_ingest_a_folder_then_again(folder, capsys):
    assert main(["ingest", "--collection", "Docs", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "created collection 'Docs'" in out
    assert "added    tidewater.md (4 chunks)" in out
    assert "added    guides/borrow-checker.html (3 chunks)" in out
    assert "ignored  1 file(s) of unsupported types in folders: logo.png" in out
    assert "2 added, 0 updated, 0 skipped, 0 failed" in out

    assert main(["ingest", "--collection", "docs", str(folder)]) == 0
    assert "0 added, 0 updated, 2 skipped, 0 failed" in capsys.readouterr().out


def test_ingest_exits_non_zero_with_reasons_when_a_file_fails(folder, capsys):
    code = main(["ingest", "--collection", "Docs", str(folder / "tidewater.md"), str(FIXTURES / "encrypted.pdf"),
                 str(folder / "missing.md")])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    assert "1 added, 0 updated, 0 skipped, 2 failed" in captured.out
    assert (
        "failed: encrypted.pdf: The PDF is password-protected; remove the password and upload it again." in captured.err
    )
    assert "FAILED   " in captured.out and "missing.md: No such file or folder." in captured.out


def test_search_list_delete_and_retry(folder, capsys, accounts):
    main(["ingest", "--collection", "Docs", str(folder)])
    capsys.readouterr()
    assert main(["search", "--collection", "Docs", "message queue", "-k", "2", "--json"]) == 0
    passages = json.loads(capsys.readouterr().out)
    assert len(passages) == 2
    assert set(passages[0]) == {"text", "source_id", "source_name", "location", "chunk_index", "score", "chunk_id"}

    assert main(["sources", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {row["name"] for row in listed} == {"tidewater.md", "guides/borrow-checker.html"}
    assert all(row["status"] == "ready" and row["collection"] == "Docs" for row in listed)

    # Sources ingested from the CLI have no owner: an editor may not delete them, a reviewer or admin may.
    assert main(["sources", "delete", "--collection", "Docs", "tidewater.md", "--as", "ed"]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: ed may not delete 'tidewater.md': only the editor who added it, the collection's creator, "
        "reviewers and admins may."
    )
    assert main(["sources", "list"]) == 0
    assert "tidewater.md" in capsys.readouterr().out
    assert main(["sources", "delete", "--collection", "Docs", "tidewater.md", "--as", "boss"]) == 0
    assert "deleted  tidewater.md (4 chunks)" in capsys.readouterr().out
    assert main(["sources", "list"]) == 0
    assert "tidewater.md" not in capsys.readouterr().out.replace("borrow-checker", "")

    assert main(["sources", "retry", "--collection", "Docs"]) == 0
    assert "nothing to retry" in capsys.readouterr().out


def test_unknown_collection_and_source_are_one_line_errors(folder, capsys, accounts):
    assert main(["search", "--collection", "Nope", "x"]) == 1
    assert capsys.readouterr().err.strip() == "error: There is no collection named 'Nope'."
    main(["ingest", "--collection", "Docs", str(folder)])
    capsys.readouterr()
    assert main(["sources", "delete", "--collection", "Docs", "ghost.md", "--as", "boss"]) == 1
    assert capsys.readouterr().err.strip() == "error: There is no source 'ghost.md' in collection 'Docs'."
