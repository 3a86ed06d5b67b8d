"""The ONNX Runtime GenAI generation process: ``python -m editorial.llm.ort_worker FOLDER THREADS [SPIN]``.

ONNX Runtime GenAI holds the Python GIL while it computes (FACTS.md), so inside Streamlit it runs in a process of
its own and the UI keeps its interpreter. The parent (:mod:`editorial.llm.ort_engine`) tokenizes, sends prompt
token ids, and reads back new token ids as they come; decoding, stop strings and usage stay in the parent.

Protocol: one JSON object per line. Parent → worker::

    {"op": "generate", "id": 7, "ids": [...], "max_new_tokens": 256, "min_new_tokens": 0,
     "temperature": 0.0, "top_p": 0.95, "repetition_penalty": 1.1, "avoid_copying": ["text", ...]}
    {"op": "cancel", "id": 7}

Worker → parent: ``{"ready": true, ...}`` once, then per job ``{"id": 7, "tokens": [...]}`` lines and a final
``{"id": 7, "done": true, "cached": N, "cancelled": false, "spin": true}`` (or ``"error": "..."``). The worker
exits when its standard input closes (the parent went away).

Spin-waiting: ``SPIN`` is ``auto`` (default), ``on`` or ``off``. With ``auto`` the worker measures how many cores
other processes used while it generated (:mod:`editorial.llm.cpu_load`) and runs the next job on a session whose
threads sleep instead of spinning while the machine is busy (a second session, loaded the first time it is needed;
switching starts a new KV cache). ``spin`` in the ``done`` line says which one ran the job.

Prefix cache: one generator is kept between jobs; a new prompt rewinds its KV cache to the longest prefix it
shares with the previous prompt and feeds only the rest, so calls that share a system prompt and plan skip most
of their prompt processing. ``cached`` reports how many prompt tokens were reused. Prompts are always fed in
blocks of :data:`BLOCK` tokens from position 0 and the cache is reused only up to a block boundary: with 8-bit
activations a prompt fed in different pieces is quantised differently, so this keeps a prompt's keys, values and
greedy answer identical whether or not a prefix came from the cache.
"""

from __future__ import annotations

import json
import math
import os
import queue
import sys
import threading
import time

import numpy as np

from editorial.llm.cpu_load import CpuMeter, SpinPolicy, usable_cores

DEFAULT_MAX_LENGTH = 4096
"""KV-cache length of the kept generator (a longer request gets a generator of its own)."""
BLOCK = 64
"""Prompt tokens fed per step; cached prefixes are reused in whole blocks (same pieces, same numbers)."""


def session_options(threads: int, spin: bool) -> str:
    """The ``genai_config`` overlay: the session's thread count (0: ONNX Runtime's default) and spin-waiting."""
    session: dict = {"inter_op_num_threads": 1, "session.intra_op.allow_spinning": "1" if spin else "0"}
    if threads > 0:
        session["intra_op_num_threads"] = threads
    return json.dumps({"model": {"decoder": {"session_options": session}}})


