"""The openai backend against a real OpenAI-compatible server running the bundled model (``transformers serve``).

Streaming, the server's usage in the ledger and cancel mid-stream run against the real server (SmolLM2 on
127.0.0.1, started once for the session and stopped by PID). Errors the real server cannot be made to produce on
demand (429, 5xx, a slow answer) come from the small fake server's error injection.
"""

from __future__ import annotations

import threading

import pytest
from transformers import AutoTokenizer

from db.crud import usage as usage_crud
from db.crud.sources import create_collection
from db.models import CallStatus, RunKind, RunStatus
from db.session import session_scope
from editorial.chain.calls import (
    CallSite,
    Cancelled,
    ChatTarget,
    ModelCallFailed,
    invoke_text,
    messages_for,
    stream_text,
)
from editorial.chain.runner import ChainCallbacks, ChainServices, RunRequest, run_chain
from editorial.errors import BackendUnreachable
from editorial.llm.embedded import ensure_embedded_checkpoint
from editorial.llm.remote import build_openai, check_backend
from editorial.llm.spec import ModelSpec
from editorial.usage import CallContext, LedgerHandler
from tests.integration.model_server import TransformersServer, free_port
from tests.integration.openai_server import MODEL, FakeOpenAIServer
from tests.unit.chain_fakes import RecordingChatModel, fake_search, good_responder

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def served(embedded_llm_settings, tmp_path_factory):
    """``transformers serve`` with the bundled SmolLM2 checkpoint on a free port of 127.0.0.1 (stopped by PID)."""
    folder = ensure_embedded_checkpoint(embedded_llm_settings)
    with TransformersServer(folder, tmp_path_factory.mktemp("transformers-serve")) as server:
        yield server


def _calls(engine, backend: str = "openai"):
    with session_scope(engine) as session:
        return [c for c in usage_crud.list_calls(session=session) if c.backend == backend]


def _target(settings, server) -> ChatTarget:
    model = build_openai(settings, ModelSpec("openai", server.model, server.url))
    return ChatTarget(model, "openai", server.model, structured_output=True)


def test_streams_from_the_real_server_and_records_its_usage(settings, engine, served):
    assert check_backend(ModelSpec("openai", served.model, served.url)) == []  # /v1/models answers (no hub cache)
    target = _target(settings, served)
    messages = messages_for("You are brief.", "Name three primary colours.")
    ledger = LedgerHandler(engine, CallContext(stage="try"))
    pieces: list[str] = []
    text = stream_text(
        target, messages, stage="try", site=CallSite(ledger=ledger), max_tokens=12, on_token=pieces.append
    )
    assert len(pieces) >= 2 and "".join(pieces) == text and text.strip()
    (call,) = _calls(engine)
    assert call.status == CallStatus.OK and call.model == served.model
    tokenizer = AutoTokenizer.from_pretrained(served.model)
    chat = [{"role": "system", "content": "You are brief."}, {"role": "user", "content": "Name three primary colours."}]
    prompt = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=True)
    prompt_ids = prompt["input_ids"] if isinstance(prompt, dict) or hasattr(prompt, "keys") else prompt
    assert call.prompt_tokens == len(prompt_ids)  # the server's usage block, counted by the model's own tokenizer
    assert 1 <= call.completion_tokens <= 12


def test_cancel_while_streaming_from_the_server_closes_the_stream_and_keeps_the_partial_call(settings, engine, served):
    """A long generation (400 tokens) on the real server is cancelled three pieces in, through the run's cancel."""
    target = _target(settings, served)
    ledger = LedgerHandler(engine, CallContext(stage="section 2"))
    site = CallSite(ledger=ledger)
    pieces: list[str] = []

    def on_token(text: str) -> None:
        pieces.append(text)
        if len(pieces) == 3:
            site.cancel.set()

    messages = messages_for(None, "Write a long story about a lighthouse keeper, at least ten paragraphs.")
    with pytest.raises(Cancelled):
        stream_text(target, messages, stage="section 2", site=site, max_tokens=400, on_token=on_token)
    assert len(pieces) == 3  # nothing is read after the cancel
    (call,) = _calls(engine)
    assert call.status == CallStatus.ERROR and call.error.startswith("cancelled"), call.error
    assert 0 < call.completion_tokens < 50 and call.prompt_tokens > 0  # what was streamed, not 400 tokens
    # the server is still usable: the closed stream did not wedge it
    reply = invoke_text(target, messages_for(None, "Say yes."), stage="after", site=CallSite(), max_tokens=3)
    assert reply.strip()


