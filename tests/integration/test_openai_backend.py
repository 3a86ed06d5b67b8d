"""The openai and hf_endpoint backends against a small fake OpenAI-compatible server (real one: test_model_server)."""

from __future__ import annotations

import socket

import pytest
from pydantic import SecretStr

from db.crud import usage as usage_crud
from db.crud.sources import create_collection
from db.models import RunKind, RunStatus
from db.session import session_scope
from editorial.chain.calls import ChatTarget
from editorial.chain.runner import ChainServices, RunRequest, run_chain
from editorial.errors import BackendUnreachable
from editorial.llm.remote import api_root, build_hf_endpoint, build_openai, check_backend
from editorial.llm.spec import ModelSpec
from tests.integration.openai_server import MODEL, FakeOpenAIServer
from tests.unit.chain_fakes import RecordingChatModel, fake_search, good_responder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def outline(payload):
    return {
        "title_candidates": ["Retrieval, Served Remotely"],
        "description": "Plans from a server with structured output.",
        "tags": ["rag", "llm"],
        "angle": "measure",
        "value": "a method",
        "sections": [{"heading": f"Remote Part {i}", "key_points": ["one", "two"]} for i in range(1, 5)],
        "conclusion": "Done.",
        "takeaways": ["a", "b"],
    }


def test_api_root_accepts_both_spellings():
    assert api_root("http://h:1") == "http://h:1/v1"
    assert api_root("http://h:1/v1/") == "http://h:1/v1"


