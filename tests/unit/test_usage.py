from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from db.crud import usage as usage_crud
from db.models import CallStatus
from db.session import session_scope
from editorial.usage import CallContext, LedgerHandler, TokenCounter, token_counter_for, usage_metrics
from tests.unit.chain_fakes import RecordingChatModel


class CharTokenizer:
    """One token per character; a chat template that adds four tokens per message."""

    chat_template = "fake"

    def encode(self, text, add_special_tokens=False):
        return list(text)

    def apply_chat_template(self, messages, add_generation_prompt=True, tokenize=True):
        return [0] * sum(len(m["content"]) + 4 for m in messages)


def handler(engine, counter=None, **context):
    return LedgerHandler(engine, CallContext(stage="plan", backend="embedded", model="m", **context), counter)


def test_success_with_reported_usage_is_one_row(engine):
    ledger = handler(engine)
    model = RecordingChatModel(responder=lambda m: "four words right here")
    model.invoke([HumanMessage("one two three")], config={"callbacks": [ledger]})
    with session_scope(engine) as session:
        (call,) = usage_crud.list_calls(session=session)
    assert (call.prompt_tokens, call.completion_tokens, call.total_tokens) == (3, 4, 7)
    assert call.status == CallStatus.OK and call.stage == "plan" and call.model == "m" and call.latency_ms >= 0


def test_local_model_without_usage_is_counted_with_the_tokenizer(engine):
    ledger = handler(engine, TokenCounter(CharTokenizer()))
    model = RecordingChatModel(responder=lambda m: "abcdef", report_usage=False)
    list(model.stream([SystemMessage("sys"), HumanMessage("hello")], config={"callbacks": [ledger]}))
    with session_scope(engine) as session:
        (call,) = usage_crud.list_calls(session=session)
    assert call.prompt_tokens == (3 + 4) + (5 + 4)
    assert call.completion_tokens == 6


def test_failed_call_is_stored_with_its_error_and_prompt_tokens(engine):
    ledger = handler(engine, TokenCounter(CharTokenizer()), run_id=None)
    model = RecordingChatModel(responder=lambda m: "x", fail_when=lambda text: True, report_usage=False)
    with pytest.raises(RuntimeError):
        model.invoke([HumanMessage("abc")], config={"callbacks": [ledger]})
    with session_scope(engine) as session:
        (call,) = usage_crud.list_calls(session=session)
    assert call.status == CallStatus.ERROR and call.error == "RuntimeError: backend exploded"
    assert call.prompt_tokens == 7 and call.completion_tokens == 0
    metrics = usage_metrics(engine)
    assert metrics.successful_requests == 0 and metrics.prompt_tokens == 7


def test_totals_have_crewai_usage_metrics_shape_and_cached_tokens(engine):
    with session_scope(engine) as session:
        usage_crud.record_call(session=session, prompt_tokens=100, completion_tokens=20, cached_prompt_tokens=30)
        usage_crud.record_call(session=session, prompt_tokens=10, completion_tokens=0, status=CallStatus.ERROR)
        totals = usage_crud.totals(session=session)
    assert totals == {
        "total_tokens": 130,
        "prompt_tokens": 110,
        "cached_prompt_tokens": 30,
        "completion_tokens": 20,
        "successful_requests": 1,
        "requests": 2,
    }
    assert usage_metrics(engine).summary() == (
        "130 tokens (110 prompt, 30 cached, 20 completion) in 1 successful requests"
    )


def test_cached_tokens_from_usage_metadata(engine):
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, LLMResult

    ledger = handler(engine)
    from uuid import uuid4

    run_id = uuid4()
    ledger.on_chat_model_start({}, [[HumanMessage("hi")]], run_id=run_id)
    usage = {"input_tokens": 50, "output_tokens": 5, "total_tokens": 55, "input_token_details": {"cache_read": 40}}
    result = LLMResult(generations=[[ChatGeneration(message=AIMessage("ok", usage_metadata=usage))]])
    ledger.on_llm_end(result, run_id=run_id)
    assert ledger.recorded[0]["cached_prompt_tokens"] == 40
    assert ledger.metrics().total_tokens == 55


def test_prices_are_upserted_and_validated(session):
    usage_crud.set_price(session=session, model="gpt-x", prompt_per_million=1.5, completion_per_million=6)
    usage_crud.set_price(session=session, model="gpt-x", prompt_per_million=2, completion_per_million=8)
    (price,) = usage_crud.list_prices(session=session)
    assert (price.prompt_per_million, price.completion_per_million) == (2, 8)
    with pytest.raises(ValueError):
        usage_crud.set_price(session=session, model="y", prompt_per_million=-1, completion_per_million=0)
    assert usage_crud.delete_price(session=session, model="gpt-x") and not usage_crud.list_prices(session=session)


def test_token_counter_for_finds_a_nested_tokenizer():
    class Loaded:
        tokenizer = CharTokenizer()

    class Local:
        loaded = Loaded()

    assert token_counter_for(Local()).exact
    assert not token_counter_for(object()).exact
    assert TokenCounter(None).count_text("abcdefgh") == 2


def test_a_stream_stopped_by_the_callers_guard_is_a_success_and_a_cancel_is_not(engine):
    import threading

    from editorial.chain.calls import CallSite, Cancelled, ChatTarget, stream_text

    ledger = handler(engine, TokenCounter(CharTokenizer()))
    target = ChatTarget(RecordingChatModel(responder=lambda m: "one two two two two two", report_usage=False))
    site = CallSite(ledger)
    seen: list[str] = []

    def looping(text: str) -> bool:
        seen.append(text)
        return len(seen) >= 3  # a loop guard firing on the third piece

    text = stream_text(
        target, [HumanMessage("go")], stage="section 1", site=site, max_tokens=20, on_token=print, should_stop=looping
    )
    assert text.split() == ["one", "two", "two"]
    cancel = threading.Event()
    site = CallSite(ledger, cancel)
    with pytest.raises(Cancelled):
        stream_text(
            target,
            [HumanMessage("go")],
            stage="section 2",
            site=site,
            max_tokens=20,
            on_token=lambda piece: cancel.set(),
        )
    with session_scope(engine) as session:
        stopped, cancelled = usage_crud.list_calls(session=session)
    assert (stopped.stage, stopped.status, stopped.error) == ("section 1", CallStatus.OK, None)
    assert stopped.completion_tokens == len("".join(seen))  # what it streamed before the stop, counted
    assert cancelled.status == CallStatus.ERROR and cancelled.error.startswith("cancelled")
