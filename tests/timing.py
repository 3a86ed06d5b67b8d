"""Time limits for tests: scaled for slow machines, and waiting on events rather than clocks.

Tests never sleep a fixed wall-clock deadline for something to reach a state. They wait
for the event itself (a run's recorded stage, a page element, a file) with ``wait_until``,
under a generous limit passed through ``scaled`` so a loaded machine can stretch it:

    EDITORIAL_TEST_TIME_SCALE=3 make test

Example::

    from tests.timing import scaled, wait_until

    run = wait_until(lambda: load_run(run_id) if stage_of(run_id) == "writing" else None,
                     timeout=scaled(300), what=f"run {run_id} to start writing")
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

SCALE_ENV = "EDITORIAL_TEST_TIME_SCALE"

T = TypeVar("T")


def time_scale() -> float:
    """The factor from ``EDITORIAL_TEST_TIME_SCALE`` (default 1; must be a positive number)."""
    raw = os.environ.get(SCALE_ENV, "").strip()
    if not raw:
        return 1.0
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{SCALE_ENV} must be a number, got {raw!r}") from exc
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{SCALE_ENV} must be a positive finite number, got {raw!r}")
    return value


def scaled(seconds: float) -> float:
    """A time limit multiplied by ``EDITORIAL_TEST_TIME_SCALE`` (default 1).

    Args:
        seconds: The limit on a quiet machine.

    Returns:
        The limit for this machine.
    """
    return seconds * time_scale()


class WaitTimeout(AssertionError):
    """Raised by ``wait_until`` when the awaited event did not happen in time."""


def wait_until(
    predicate: Callable[[], T],
    timeout: float,
    what: str,
    *,
    interval: float = 0.05,
    max_interval: float = 1.0,
    backoff: float = 1.5,
    describe: Callable[[], str] | None = None,
) -> T:
    """Poll ``predicate`` until it returns a truthy value, backing off between polls.

    The limit is taken as given: pass ``scaled(...)`` so slow machines can stretch it.
    Exceptions raised by ``predicate`` propagate (a broken check should fail loudly).

    Args:
        predicate: Returns a truthy value once the event happened (that value is returned).
        timeout: Seconds to wait at most (already scaled).
        what: The event, for the failure message ("run 3 to reach stage 'writing'").
        interval: First pause between polls, in seconds.
        max_interval: Longest pause between polls.
        backoff: Factor applied to the pause after each poll.
        describe: Optional; called on timeout to add the last observed state to the message.

    Returns:
        The predicate's first truthy value.

    Raises:
        WaitTimeout: (an ``AssertionError``) naming ``what``, the limit and the scale.
    """
    start = time.monotonic()
    deadline = start + timeout
    pause = interval
    polls = 0
    while True:
        result = predicate()
        polls += 1
        if result:
            return result
        now = time.monotonic()
        if now >= deadline:
            break
        time.sleep(min(pause, max(deadline - now, 0.0)))
        pause = min(pause * backoff, max_interval)
    message = (
        f"timed out after {time.monotonic() - start:.1f}s ({polls} checks) waiting for {what}"
        f" (limit {timeout:.1f}s; {SCALE_ENV}={time_scale():g})"
    )
    if describe is not None:
        try:
            message += f"; last state: {describe()}"
        except Exception as exc:  # the timeout is the failure to report
            message += f"; last state unavailable ({exc!r})"
    raise WaitTimeout(message)