class Generation:
    """Runs jobs on one ONNX Runtime GenAI model, reusing the KV cache of the previous job's prompt."""

    def __init__(self, folder: str, threads: int, spin: str = "auto") -> None:
        import onnxruntime_genai as og

        self.og = og
        self.folder, self.threads = folder, threads
        cores = usable_cores()
        self.policy = SpinPolicy(spin, spare_cores=cores - (threads if threads > 0 else cores))
        self.meter = CpuMeter()
        self._models: dict[bool, object] = {}
        self.spinning = self.policy.spin()
        self.model = self._model(self.spinning)
        with open(os.path.join(folder, "genai_config.json"), encoding="utf-8") as handle:
            genai = json.load(handle)
        self.context_length = int(genai["model"].get("context_length") or DEFAULT_MAX_LENGTH)
        self.vocab_size = int(genai["model"].get("vocab_size") or 0)
        eos = genai["model"].get("eos_token_id")
        self.eos = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        self.generator = None
        self.signature: tuple | None = None
        self.cached: list[int] = []  # the token ids whose keys and values the kept generator holds
        self._word_starts = None  # built on the first job that asks for copy blocking

    def _model(self, spin: bool):
        """The session whose threads spin (or sleep), loaded on first use."""
        if spin not in self._models:
            config = self.og.Config(self.folder)
            config.overlay(session_options(self.threads, spin))
            self._models[spin] = self.og.Model(config)
        return self._models[spin]

    def _use(self, spin: bool) -> None:
        """Run the next jobs on the spinning or the sleeping session (a new KV cache: the old one is the other's)."""
        started = time.perf_counter()
        self.model = self._model(spin)
        self.generator, self.signature, self.cached, self.spinning = None, None, [], spin
        print(
            f"spin-waiting {'on' if spin else 'off'}: other processes used {self.policy.load:.2f} cores "
            f"({time.perf_counter() - started:.2f} s to switch)",
            file=sys.stderr,
            flush=True,
        )

    def _new_generator(self, signature: tuple, max_length: int):
        temperature, top_p, repetition_penalty = signature
        params = self.og.GeneratorParams(self.model)
        options = {"max_length": max_length, "repetition_penalty": repetition_penalty, "batch_size": 1}
        if temperature > 0:
            options.update(do_sample=True, temperature=temperature, top_p=top_p, top_k=0)
        else:
            options.update(do_sample=False)
        params.set_search_options(**options)
        return self.og.Generator(self.model, params)

    def run(self, job: dict, send, cancelled) -> None:
        """Generate for one job, sending token ids as they come and a final ``done`` line."""
        ids = [int(i) for i in job["ids"]]
        max_new = max(1, int(job.get("max_new_tokens") or 1))
        min_new = int(job.get("min_new_tokens") or 0)
        signature = (
            float(job.get("temperature") or 0.0),
            float(job.get("top_p") or 1.0),
            float(job.get("repetition_penalty") or 1.0),
        )
        needed = min(self.context_length, len(ids) + max_new + 1)
        if len(ids) >= self.context_length:
            raise ValueError(f"the prompt has {len(ids)} tokens; the model reads at most {self.context_length}")
        if (wanted := self.policy.spin()) != self.spinning:
            self._use(wanted)
        measuring = self.meter.sample() if self.policy.mode == "auto" else None  # only auto reads the machine
        generator, common = self._generator_for(ids, signature, needed)
        for start in range(common, len(ids), BLOCK):  # common is a multiple of BLOCK: the same pieces every time
            generator.append_tokens(ids[start : start + BLOCK])
        produced: list[int] = []
        was_cancelled = False
        guard = self._copy_guard(job.get("avoid_copying") or [])
        opening = str(job.get("opening") or "")  # the answer's beginning, in the prompt: its words count as written
        while len(produced) < max_new and not generator.is_done():
            if cancelled():
                was_cancelled = True
                break
            banned = list(self.eos) if len(produced) < min_new else []
            if guard:
                written = self.tokenizer.decode(np.array(produced, dtype=np.int32)) if produced else ""
                banned += guard.banned(opening + written)
            if banned:
                self._ban(generator, banned)
            generator.generate_next_token()
            token = int(generator.get_next_tokens()[0])
            produced.append(token)
            send({"id": job["id"], "tokens": [token]})
            if token in self.eos and len(produced) >= min_new:
                break
        if generator is self.generator:
            self.cached = ids  # only prompt blocks are reused: generated tokens were fed one at a time
        self.policy.observe(self.meter.others_since(measuring))
        done = {"id": job["id"], "done": True, "cached": common, "cancelled": was_cancelled, "spin": self.spinning}
        send(done)

    def _generator_for(self, ids: list[int], signature: tuple, needed: int):
        """The kept generator rewound to the longest shared prefix, or a new one; and that prefix's length."""
        if needed > DEFAULT_MAX_LENGTH:  # a long request: a one-off generator, the kept cache stays as it was
            return self._new_generator(signature, needed), 0
        if self.generator is None or signature != self.signature:
            self.generator = self._new_generator(signature, DEFAULT_MAX_LENGTH)
            self.signature, self.cached = signature, []
        common = 0
        for left, right in zip(self.cached, ids, strict=False):
            if left != right:
                break
            common += 1
        common = min(common, len(ids) - 1)  # feed at least one token to get the next logits
        common -= common % BLOCK  # whole blocks only, so the rest is fed in the same pieces as a cold prompt
        if common == 0 and self.cached:
            self.generator = self._new_generator(signature, DEFAULT_MAX_LENGTH)
        elif self.cached:
            self.generator.rewind_to(common)
        self.cached = []
        return self.generator, common

    def _ban(self, generator, tokens: list[int]) -> None:
        logits = generator.get_logits()
        logits[..., tokens] = -math.inf
        generator.set_logits(logits)

    def _copy_guard(self, texts: list[str]):
        """A :class:`~editorial.llm.copy_guard.CopyGuard` over ``texts`` (None when there are none)."""
        if not texts:
            return None
        from editorial.llm.copy_guard import CopyGuard, WordStarts

        if self._word_starts is None:
            self.tokenizer = self.og.Tokenizer(self.model)
            ids = range(self.vocab_size)
            self._word_starts = WordStarts([self.tokenizer.decode(np.array([i], dtype=np.int32)) for i in ids])
        return CopyGuard([str(text) for text in texts[:50]], self._word_starts)


def main(argv: list[str]) -> int:
    """Load the model, then serve jobs from standard input until it closes."""
    folder, threads = argv[0], int(argv[1]) if len(argv) > 1 else 0
    spin = argv[2] if len(argv) > 2 else "auto"
    out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # native libraries that print go to stderr, never into the protocol
    lock = threading.Lock()

    def send(message: dict) -> None:
        with lock:
            out.write(json.dumps(message) + "\n")
            out.flush()

    started = time.perf_counter()
    try:
        generation = Generation(folder, threads, spin)
    except Exception as exc:  # reported as one line to the parent, which raises ModelUnavailable
        send({"ready": False, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"})
        return 1
    send({"ready": True, "load_seconds": round(time.perf_counter() - started, 3), "pid": os.getpid()})

    jobs: queue.SimpleQueue = queue.SimpleQueue()
    cancelled_ids: set[int] = set()

    def read() -> None:
        for line in sys.stdin:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("op") == "cancel":
                cancelled_ids.add(int(message["id"]))
            elif message.get("op") == "generate":
                jobs.put(message)
        jobs.put(None)  # the parent closed the pipe

    threading.Thread(target=read, name="ort-worker-reader", daemon=True).start()
    while (job := jobs.get()) is not None:
        job_id = int(job["id"])
        try:
            generation.run(job, send, lambda job_id=job_id: job_id in cancelled_ids)
        except Exception as exc:
            generation.generator, generation.cached = None, []
            send({"id": job_id, "done": True, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"})
        cancelled_ids.discard(job_id)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
