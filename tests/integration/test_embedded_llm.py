"""The real embedded SmolLM2 through ``editorial.llm``: invoke, stream, usage, stop, cancel, threads, caching.

``embedded_chat_model`` is the default embedded model (ONNX Runtime GenAI in its own process); the transformers
path (``EDITORIAL_LLM_EMBEDDED_RUNTIME=transformers``) is checked at the end of this file and in
test_embedded_runtime.py.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from editorial.llm import build_chat_model, check_model, describe_model_source
from editorial.llm import embedded as embedded_module
from editorial.llm.local import LocalChatModel
from editorial.llm.ort_convert import ort_model_path, read_ort_marker
from editorial.llm.worker import get_worker
from tests.timing import scaled

pytestmark = pytest.mark.integration

QUESTION = "What is a unit test? Answer in two sentences."
LONG = {"max_new_tokens": 400, "min_new_tokens": 400}


def test_invoke_returns_text_and_metadata(embedded_chat_model: LocalChatModel):
    reply = embedded_chat_model.invoke(QUESTION)
    assert isinstance(reply.content, str) and len(reply.content.split()) >= 3
    assert reply.response_metadata["model_name"] == "SmolLM2-135M-Instruct (embedded)"
    assert reply.response_metadata["backend"] == "embedded"
    assert reply.response_metadata["finish_reason"] in {"stop", "length"}


def test_stream_yields_several_chunks_with_usage_on_the_last(embedded_chat_model: LocalChatModel):
    chunks = list(embedded_chat_model.stream(QUESTION))
    texts = [chunk.content for chunk in chunks if chunk.content]
    assert len(texts) >= 5
    last = chunks[-1]
    assert last.chunk_position == "last" and last.content == ""
    assert last.response_metadata["backend"] == "embedded"
    reply = embedded_chat_model.invoke(QUESTION)
    assert "".join(texts) == reply.content  # greedy: streaming and invoke agree
    counts = ("input_tokens", "output_tokens", "total_tokens")  # cached prompt tokens differ: the invoke reuses
    assert [last.usage_metadata[k] for k in counts] == [reply.usage_metadata[k] for k in counts]
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert merged.usage_metadata == last.usage_metadata  # only the last chunk carries usage


def test_usage_is_counted_with_the_model_tokenizer(embedded_chat_model: LocalChatModel):
    tokenizer = embedded_chat_model.loaded.tokenizer
    messages = [SystemMessage("You are terse."), HumanMessage(QUESTION)]
    reply = embedded_chat_model.invoke(messages, max_new_tokens=24, min_new_tokens=24)
    usage = reply.usage_metadata
    prompt = tokenizer.apply_chat_template(
        [{"role": "system", "content": "You are terse."}, {"role": "user", "content": QUESTION}],
        add_generation_prompt=True,
        tokenize=True,
        return_dict=True,
    )["input_ids"]
    assert usage["input_tokens"] == len(prompt) == embedded_chat_model.get_num_tokens_from_messages(messages)
    assert reply.response_metadata["finish_reason"] == "length"
    assert usage["output_tokens"] == 24
    assert abs(embedded_chat_model.get_num_tokens(reply.content) - 24) <= 1  # re-encoding the text
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_stop_sequences_cut_invoke_and_stream_at_the_same_place(embedded_chat_model: LocalChatModel):
    full = embedded_chat_model.invoke(QUESTION)
    middle = len(full.content) // 2
    stop = full.content[middle : middle + 5]  # several tokens long, somewhere mid-answer
    expected = full.content[: full.content.find(stop)]
    cut = embedded_chat_model.invoke(QUESTION, stop=[stop])
    assert cut.content == expected
    assert cut.response_metadata["finish_reason"] == "stop"
    assert cut.usage_metadata["output_tokens"] < full.usage_metadata["output_tokens"]
    streamed = "".join(chunk.content for chunk in embedded_chat_model.stream(QUESTION, stop=[stop]))
    assert streamed == expected


def test_an_event_cancels_a_run_within_moments(embedded_chat_model: LocalChatModel):
    cancel = threading.Event()
    timer = threading.Timer(0.5, cancel.set)
    timer.start()
    started = time.perf_counter()
    reply = embedded_chat_model.invoke(QUESTION, cancel=cancel, **LONG)
    elapsed = time.perf_counter() - started
    timer.cancel()
    assert reply.response_metadata["finish_reason"] == "cancelled"
    assert reply.usage_metadata["output_tokens"] < 400
    assert elapsed < scaled(15), f"cancellation took {elapsed:.1f} s"


def test_a_callback_or_preset_event_cancels_too(embedded_chat_model: LocalChatModel):
    already = threading.Event()
    already.set()
    reply = embedded_chat_model.invoke(QUESTION, cancel=already)
    assert (reply.content, reply.usage_metadata["output_tokens"]) == ("", 0)
    chunks = []
    for chunk in embedded_chat_model.stream(QUESTION, cancel=lambda: len(chunks) >= 3, **LONG):
        chunks.append(chunk)
    assert chunks[-1].response_metadata["finish_reason"] == "cancelled"
    assert chunks[-1].usage_metadata["output_tokens"] < 20


def test_closing_a_stream_stops_its_generation(embedded_chat_model: LocalChatModel):
    stream = embedded_chat_model.stream(QUESTION, **LONG)
    next(stream)
    next(stream)
    stream.close()  # what a Streamlit rerun or a `break` does
    started = time.perf_counter()
    embedded_chat_model.invoke(QUESTION, max_new_tokens=3)  # queued behind the abandoned run, if it still ran
    assert time.perf_counter() - started < scaled(15)  # the abandoned 400-token run would take over a minute


def test_works_from_non_main_threads(embedded_chat_model: LocalChatModel):
    results: dict[str, object] = {}

    def script_run(name: str) -> None:  # like a Streamlit ScriptRunner thread, a new one per rerun
        try:
            results[name] = "".join(chunk.content for chunk in embedded_chat_model.stream(QUESTION, max_new_tokens=16))
        except BaseException as exc:
            results[name] = exc

    threads = [threading.Thread(target=script_run, args=(f"run{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=scaled(120))
    assert results["run0"] == results["run1"] and isinstance(results["run0"], str) and results["run0"]
    assert embedded_chat_model.loaded.engine.pid not in (None, os.getpid())  # generated in the runtime's process


def test_the_transformers_runtime_streams_from_the_torch_worker_thread(embedded_llm_settings):
    settings = embedded_llm_settings.model_copy(update={"llm_embedded_runtime": "transformers"})
    chat = build_chat_model(settings)
    assert chat.loaded.engine is None and chat.dtype == "bfloat16"
    chunks = [chunk.content for chunk in chat.stream(QUESTION, max_new_tokens=12)]
    assert len([c for c in chunks if c]) >= 3 and "".join(chunks) == chat.invoke(QUESTION, max_new_tokens=12).content
    assert get_worker().thread.name == "editorial-torch-worker"


def test_the_saved_checkpoint_and_loaded_model_are_reused(
    embedded_llm_settings, embedded_chat_model: LocalChatModel, monkeypatch: pytest.MonkeyPatch
):
    folder = embedded_module.embedded_checkpoint_path(embedded_llm_settings)
    weights = folder / "model.safetensors"
    before = weights.stat().st_mtime_ns

    def must_not_convert(*args, **kwargs):
        raise AssertionError("the GGUF was converted again")

    monkeypatch.setattr(embedded_module, "_convert", must_not_convert)
    started = time.perf_counter()
    assert embedded_module.ensure_embedded_checkpoint(embedded_llm_settings) == folder
    again = build_chat_model(embedded_llm_settings, role="writer")
    assert time.perf_counter() - started < scaled(2)
    assert again.loaded is embedded_chat_model.loaded
    assert weights.stat().st_mtime_ns == before
    assert embedded_module.read_checkpoint_marker(folder)["dtype"] == "bfloat16"
    variant = embedded_llm_settings.llm_onnx_variant
    onnx_folder = ort_model_path(embedded_llm_settings, variant)
    assert read_ort_marker(onnx_folder) and again.loaded.source == str(onnx_folder)
    assert describe_model_source(embedded_llm_settings) == f"ONNX Runtime GenAI model {onnx_folder} ({variant})"
    torch_path = embedded_llm_settings.model_copy(update={"llm_embedded_runtime": "transformers"})
    assert describe_model_source(torch_path) == f"converted checkpoint {folder} (bfloat16)"


def test_the_checkpoint_folder_loads_through_the_transformers_backend(
    embedded_llm_settings, embedded_chat_model: LocalChatModel
):
    folder = embedded_module.embedded_checkpoint_path(embedded_llm_settings)
    settings = embedded_llm_settings.model_copy(update={"llm_backend": "transformers", "llm_model": str(folder)})
    chat = build_chat_model(settings)
    assert chat.backend == "transformers" and chat.loaded.source == str(folder) and chat.loaded.engine is None
    assert chat.invoke(QUESTION, max_new_tokens=8).content
    assert describe_model_source(settings) == f"local folder {folder}"


def test_check_model_loads_and_generates(embedded_llm_settings, embedded_chat_model: LocalChatModel):
    ok, message = check_model(embedded_llm_settings)
    assert ok, message
    assert "SmolLM2-135M-Instruct (embedded)" in message and "\n" not in message
