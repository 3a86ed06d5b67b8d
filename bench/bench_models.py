"""Benchmark the embedded generator: cold GGUF conversion vs saved-checkpoint load, and generation speed.

Generation is compared side by side, repetitions interleaved (the machine is shared, timings are noisy):

* ``raw main``        - ``model.generate`` on the main thread (the reference);
* ``app stream``      - ``editorial.llm`` chat model, ``.stream()`` called from a fresh non-main thread, exactly as a
                        Streamlit script rerun calls it (generation itself runs on the torch worker thread);
* ``app stream 1thr`` - the same with ``EDITORIAL_TORCH_THREADS=1`` (shown when more than one core is used);
* ``langchain stream`` - ``ChatHuggingFace(HuggingFacePipeline)`` ``.stream()`` from a fresh non-main thread (it
                        starts yet another thread per call): the path the app avoids.

Usage: ``python bench/bench_models.py [--reps 3] [--tokens 200] [--skip-cold] [--skip-langchain]``.
Goals: saved checkpoint loads in <= 5 s; app/raw tokens-per-second ratio >= 0.9.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PROMPT = "Write a detailed blog post about testing Python code with pytest: fixtures, parametrize and mocking."

_LOAD_SNIPPET = """
import json, sys, time
started = time.perf_counter()
from editorial.settings import Settings, apply_process_environment
settings = Settings(model_cache_dir=sys.argv[1]); apply_process_environment(settings)
import torch, transformers
import transformers.models.llama.modeling_llama  # SmolLM2's modeling code: a library import, paid by every path
import editorial.llm.local
from editorial.llm.embedded import ensure_embedded_checkpoint
from editorial.llm.local import load_local_model
imported = time.perf_counter()
folder = ensure_embedded_checkpoint(settings)
converted = time.perf_counter()
load_local_model(str(folder), settings.torch_dtype)
loaded = time.perf_counter()
print(json.dumps({"import": imported - started, "convert": converted - imported, "load": loaded - converted}))
"""


def timed_load(models_dir: Path) -> dict[str, float]:
    """Run a fresh process that ensures the checkpoint in ``models_dir`` and loads it; return its phase times."""
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_SNIPPET, str(models_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_load(models_dir: Path) -> None:
    """Cold start (GGUF -> conversion -> load) vs warm start (saved checkpoint -> load, best of 2), new processes."""
    cold = timed_load(models_dir)
    warm = min((timed_load(models_dir) for _ in range(2)), key=lambda row: row["convert"] + row["load"])
    print(f"\n(a) model load, fresh process each (seconds), load average {os.getloadavg()[0]:.1f}")
    print("    imports = torch, transformers and the Llama modeling code (paid by every path, before any model)")
    print(f"{'start':<28}{'imports':>9}{'ensure ckpt':>13}{'load':>8}{'total':>8}")
    for name, row in (("cold: GGUF + conversion", cold), ("warm: saved checkpoint", warm)):
        print(f"{name:<28}{row['import']:>9.1f}{row['convert']:>13.1f}{row['load']:>8.1f}{sum(row.values()):>8.1f}")
    warm_total = warm["convert"] + warm["load"]
    verdict = "ok" if warm_total <= 5 else "MISSED"
    print(
        f"saved checkpoint ready in {warm_total:.1f} s (goal <= 5 s: {verdict}); "
        f"cold conversion + load {cold['convert'] + cold['load']:.1f} s"
    )


def in_fresh_thread(fn):
    """Run ``fn`` in a new thread (like a Streamlit script rerun) and return its result."""
    box: dict = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="ScriptRunner.scriptThread")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def bench_generation(models_dir: Path, reps: int, tokens: int, langchain: bool) -> None:
    """Tokens per second of the app's streaming path vs raw generate on the main thread."""
    from langchain_core.messages import HumanMessage

    from editorial.llm import build_chat_model
    from editorial.llm.local import LocalChatModel
    from editorial.llm.worker import default_thread_count
    from editorial.settings import get_settings

    settings = get_settings().model_copy(update={"model_cache_dir": models_dir, "temperature": 0.0})
    chat = build_chat_model(settings)
    model, tokenizer = chat.loaded.model, chat.loaded.tokenizer
    threads = default_thread_count(settings.torch_threads)

    input_ids, attention_mask = chat.encode_messages([HumanMessage(PROMPT)])
    gen_kwargs = {
        "max_new_tokens": tokens,
        "min_new_tokens": tokens,
        "do_sample": False,
        "repetition_penalty": settings.repetition_penalty,
    }

    def raw_main() -> float:
        started = time.perf_counter()
        out = model.generate(input_ids=input_ids, attention_mask=attention_mask, **gen_kwargs)
        return (out.shape[-1] - input_ids.shape[-1]) / (time.perf_counter() - started)

    def app_stream(chat_model) -> float:
        def script() -> float:
            started = time.perf_counter()
            last = None
            for chunk in chat_model.stream(PROMPT, max_new_tokens=tokens, min_new_tokens=tokens):
                last = chunk
            return last.usage_metadata["output_tokens"] / (time.perf_counter() - started)

        return in_fresh_thread(script)

    variants = {"raw main": raw_main, "app stream": lambda: app_stream(chat)}
    if threads > 1:  # the worker with one torch thread: no OpenMP barriers, robust when cores are contended
        single = LocalChatModel.from_loaded(
            chat.loaded, model_name=chat.model_name, repetition_penalty=chat.repetition_penalty, torch_threads=1
        )
        variants["app stream 1thr"] = lambda: app_stream(single)
    if langchain:
        variants["langchain stream"] = langchain_variant(model, tokenizer, gen_kwargs, tokens)

    print(f"\n(b) generation: torch threads {threads}, load average {os.getloadavg()[0]:.1f} at start", flush=True)
    raw_main()  # warm-up on the main thread: the trap appears after the main thread has used torch
    app_stream(chat)
    results: dict[str, list[float]] = {name: [] for name in variants}
    for rep in range(reps):
        for name, fn in variants.items():
            results[name].append(fn())
            print(f"  rep {rep + 1} {name:<17} {results[name][-1]:6.1f} tokens/s", flush=True)

    base = statistics.median(results["raw main"])
    print(
        f"\n(b) greedy generation, {tokens} new tokens, {settings.torch_dtype}, {reps} interleaved reps (tokens/s), "
        f"load average {os.getloadavg()[0]:.1f} at end"
    )
    print(f"{'path':<18}{'median':>8}{'best':>8}{'ratio':>8}")
    for name, values in results.items():
        print(f"{name:<18}{statistics.median(values):>8.1f}{max(values):>8.1f}{statistics.median(values) / base:>8.2f}")
    ratio = statistics.median(results["app stream"]) / base
    print(f"app/raw ratio {ratio:.2f} (goal >= 0.9: {'ok' if ratio >= 0.9 else 'MISSED'})")


