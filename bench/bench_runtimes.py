"""CPU inference runtimes for the embedded SmolLM2-135M, side by side in one run (rounds interleaved).

Runtimes (each skipped with a note when its package is missing):

* ``transformers bf16`` / ``fp32``  - today's fallback path (``model.generate``) on the converted checkpoint;
* ``ort int4`` / ``int8`` / ``q4_1`` - ONNX Runtime GenAI, bare generator loop in this process (builder output of
                                      :mod:`editorial.llm.ort_convert`; int4 is asymmetric, blocks of 32 like Q4_1;
                                      q4_1 holds the GGUF's own blocks, :mod:`editorial.llm.ort_q41`);
* ``app ort int4 Nt``               - the app's own path: ``LocalChatModel.stream()`` through the ONNX worker
                                      process (what ``EDITORIAL_LLM_BACKEND=embedded`` runs), N threads;
* ``openvino gguf``                 - OpenVINO GenAI reading the bundled Q4_1 GGUF directly;
* ``ct2 int8``                      - CTranslate2, converted from the checkpoint (cached in the models folder);
* ``llama.cpp Nt``                  - ``llama-cpp-python`` on the bundled GGUF (the reference; it builds from source,
                                      so it is only installed for benchmarks).

Per runtime: load time and peak memory (each in a fresh child process), decode tokens/s (greedy, 256 new tokens,
end-of-text banned, median of the rounds), time to first token for a ~1,000-token prompt (varied per round, so no
prefix cache helps), install size, and how many of the first 30 greedy tokens equal ``transformers fp32``'s.

Usage: ``python bench/bench_runtimes.py [--rounds 3] [--tokens 256] [--threads 2] [--only NAME,...] [--burn N]
[--json out.json] [--skip-probe | --probe-only]``. ``--burn N`` keeps N busy-looping processes running during the
rounds (a busy machine, for the thread comparison); the table is printed after every round, so a cut-short run
still leaves figures; ``--probe-only`` measures only load time and peak memory.
Goals (printed as ratios): app path >= 1.5x llama.cpp and >= 5x transformers bf16 decode tokens/s.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from runtimes import RUNNERS, make_runner  # noqa: E402

from editorial.llm.embedded import ensure_embedded_checkpoint  # noqa: E402
from editorial.llm.ort_convert import ensure_ort_model  # noqa: E402
from editorial.settings import Settings  # noqa: E402

QUESTION = "Explain what a unit test is and why fixtures help. Answer in a short paragraph."
FILLER = (
    "Fixtures in pytest provide a fixed baseline so that tests execute reliably and produce consistent results. "
    "They can set up databases, temporary folders, configuration files or network stubs, and tear them down after. "
)
MATCH_TOKENS = 30
PACKAGES = {
    "transformers": ["torch", "transformers", "tokenizers", "safetensors"],
    "ort": ["onnxruntime-genai", "onnxruntime"],
    "openvino": ["openvino", "openvino-genai", "openvino-tokenizers"],
    "ct2": ["ctranslate2"],
    "llama.cpp": ["llama_cpp_python"],
}


def load_average() -> str:
    """The 1/5/15-minute load averages as one string."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def install_mb(family: str) -> float:
    """Disk size of the runtime's packages (from their installed file lists), in MB."""
    total = 0
    for name in PACKAGES.get(family, []):
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        for file in dist.files or []:
            with contextlib.suppress(OSError):
                total += file.locate().stat().st_size
    return total / 1e6


def folder_mb(path: Path | None) -> float:
    """Disk size of a model file or folder, in MB."""
    if path is None or not path.exists():
        return 0.0
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def prompts(tokenizer, round_no: int) -> tuple[list[int], list[int], list[dict], list[dict]]:
    """The short prompt and a ~1,000-token prompt (varied by round) as token ids and as chat messages."""
    short = [{"role": "user", "content": QUESTION}]
    long_text = f"Note {round_no}: " + FILLER * 200
    ids = tokenizer(long_text, add_special_tokens=False)["input_ids"][:950]
    long = [{"role": "user", "content": tokenizer.decode(ids) + "\n\n" + QUESTION}]

    def encode(messages):
        return list(
            tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)[
                "input_ids"
            ]
        )

    return encode(short), encode(long), short, long


