"""The embedded SmolLM2 on ONNX Runtime GenAI through the app's own code path (chat model, chain calls, ledger).

Generation runs in a child process (:mod:`editorial.llm.ort_engine`): these tests check that it streams, stops,
cancels within a second, counts tokens exactly (cached prompt tokens too), survives a killed process and leaves
the calling interpreter free while it computes.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from editorial.chain.calls import CallSite, ChatTarget, stream_text
from editorial.errors import ModelUnavailable
from editorial.llm.local import LocalChatModel
from editorial.llm.local_backends import build_transformers
from editorial.llm.ort_convert import read_ort_marker
from editorial.llm.ort_worker import BLOCK
from editorial.llm.spec import spec_for
from editorial.usage import CallContext, LedgerHandler

pytestmark = pytest.mark.integration

SCALE = float(os.environ.get("EDITORIAL_TEST_TIME_SCALE", "1"))
QUESTION = "What is a unit test? Answer in two sentences."
SYSTEM = (
    "You are a technical writer. Sources: pytest collects files named test_*.py; fixtures are functions decorated "
    "with @pytest.fixture; parametrize runs one test over many inputs; monkeypatch replaces attributes for a test. "
    "Write plainly and only from these sources. More sources: conftest.py files share fixtures with every test in "
    "their folder; fixture scopes are function, class, module, package and session; yield fixtures run their "
    "teardown after the test; tmp_path gives each test a fresh temporary folder; capsys captures what a test "
    "prints; markers such as skip and xfail change how a test is run and reported; pytest -k selects tests by name."
)
LONG = {"max_new_tokens": 400, "min_new_tokens": 400}


@pytest.fixture(scope="module")
def onnx_settings(embedded_llm_settings):
    """The session's embedded settings on the ONNX runtime (the default; explicit here)."""
    return embedded_llm_settings.model_copy(update={"llm_embedded_runtime": "onnx"})


@pytest.fixture(scope="module")
def embedded_chat_model(onnx_settings):
    """The embedded chat model on ONNX Runtime GenAI (overrides the session's transformers model here)."""
    from editorial.llm import build_chat_model

    return build_chat_model(onnx_settings)


def test_the_default_embedded_model_runs_on_onnx_in_its_own_process(embedded_chat_model: LocalChatModel):
    loaded = embedded_chat_model.loaded
    assert loaded.engine is not None and loaded.model is None
    assert read_ort_marker(__import__("pathlib").Path(loaded.source))["variant"] == loaded.dtype
    assert loaded.engine.pid not in (None, os.getpid())
    assert embedded_chat_model.invoke(QUESTION, max_new_tokens=8).content


def test_greedy_output_follows_the_transformers_path(embedded_llm_settings, embedded_chat_model: LocalChatModel):
    settings = embedded_llm_settings.model_copy(update={"llm_backend": "transformers"})  # the bfloat16 path
    reference = build_transformers(settings, spec_for(settings))
    assert reference.loaded.engine is None
    fast = embedded_chat_model.invoke(QUESTION, max_new_tokens=24).content
    slow = reference.invoke(QUESTION, max_new_tokens=24).content
    assert fast[:20] == slow[:20], f"the quantised model left the reference at once:\n{fast!r}\n{slow!r}"
    words = fast.split()
    assert len(set(words)) >= len(words) // 2, f"the quantised model loops: {fast!r}"


def test_a_shared_prefix_is_served_from_the_cache_with_the_same_answer(embedded_chat_model: LocalChatModel):
    chat = embedded_chat_model
    first = [SystemMessage(SYSTEM), HumanMessage("What does parametrize do?")]
    second = [SystemMessage(SYSTEM), HumanMessage("What is a fixture?")]
    unrelated = [HumanMessage("Name a colour.")]
    chat.invoke(first, max_new_tokens=8)
    warm = chat.invoke(second, max_new_tokens=96, min_new_tokens=96)
    cached = warm.usage_metadata.get("input_token_details", {}).get("cache_read", 0)
    system_tokens = chat.get_num_tokens(SYSTEM)
    assert system_tokens - BLOCK < cached < warm.usage_metadata["input_tokens"]  # whole blocks of the shared prefix
    assert cached % BLOCK == 0
    chat.invoke(unrelated, max_new_tokens=4)
    cold = chat.invoke(second, max_new_tokens=96, min_new_tokens=96)
    assert cold.usage_metadata.get("input_token_details", {}).get("cache_read", 0) == 0
    assert warm.content == cold.content  # reusing the cache changes nothing but the time, over a long answer too
    assert warm.usage_metadata["input_tokens"] == cold.usage_metadata["input_tokens"]