def langchain_variant(model, tokenizer, gen_kwargs: dict, tokens: int):
    """LangChain's own HF path: ``ChatHuggingFace.stream`` from a fresh thread (it adds a thread per call)."""
    from langchain_huggingface import ChatHuggingFace, HuggingFacePipeline
    from transformers import pipeline

    pipe = pipeline("text-generation", model=model, tokenizer=tokenizer, return_full_text=False, **gen_kwargs)
    chat = ChatHuggingFace(llm=HuggingFacePipeline(pipeline=pipe), tokenizer=tokenizer)

    def run() -> float:
        def script() -> float:
            started = time.perf_counter()
            for _ in chat.stream(PROMPT):
                pass
            return tokens / (time.perf_counter() - started)  # min_new_tokens forces exactly ``tokens``

        return in_fresh_thread(script)

    return run


def main() -> None:
    """Parse arguments, run both benchmarks and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--skip-cold", action="store_true", help="reuse the data folder's checkpoint, skip (a)")
    parser.add_argument("--skip-langchain", action="store_true", help="leave out the ChatHuggingFace column")
    args = parser.parse_args()

    from editorial.settings import apply_process_environment, get_settings

    settings = get_settings()
    apply_process_environment(settings)
    with tempfile.TemporaryDirectory(prefix="bench-models-") as temp:
        models_dir = settings.models_dir if args.skip_cold else Path(temp)
        if not args.skip_cold:
            bench_load(models_dir)
        bench_generation(models_dir, args.reps, args.tokens, langchain=not args.skip_langchain)


if __name__ == "__main__":
    main()