def probe(name: str, settings: Settings, threads: int) -> dict:
    """Load one runtime in this (fresh) process, run a long prompt, report load seconds and peak memory."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(ensure_embedded_checkpoint(settings)), local_files_only=True)
    _, long_ids, _, long_messages = prompts(tokenizer, 99)
    started = time.perf_counter()
    runner = make_runner(name, settings, threads, tokenizer)
    load_s = time.perf_counter() - started
    for _ in runner.stream(long_ids, 32, long_messages):
        pass
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + runner.child_peak_kb()
    return {"load_s": load_s, "peak_mb": peak_kb / 1024}


def timed(runner, ids: list[int], tokens: int, messages: list[dict]) -> tuple[list[int], float, float]:
    """Run one generation: (token ids or texts, seconds to first token, decode tokens/s after the first)."""
    started = time.perf_counter()
    first = last = None
    out = []
    for piece in runner.stream(ids, tokens, messages):
        now = time.perf_counter()
        if first is None:
            first = now
        last = now
        out.append(piece)
    count = runner.last_count or len(out)
    decode = (count - 1) / (last - first) if first is not None and last > first and count > 1 else 0.0
    return out, (first or started) - started, decode


def main() -> None:
    """Prepare models, probe each runtime, run interleaved rounds, print the table and the goal ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2, help="threads for every runtime")
    parser.add_argument("--extra-threads", default="1", help="also run the app path and llama.cpp with these")
    parser.add_argument("--only", default="", help="comma-separated runtime names")
    parser.add_argument("--skip-probe", action="store_true")
    parser.add_argument("--probe-only", action="store_true", help="only load time and peak memory, per runtime")
    parser.add_argument("--burn", type=int, default=0, help="busy-looping processes during the rounds")
    parser.add_argument("--json", type=Path, default=None, help="write the rows here after every round")
    parser.add_argument("--probe", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    settings = Settings()
    if args.probe:
        print(json.dumps(probe(args.probe, settings, args.threads)))
        return

    from transformers import AutoTokenizer

    checkpoint = ensure_embedded_checkpoint(settings, print)
    for variant in ("int4", "int8", "q4_1"):
        ensure_ort_model(settings, variant, print)
    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint), local_files_only=True)
    names = [n for n in RUNNERS if not args.only or n in args.only.split(",")]
    jobs = [(name, args.threads) for name in names]
    extra = [int(t) for t in args.extra_threads.split(",") if t.strip()]
    jobs += [(name, t) for name in names if RUNNERS[name].thread_variants for t in extra if t != args.threads]
    print(f"load average at start: {load_average()} ({os.cpu_count()} cores)")

    runners, rows = {}, {}
    for name, threads in jobs:
        label = RUNNERS[name].label(threads)
        row = rows[label] = {"name": label, "family": RUNNERS[name].family, "decode": [], "ttft": []}
        if not args.skip_probe:
            command = [sys.executable, __file__, "--probe", name, "--threads", str(threads)]
            result = subprocess.run(command, capture_output=True, text=True)
            try:
                row.update(json.loads(result.stdout.strip().splitlines()[-1]))
            except (ValueError, IndexError):
                row["note"] = (result.stderr.strip().splitlines() or ["probe failed"])[-1][:120]
        if args.probe_only:
            load_s, peak = row.get("load_s", float("nan")), row.get("peak_mb", float("nan"))
            print(f"| {label} | {load_s:.1f} s load | {peak:.0f} MB peak | {row.get('note', '')} |", flush=True)
            continue
        try:
            runners[label] = make_runner(name, settings, threads, tokenizer)
            row["size_mb"] = install_mb(RUNNERS[name].family) + folder_mb(runners[label].model_path)
        except Exception as exc:  # a missing package or model: reported in the table, never a crash
            row["note"] = f"{type(exc).__name__}: {str(exc)[:100]}"
        print(f"prepared {label}: {row.get('note', 'ok')}", flush=True)

    if args.probe_only:
        print(f"load average at end: {load_average()}")
        return
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.burn)]
    try:
        reference = rounds(args, tokenizer, runners, rows)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    print(f"load average at end: {load_average()}")
    report(rows, reference, tokenizer, runners)


