"""One long-lived "torch worker" thread that runs every local generation of the process.

Why: LangChain's ``HuggingFacePipeline`` streams by starting a fresh thread per call, and Streamlit runs every
script rerun in yet another thread, so torch work would hop between short-lived threads, each building its own
OpenMP team (torch's CPU backend is libgomp). Here all generation runs on one dedicated thread that keeps its
OpenMP team; callers only submit jobs and read token ids from a queue. Jobs run one at a time, which is also what
two cores can afford: two browser sessions generating at once would only slow each other down.

Measured on the shared 2-core machine (bench/bench_models.py): streaming through this worker from a fresh
non-main thread runs at the speed of ``model.generate`` on the main thread. The big effect is contention: when
the cores are busy (load average 6-10), two OpenMP threads spin-wait at every barrier and generation collapsed
to 0.3 tokens/s while one torch thread kept 4-6 tokens/s (``GOMP_SPINCOUNT=1000`` also avoided the collapse).
``settings.torch_threads`` (``EDITORIAL_TORCH_THREADS``) sets the worker's thread count; 0 means one per core.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

_lock = threading.Lock()
_worker: TorchWorker | None = None


def default_thread_count(configured: int = 0) -> int:
    """Threads for torch: ``configured`` if positive, else the cores this process may use."""
    if configured > 0:
        return configured
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class TorchWorker:
    """A daemon thread that runs submitted callables one after another."""

    def __init__(self, name: str = "editorial-torch-worker") -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], object], Future, int]] = queue.SimpleQueue()
        self._threads = 0
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def thread(self) -> threading.Thread:
        """The worker thread (callers use it to detect re-entrant calls)."""
        return self._thread

    def submit(self, job: Callable[[], object], threads: int = 0) -> Future:
        """Queue ``job`` to run on the worker thread with ``threads`` torch threads (0: one per core).

        Returns:
            A future with the job's return value or exception. A job submitted from the worker thread itself
            runs at once (inline) to avoid a deadlock.
        """
        future: Future = Future()
        if threading.current_thread() is self._thread:
            self._run(job, future, threads)
        else:
            self._jobs.put((job, future, threads))
        return future

    def _loop(self) -> None:
        while True:
            job, future, threads = self._jobs.get()
            self._run(job, future, threads)

    def _run(self, job: Callable[[], object], future: Future, threads: int) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            self._set_threads(default_thread_count(threads))
            future.set_result(job())
        except BaseException as exc:  # handed to the caller, never lost in this thread
            future.set_exception(exc)

    def _set_threads(self, count: int) -> None:
        if count != self._threads:
            import torch

            torch.set_num_threads(count)  # per calling thread for OpenMP: applies to this worker only
            self._threads = count


def get_worker() -> TorchWorker:
    """The process-wide torch worker, started on first use."""
    global _worker
    with _lock:
        if _worker is None or not _worker.thread.is_alive():
            _worker = TorchWorker()
        return _worker