def test_a_writing_run_on_the_server_is_cancelled_and_keeps_its_calls(settings, engine, served):
    """run_chain with the writer on the real server: cancel at the first streamed token of the first section."""
    with session_scope(engine) as session:
        collection_id = create_collection(session=session, name="Docs", chroma_name="ed-docs-1").id
    cancel = threading.Event()

    class CancelInSection1(ChainCallbacks):
        current = -1

        def on_section_start(self, index, total, heading):
            self.current = index

        def on_token(self, text):
            if self.current == 0:
                cancel.set()

    services = ChainServices(
        engine=engine,
        planner=ChatTarget(RecordingChatModel(responder=good_responder), "embedded", "local"),
        writer=_target(settings, served),
        search=fake_search(),
    )
    request = RunRequest(kind=RunKind.PLAN_AND_WRITE, topic="retrieval", collection_id=collection_id, target_words=500)
    outcome = run_chain(request, services, CancelInSection1(), cancel)
    assert outcome.status == RunStatus.CANCELLED
    calls = _calls(engine)
    # the first kept sentence cancels: the fact's call (and its retry, if the verifier refused the first answer)
    assert calls and {c.stage for c in calls} <= {"section 1", "section 1 retry"}, [c.stage for c in calls]
    # a short generation may end with the token that cancelled it; either way the server's calls are in the ledger
    assert all(c.status == CallStatus.OK or c.error.startswith("cancelled") for c in calls)
    assert all(c.prompt_tokens > 0 and c.completion_tokens > 0 for c in calls)


def test_a_server_that_is_down_gives_one_line(settings):
    with pytest.raises(BackendUnreachable, match="is not reachable") as caught:
        build_openai(settings, ModelSpec("openai", "m", f"http://127.0.0.1:{free_port()}"))
    assert "\n" not in str(caught.value)
    with FakeOpenAIServer(good_responder) as server:
        target = ChatTarget(build_openai(settings, ModelSpec("openai", MODEL, server.url)), "openai", MODEL)
    # the server went away after the preflight: the call fails with one line naming the stage and the model
    with pytest.raises(ModelCallFailed, match=rf"The write call to {MODEL} failed: Connection error") as caught:
        invoke_text(target, messages_for(None, "hi"), stage="write", site=CallSite(), max_tokens=5)
    assert "\n" not in str(caught.value)


def test_a_slow_server_times_out_after_one_retry(settings, engine):
    with FakeOpenAIServer(good_responder, delay_s=3.0) as server:
        model = build_openai(settings.model_copy(update={"llm_timeout_s": 0.5}), ModelSpec("openai", MODEL, server.url))
        ledger = LedgerHandler(engine, CallContext(stage="slow"))
        with pytest.raises(ModelCallFailed, match="timed out"):
            invoke_text(
                ChatTarget(model, "openai", MODEL),
                messages_for(None, "hi"),
                stage="slow",
                site=CallSite(ledger=ledger),
                max_tokens=5,
            )
        assert len(server.requests) == 2  # the first try and one retry, then the error
    (call,) = _calls(engine)
    assert call.status == CallStatus.ERROR and "Timeout" in call.error


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_retried_once(settings, engine, status):
    with FakeOpenAIServer(good_responder, failures=[status]) as server:
        target = ChatTarget(build_openai(settings, ModelSpec("openai", MODEL, server.url)), "openai", MODEL)
        ledger = LedgerHandler(engine, CallContext(stage="write"))
        pieces: list[str] = []
        text = stream_text(
            target,
            messages_for(None, "hi"),
            stage="write",
            site=CallSite(ledger=ledger),
            max_tokens=20,
            on_token=pieces.append,
        )
        assert text == "".join(pieces) and text  # nothing was streamed before the failure: retrying is safe
        assert len(server.requests) == 2
    (call,) = _calls(engine)
    assert call.status == CallStatus.OK and call.completion_tokens > 0


def test_a_persistent_rate_limit_is_reported_in_one_line_and_recorded(settings, engine):
    with FakeOpenAIServer(good_responder, failures=[429, 429, 429]) as server:
        target = ChatTarget(build_openai(settings, ModelSpec("openai", MODEL, server.url)), "openai", MODEL)
        ledger = LedgerHandler(engine, CallContext(stage="write"))
        with pytest.raises(ModelCallFailed, match="429") as caught:
            invoke_text(target, messages_for(None, "hi"), stage="write", site=CallSite(ledger=ledger), max_tokens=5)
        assert "\n" not in str(caught.value)
        assert len(server.requests) == 2  # one retry only: a rate limit is not hammered
    (call,) = _calls(engine)
    assert call.status == CallStatus.ERROR and "RateLimitError" in call.error