def rounds(args, tokenizer, runners: dict, rows: dict) -> list[int] | None:
    """Interleaved rounds (the order rotates each round); the table after each; the fp32 reference output."""
    reference: list[int] | None = None
    for round_no in range(args.rounds):
        short_ids, long_ids, short_messages, long_messages = prompts(tokenizer, round_no)
        order = list(runners)
        order = order[round_no % len(order) :] + order[: round_no % len(order)]
        for label in order:
            runner, row = runners[label], rows[label]
            out, _, decode = timed(runner, short_ids, args.tokens, short_messages)
            if label == "transformers fp32" and reference is None:
                reference = out[:MATCH_TOKENS]
            row.setdefault("output", out[:MATCH_TOKENS])
            row["decode"].append(decode)
            _, ttft, _ = timed(runner, long_ids, 1, long_messages)
            row["ttft"].append(ttft)
            print(f"round {round_no + 1} {label}: {decode:.1f} tok/s, ttft {ttft:.2f} s", flush=True)
        print(f"after round {round_no + 1}, load average {load_average()}:")
        report(rows, reference, tokenizer, runners)
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2, default=str), encoding="utf-8")
    return reference


def report(rows: dict, reference: list[int] | None, tokenizer, runners: dict) -> None:
    """Print the markdown table and the goal ratios."""
    ref_text = tokenizer.decode(reference) if reference else None
    print(
        "\n| runtime | load s | decode tok/s (median) | TTFT 1k-token prompt s | peak MB | install+model MB |"
        " greedy match /30 vs transformers fp32 |"
    )
    print("|---|---|---|---|---|---|---|")
    medians = {}
    for label, row in rows.items():
        if not row["decode"]:
            print(f"| {label} | - | - | - | - | - | {row.get('note', 'not run')} |")
            continue
        medians[label] = statistics.median(row["decode"])
        runner = runners[label]
        match = runner.match(row["output"], reference, ref_text) if reference else "?"
        print(
            f"| {label} | {row.get('load_s', float('nan')):.1f} | {medians[label]:.1f} "
            f"({min(row['decode']):.0f}-{max(row['decode']):.0f}) | {statistics.median(row['ttft']):.2f} | "
            f"{row.get('peak_mb', float('nan')):.0f} | {row.get('size_mb', 0):.0f} | {match} |"
        )
    app = (
        max((v, k) for k, v in medians.items() if k.startswith("app "))
        if any(k.startswith("app ") for k in medians)
        else None
    )
    llama = (
        max((v, k) for k, v in medians.items() if k.startswith("llama.cpp"))
        if any(k.startswith("llama.cpp") for k in medians)
        else None
    )
    variants = sorted({k.rsplit(" ", 1)[0] for k in medians if k.startswith("app ")})
    for variant in variants:  # each app variant at its best thread count
        best = max((v, k) for k, v in medians.items() if k.rsplit(" ", 1)[0] == variant)
        ratios = [f"/{llama[1]} {best[0] / llama[0]:.2f}"] if llama else []
        if medians.get("transformers bf16"):
            ratios.append(f"/transformers bf16 {best[0] / medians['transformers bf16']:.2f}")
        print(f"{best[1]}: {best[0]:.1f} tok/s; ratios {', '.join(ratios) or '-'}")
    if app:
        print(f"\napp path best: {app[1]} {app[0]:.1f} tok/s")
        if llama:
            print(f"goal app/llama.cpp >= 1.5: {app[0] / llama[0]:.2f} (vs {llama[1]} {llama[0]:.1f} tok/s)")
        if medians.get("transformers bf16"):
            print(f"goal app/transformers bf16 >= 5: {app[0] / medians['transformers bf16']:.2f}")


if __name__ == "__main__":
    main()
