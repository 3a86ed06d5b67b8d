"""The parent side of the ONNX Runtime GenAI process: start it, send jobs, stream token ids back, cancel.

One :class:`OrtEngine` per model folder per process; it owns one child process
(:mod:`editorial.llm.ort_worker`) that runs jobs one at a time (two cores cannot afford two generations at once).
A job's token ids go to the caller's queue as they arrive; its :class:`~concurrent.futures.Future` resolves to the
list of new ids and its ``cached`` count (prompt tokens served from the KV cache). Cancelling sends one line; the
worker stops before its next token. A child that dies fails its running job with a one-line
:class:`~editorial.errors.ModelUnavailable` and is started again on the next job.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from editorial.errors import ModelUnavailable
from editorial.llm.cpu_load import usable_cores

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 300.0
CANCEL_POLL_S = 0.05


@dataclass
class Job:
    """One generation in flight: where its tokens go and how it ends."""

    events: queue.SimpleQueue
    cancelled: Callable[[], bool]
    future: Future = field(default_factory=Future)
    ids: list[int] = field(default_factory=list)
    cached: int = 0
    spin: bool | None = None
    was_cancelled: bool = False
    cancel_sent: bool = False


class OrtEngine:
    """A long-lived ONNX Runtime GenAI child process for one converted model folder."""

    def __init__(self, folder: str, threads: int, spin: str = "auto") -> None:
        self.folder = folder
        self.threads = threads
        self.spin = spin
        self.spinning: bool | None = None  # what the child's last job ran with
        self.load_seconds = 0.0
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._start()

    @property
    def pid(self) -> int | None:
        """The child's process id (None before it starts)."""
        return self._process.pid if self._process else None

    def _start(self) -> None:
        started = time.perf_counter()
        command = [sys.executable, "-m", "editorial.llm.ort_worker", self.folder, str(self.threads), self.spin]
        root = str(Path(__file__).resolve().parents[2])  # the folder holding the editorial package, whatever the cwd
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr(),
            text=True,
            encoding="utf-8",
            bufsize=1,
            env=env,
            cwd=root,
            start_new_session=True,  # a Ctrl-C in the terminal reaches the app, which then closes the pipe
        )
        ready = _read_ready(process)
        if not ready.get("ready"):
            process.kill()
            reason = ready.get("error") or f"it exited while loading: {self._last_error_line()}"
            raise ModelUnavailable(f"The embedded model could not start its ONNX Runtime process ({reason}).")
        self._process = process
        self.load_seconds = time.perf_counter() - started
        threading.Thread(target=self._read, args=(process,), name="ort-engine-reader", daemon=True).start()
        log.info("ONNX Runtime GenAI process %s ready in %.1f s (%s)", process.pid, self.load_seconds, self.folder)

    def _stderr(self):
        """The child's standard error: a temporary file whose last line explains a failed start."""
        if getattr(self, "_errors", None) is None:
            self._errors = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - lives with the engine
        return self._errors

    def _last_error_line(self) -> str:
        self._errors.seek(0)
        lines = [line.strip() for line in self._errors.read()[-4000:].splitlines() if line.strip()]
        return lines[-1][:200] if lines else "no message"

    def submit(self, ids: list[int], options: dict, events: queue.SimpleQueue, cancelled: Callable[[], bool]) -> Job:
        """Queue a generation for prompt ``ids``; new token ids are put on ``events`` as lists.

        Args:
            ids: The prompt token ids (chat template applied).
            options: ``max_new_tokens``, ``min_new_tokens``, ``temperature``, ``top_p``, ``repetition_penalty``.
            events: Receives a list of new token ids per step.
            cancelled: Polled while the job runs; True stops it before the next token.

        Returns:
            The job; ``job.future`` resolves to the new token ids.
        """
        job = Job(events=events, cancelled=cancelled)
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()
            job_id = next(self._ids)
            self._jobs[job_id] = job
        self._send({"op": "generate", "id": job_id, "ids": ids, **options})
        threading.Thread(target=self._watch, args=(job_id, job), name="ort-engine-cancel", daemon=True).start()
        return job

    def close(self) -> None:
        """Stop the child process (its pipe closes; it exits)."""
        process, self._process = self._process, None
        if process is not None:
            try:
                process.stdin.close()
                process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                process.kill()

    def _send(self, message: dict) -> None:
        process = self._process
        try:
            with self._write_lock:
                process.stdin.write(json.dumps(message) + "\n")
                process.stdin.flush()
        except (OSError, AttributeError, ValueError) as exc:
            log.warning("The ONNX Runtime process did not take a message: %s", exc)

    def _watch(self, job_id: int, job: Job) -> None:
        """Forward the caller's cancel to the child within ``CANCEL_POLL_S``."""
        while not job.future.done():
            if not job.cancel_sent and job.cancelled():
                job.cancel_sent = True
                self._send({"op": "cancel", "id": job_id})
            time.sleep(CANCEL_POLL_S)

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            job = self._jobs.get(message.get("id"))
            if job is None:
                continue
            if "tokens" in message:
                job.ids.extend(message["tokens"])
                job.events.put(message["tokens"])
            if message.get("done"):
                self._jobs.pop(message["id"], None)
                if message.get("error"):
                    job.future.set_exception(ModelUnavailable(f"The embedded model failed: {message['error']}"))
                else:
                    job.cached = int(message.get("cached") or 0)
                    job.spin = message.get("spin")
                    if job.spin is not None and job.spin != self.spinning:
                        log.info(
                            "ONNX Runtime threads now %s", "spin-wait" if job.spin else "sleep (the machine is busy)"
                        )
                        self.spinning = job.spin
                    job.was_cancelled = bool(message.get("cancelled"))
                    job.future.set_result(job.ids)
        code = process.wait()
        with self._lock:
            if self._process is process:
                self._process = None
            failed, self._jobs = self._jobs, {}
        for job in failed.values():
            if not job.future.done():
                job.future.set_exception(
                    ModelUnavailable(
                        f"The embedded model process stopped (exit code {code}); the next call restarts it."
                    )
                )


def _read_ready(process: subprocess.Popen) -> dict:
    """The child's first line (``ready`` or an error), waiting at most ``READY_TIMEOUT_S``."""
    box: list[dict] = []

    def first_line() -> None:
        line = process.stdout.readline()
        try:
            box.append(json.loads(line) if line else {"ready": False})
        except ValueError:
            box.append({"ready": False, "error": line.strip()[:200]})

    reader = threading.Thread(target=first_line, daemon=True)
    reader.start()
    reader.join(READY_TIMEOUT_S)
    return box[0] if box else {"ready": False, "error": f"no answer in {READY_TIMEOUT_S:.0f} s"}


_engines: dict[tuple[str, int, str], OrtEngine] = {}
_engines_lock = threading.Lock()


def get_engine(folder: str, threads: int, spin: str = "auto") -> OrtEngine:
    """The process-wide engine for ``folder`` with ``threads`` threads and spin mode ``spin``, started on first use."""
    key = (folder, threads, spin)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = OrtEngine(folder, threads, spin)
        return engine


def close_engines() -> None:
    """Stop every child process (tests; settings changes)."""
    with _engines_lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.close()


def ort_thread_count(configured: int = 0) -> int:
    """Threads for the ONNX runtime: ``configured`` if positive, else one per core this process may use.

    On a busy machine the threads stop spin-waiting by themselves (``EDITORIAL_LLM_SPIN=auto``,
    :mod:`editorial.llm.cpu_load`); on one that is busy all the time one thread can still be faster (README,
    "Threads").
    """
    return configured if configured > 0 else usable_cores()