def test_chain_calls_record_exact_and_cached_tokens_in_the_ledger(embedded_chat_model: LocalChatModel):
    ledger = LedgerHandler(None, CallContext(run_id=None), None)
    site = CallSite(ledger=ledger)
    target = ChatTarget(embedded_chat_model, backend="embedded", name="SmolLM2-135M-Instruct (embedded)")
    streamed: list[str] = []
    for question in ("What does parametrize do?", "What is monkeypatch for?"):
        messages = [SystemMessage(SYSTEM), HumanMessage(question)]
        text = stream_text(target, messages, stage="section 1", site=site, max_tokens=20, on_token=streamed.append)
        assert text
    rows = ledger.recorded
    assert [row["status"] for row in rows] == ["ok", "ok"]
    prompt = embedded_chat_model.get_num_tokens_from_messages(
        [SystemMessage(SYSTEM), HumanMessage("What is monkeypatch for?")]
    )
    assert rows[1]["prompt_tokens"] == prompt
    cached = rows[1]["cached_prompt_tokens"]  # the shared system prompt, in whole blocks
    assert embedded_chat_model.get_num_tokens(SYSTEM) - BLOCK < cached < prompt and cached % BLOCK == 0
    assert 0 < rows[1]["completion_tokens"] <= 20
    assert ledger.metrics().cached_prompt_tokens == sum(row["cached_prompt_tokens"] for row in rows)


def test_cancel_stops_the_child_within_a_second(embedded_chat_model: LocalChatModel):
    cancel = threading.Event()
    first_chunk = threading.Event()
    box: dict[str, object] = {}

    def run() -> None:
        chunks = []
        for chunk in embedded_chat_model.stream(QUESTION, cancel=cancel, **LONG):
            chunks.append(chunk)
            first_chunk.set()
        box["last"] = chunks[-1]
        box["done"] = time.perf_counter()

    thread = threading.Thread(target=run)
    thread.start()
    assert first_chunk.wait(60 * SCALE)
    cancel.set()
    asked = time.perf_counter()
    thread.join(30 * SCALE)
    assert box["last"].response_metadata["finish_reason"] == "cancelled"
    assert box["last"].usage_metadata["output_tokens"] < 400
    assert box["done"] - asked < 1.0 * SCALE, f"cancel took {box['done'] - asked:.2f} s"
    assert embedded_chat_model.invoke(QUESTION, max_new_tokens=4).content  # the process is free again


def test_the_calling_interpreter_stays_responsive_while_it_generates(embedded_chat_model: LocalChatModel):
    stream = embedded_chat_model.stream(QUESTION, **LONG)
    next(stream)
    gaps, last = [], time.perf_counter()
    for _ in range(40):  # what Streamlit's event loop needs: short slices of the GIL, often
        time.sleep(0.005)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    stream.close()
    assert max(gaps) < 0.25 * SCALE, f"the interpreter was blocked for {max(gaps) * 1000:.0f} ms"


def test_a_killed_runtime_process_fails_one_call_clearly_and_the_next_call_restarts_it(
    embedded_chat_model: LocalChatModel,
):
    engine = embedded_chat_model.loaded.engine
    before = engine.pid
    stream = embedded_chat_model.stream(QUESTION, **LONG)
    next(stream)
    os.kill(before, signal.SIGKILL)
    with pytest.raises(ModelUnavailable, match="process stopped"):
        for _ in stream:
            pass
    reply = embedded_chat_model.invoke(QUESTION, max_new_tokens=8)
    assert reply.content and reply.usage_metadata["output_tokens"] > 0
    assert engine.pid not in (None, before)


