"""The torch worker thread and the streaming helpers of the local chat model (no model is loaded)."""

from __future__ import annotations

import threading

import pytest

from editorial.llm.local import _partial_stop_length
from editorial.llm.worker import TorchWorker, default_thread_count, get_worker
from tests.timing import scaled

# The first job imports torch in the worker thread: tens of seconds on a loaded machine.
LIMIT = scaled(120)


def test_jobs_run_in_order_on_one_long_lived_thread():
    worker = TorchWorker(name="test-worker")
    seen: list[tuple[int, str]] = []
    futures = [worker.submit(lambda i=i: seen.append((i, threading.current_thread().name)) or i) for i in range(5)]
    assert [f.result(timeout=LIMIT) for f in futures] == list(range(5))
    assert seen == [(i, "test-worker") for i in range(5)]


def test_errors_reach_the_caller():
    worker = TorchWorker()
    future = worker.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        future.result(timeout=LIMIT)
    assert worker.submit(lambda: "still alive").result(timeout=LIMIT) == "still alive"


def test_a_job_submitting_a_job_runs_it_inline():
    worker = TorchWorker()
    assert worker.submit(lambda: worker.submit(lambda: 42).result(timeout=1)).result(timeout=LIMIT) == 42


def test_the_process_worker_is_shared_and_threads_default_to_cores():
    assert get_worker() is get_worker()
    assert default_thread_count(3) == 3
    assert default_thread_count(0) >= 1


@pytest.mark.parametrize(
    ("text", "stops", "held"),
    [
        ("Hello wor", ["world"], 3),
        ("Hello", ["###"], 0),
        ("a #", ["##", "###"], 1),
        ("a ##", ["###"], 2),
        ("", ["x"], 0),
    ],
)
def test_a_possible_stop_prefix_is_held_back(text: str, stops: list[str], held: int):
    assert _partial_stop_length(text, stops) == held
