from __future__ import annotations

import json

import pytest

from db.crud.sources import create_collection
from db.session import session_scope
from editorial.chain.calls import ChatTarget
from editorial.chain.runner import ChainServices
from editorial.cli import chain as chain_cli
from editorial.cli import main
from tests.unit.chain_fakes import RecordingChatModel, fake_search, good_responder


@pytest.fixture
def fake_services(engine, monkeypatch):
    with session_scope(engine) as session:
        create_collection(session=session, name="Docs", chroma_name="ed-docs-1")
    model = RecordingChatModel(responder=good_responder)

    def services(settings, engine_, collection):
        return ChainServices(
            engine=engine_,
            planner=ChatTarget(model, "embedded", "fake"),
            writer=ChatTarget(model, "embedded", "fake"),
            search=fake_search(),
        )

    monkeypatch.setattr(chain_cli, "_services", services)
    return model


def test_plan_json_edited_then_written_with_plan_file(fake_services, tmp_path, capsys):
    assert main(["plan", "--collection", "Docs", "--topic", "retrieval", "--words", "600", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["plan_id"] == 1 and not data["is_fallback"] and len(data["evidence"]) >= 3
    data["blueprint"]["sections"][1]["heading"] = "Edited In The File"
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(data))
    assert main(["write", "--collection", "Docs", "--plan", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("draft 1 (run 2, plan 1)") and "successful requests" in out
    assert any("Section 2 of 5: Edited In The File" in p for p in fake_services.prompts)
    assert main(["usage", "--draft", "1", "--json"]) == 0
    usage = json.loads(capsys.readouterr().out)
    assert usage["usage"]["successful_requests"] >= 6 + 5 and usage["drafts"]["1"]["tokens_per_word"] > 0


def test_plan_prints_blueprint_and_errors_are_one_line(fake_services, tmp_path, capsys):
    assert main(["plan", "--collection", "1", "--topic", "retrieval"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("plan 1: Retrieval That Works: A Field Guide") and "usage:" in out
    assert main(["plan", "--collection", "Nope", "--topic", "x"]) == 1
    assert capsys.readouterr().err.strip() == "error: No collection 'Nope' (collections: Docs)."
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["write", "--collection", "Docs", "--plan", str(bad)]) == 1
    assert "is not a plan from 'plan --json'" in capsys.readouterr().err