COPY_SOURCE = "The quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat by the door."
COPY_EXAMPLE = "Docker images are built from a Dockerfile that lists each step of the build, one instruction per line."
COPY_PROMPT = [
    SystemMessage("Copy the text exactly."),
    HumanMessage(f"Copy: {COPY_EXAMPLE}"),
    AIMessage(COPY_EXAMPLE),
    HumanMessage(f"Copy: {COPY_SOURCE}"),
]


@pytest.mark.parametrize("runtime", ["onnx", "transformers"])
def test_copy_blocking_stops_eight_word_runs_of_the_given_text(embedded_llm_settings, embedded_chat_model, runtime):
    from editorial.grounding.copying import SourceShingles

    if runtime == "onnx":
        model = embedded_chat_model
    else:
        settings = embedded_llm_settings.model_copy(update={"llm_backend": "transformers"})
        model = build_transformers(settings, spec_for(settings))
    shingles = SourceShingles([COPY_SOURCE])
    free = model.invoke(COPY_PROMPT, max_new_tokens=48).content
    blocked = model.invoke(COPY_PROMPT, max_new_tokens=48, avoid_copying=[COPY_SOURCE]).content
    assert shingles.longest_run(free) >= 8, f"the model did not copy at all, so this proves nothing: {free!r}"
    assert shingles.longest_run(blocked) == 0, f"an 8-word run got through the copy guard: {blocked!r}"
    assert len(blocked.split()) >= 8  # it still wrote something


@pytest.mark.parametrize("runtime", ["onnx", "transformers"])
def test_an_opened_answer_is_continued_and_copy_blocking_counts_its_words(
    embedded_llm_settings, embedded_chat_model, runtime
):
    from editorial.grounding.copying import SourceShingles

    if runtime == "onnx":
        model = embedded_chat_model
    else:
        settings = embedded_llm_settings.model_copy(update={"llm_backend": "transformers"})
        model = build_transformers(settings, spec_for(settings))
    opening = "The quick brown fox"
    opened = [*COPY_PROMPT, AIMessage(opening)]
    ids = model.encode_messages(opened)[0][0].tolist()
    closed = model.encode_messages(COPY_PROMPT)[0][0].tolist()
    text = model.loaded.tokenizer.decode(ids)
    assert text.rstrip().endswith(opening) and len(ids) > len(closed)  # the answer is open: no end-of-turn after it
    free = opening + model.invoke(opened, max_new_tokens=40).content
    blocked = opening + model.invoke(opened, max_new_tokens=40, avoid_copying=[COPY_SOURCE]).content
    shingles = SourceShingles([COPY_SOURCE])
    assert shingles.longest_run(free) >= 8, f"the model did not continue the copy, so this proves nothing: {free!r}"
    assert shingles.longest_run(blocked) == 0, f"the opening plus the answer copied 8 words: {blocked!r}"


def _burners(count: int) -> list:
    """Busy-looping processes: another tenant of a shared machine."""
    import subprocess
    import sys

    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def test_on_a_busy_machine_the_runtime_stops_spin_waiting_and_answers_the_same(embedded_chat_model: LocalChatModel):
    """Spinning threads fight other processes for the cores (README, "Threads"): auto mode notices and sleeps."""
    import queue

    from editorial.llm.ort_engine import OrtEngine

    loaded = embedded_chat_model.loaded
    ids = list(loaded.tokenizer(QUESTION)["input_ids"])
    options = {"max_new_tokens": 48, "min_new_tokens": 48, "temperature": 0.0, "repetition_penalty": 1.0}
    engine = OrtEngine(loaded.source, 2, "auto")
    burners: list = []
    try:

        def generate() -> tuple[list[int], bool]:
            job = engine.submit(ids, options, queue.SimpleQueue(), lambda: False)
            return job.future.result(timeout=120 * SCALE), job.spin

        quiet_ids, _ = generate()
        burners = _burners(2)
        modes = []
        for _ in range(30):  # each job measures the competition; the average crosses the threshold in a few
            busy_ids, spin = generate()
            modes.append(spin)
            if not spin:
                break
        assert modes[-1] is False, f"two busy-looping processes never made the threads sleep: {modes}"
        assert busy_ids == quiet_ids  # sleeping threads compute the same numbers, only the waiting differs
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
        engine.close()