def test_preflight_gives_one_line_for_unreachable_bad_key_and_missing_url():
    with pytest.raises(BackendUnreachable, match=r"is not reachable or is not an OpenAI-compatible API"):
        check_backend(ModelSpec("openai", "m", f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(BackendUnreachable, match="needs a base URL"):
        check_backend(ModelSpec("openai", "m", None))
    with FakeOpenAIServer(good_responder, api_key="right") as server:
        with pytest.raises(BackendUnreachable, match=r"refused the API key \(HTTP 401\)"):
            check_backend(ModelSpec("openai", "m", server.url, SecretStr("wrong")))
        with pytest.raises(BackendUnreachable, match=r"refused requests without an API key"):
            check_backend(ModelSpec("openai", "m", server.url))
        assert check_backend(ModelSpec("openai", "m", server.url, SecretStr("right"))) == [MODEL]
        with pytest.raises(BackendUnreachable, match="is not reachable or is not an OpenAI-compatible API"):
            check_backend(ModelSpec("openai", "m", server.url + "/elsewhere", SecretStr("right")))


def test_writer_on_an_openai_compatible_server_writes_and_records_server_usage(settings, engine):
    with session_scope(engine) as session:
        collection_id = create_collection(session=session, name="Docs", chroma_name="ed-docs-1").id
    with FakeOpenAIServer(good_responder, api_key="k") as server:
        writer = build_openai(settings, ModelSpec("openai", "embedded", server.url, SecretStr("k")))
        assert writer.model_name == MODEL  # the only served model, since none was named
        services = ChainServices(
            engine=engine,
            planner=ChatTarget(RecordingChatModel(responder=good_responder), "embedded", "local"),
            writer=ChatTarget(writer, "openai", MODEL, structured_output=True),
            search=fake_search(),
        )
        outcome = run_chain(
            RunRequest(kind=RunKind.PLAN_AND_WRITE, topic="retrieval", collection_id=collection_id, target_words=500),
            services,
        )
        assert outcome.status == RunStatus.SUCCEEDED, outcome.error
        streamed = [r for r in server.requests if r.get("stream")]
        # the grounded writer makes short generations: at least one per section, each a streamed request
        assert len(streamed) >= 5 and all(r["model"] == MODEL for r in streamed)
    with session_scope(engine) as session:
        calls = [c for c in usage_crud.list_calls(session=session, run_id=outcome.run_id) if c.backend == "openai"]
    assert len(calls) == len(streamed)
    assert all(c.stage.startswith("section ") for c in calls), [c.stage for c in calls]
    prompts = [sum(len(m["content"].split()) for m in r["messages"]) for r in streamed]
    assert [c.prompt_tokens for c in calls] == prompts  # the server's usage block, not an estimate


def test_structured_plan_from_the_server(settings, engine):
    with session_scope(engine) as session:
        collection_id = create_collection(session=session, name="Docs", chroma_name="ed-docs-1").id
    with FakeOpenAIServer(good_responder, structured=outline) as server:
        model = build_openai(settings, ModelSpec("openai", MODEL, server.url))
        target = ChatTarget(model, "openai", MODEL, structured_output=True)
        services = ChainServices(engine=engine, planner=target, writer=target, search=fake_search())
        outcome = run_chain(RunRequest(kind=RunKind.PLAN, topic="retrieval", collection_id=collection_id), services)
        assert outcome.status == RunStatus.SUCCEEDED and not outcome.is_fallback
        assert len(server.requests) == 1 and server.requests[0]["response_format"]["type"] == "json_schema"
    with session_scope(engine) as session:
        from db.models import Plan

        plan = session.get(Plan, outcome.plan_id)
    assert [s["heading"] for s in plan.blueprint["sections"]][1] == "Remote Part 1"


def test_hf_endpoint_in_hub_offline_mode_is_refused_with_one_line(settings):
    with FakeOpenAIServer(good_responder) as server, pytest.raises(BackendUnreachable, match="HF_HUB_OFFLINE=1"):
        build_hf_endpoint(settings, ModelSpec("hf_endpoint", "embedded", server.url))


def test_hf_endpoint_backend_speaks_to_the_same_server(settings, engine, monkeypatch):
    from huggingface_hub import constants
    from langchain_core.messages import HumanMessage

    from editorial.usage import CallContext, LedgerHandler

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with FakeOpenAIServer(lambda messages: "an endpoint answer") as server:
        model = build_hf_endpoint(settings, ModelSpec("hf_endpoint", "embedded", server.url))
        ledger = LedgerHandler(engine, CallContext(stage="try", backend="hf_endpoint", model=MODEL))
        reply = model.invoke([HumanMessage("hello there")], config={"callbacks": [ledger]})
    assert reply.content == "an endpoint answer"
    assert ledger.recorded[0]["prompt_tokens"] == 2 and ledger.recorded[0]["completion_tokens"] == 3


def test_dispatcher_builds_the_openai_writer_from_settings(monkeypatch):
    from editorial.chain.models import chat_target, preflight
    from editorial.llm import build_chat_model, spec_for
    from editorial.settings import get_settings

    with FakeOpenAIServer(good_responder) as server:
        monkeypatch.setenv("EDITORIAL_WRITER_BACKEND", "openai")
        monkeypatch.setenv("EDITORIAL_WRITER_BASE_URL", server.url + "/v1")
        get_settings.cache_clear()
        settings = get_settings()
        assert spec_for(settings, "writer").backend == "openai"
        preflight(settings, ("writer",))
        model = build_chat_model(settings, role="writer")
        target = chat_target(settings, "writer", model)
        assert (target.backend, target.name, target.structured_output) == ("openai", MODEL, True)
        assert model.invoke("hi").content == "ok"
    with pytest.raises(BackendUnreachable, match="is not reachable"):
        preflight(settings, ("writer",))


@pytest.mark.integration
def test_cli_write_against_the_server_prints_draft_and_usage(settings, engine, capsys, real_embeddings):
    from pathlib import Path

    from editorial.cli import main
    from editorial.collections import create_collection
    from editorial.ingest import IngestItem, ingest_items

    corpus = Path(__file__).resolve().parents[2] / "bench" / "corpus" / "rag"
    collection = create_collection(engine, name="RAG notes")
    items = [IngestItem(p.name, p.read_bytes()) for p in sorted(corpus.glob("*.md"))]
    ingest_items(settings, engine, real_embeddings, collection_id=collection.id, items=items)
    with FakeOpenAIServer(good_responder, structured=outline) as server:
        code = main(
            [
                "write",
                "--collection",
                "RAG notes",
                "--topic",
                "retrieval",
                "--words",
                "400",
                "--backend",
                "openai",
                "--base-url",
                server.url,
            ]
        )
        assert code == 0
        out = capsys.readouterr().out
        assert out.startswith("draft 1 (run 1, plan 1)")
        assert "successful requests" in out
        assert main(["usage", "--draft", "1"]) == 0
        assert f"{MODEL}" in capsys.readouterr().out
    assert (
        main(["write", "--collection", "RAG notes", "--topic", "x", "--backend", "openai", "--base-url", server.url])
        == 1
    )
    assert "is not reachable" in capsys.readouterr().err
