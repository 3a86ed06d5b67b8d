"""Opt-in pytest plugin: CPU seconds per test, which a loaded, shared machine does not inflate like wall time.

    pytest -p tests.cpu_durations --cpu-durations=15

Counts the test process (all its threads) plus the children it reaped during the test (the app servers the
browser tests start and stop); not Chromium, which lives for the whole session. Setup, call and teardown together.
With ``EDITORIAL_CPU_DURATIONS_LOG=path`` each test's figures are also appended to that file as it ends.
"""

from __future__ import annotations

import os
import resource
import time

import pytest

_KEY = pytest.StashKey[dict]()


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--cpu-durations=N``."""
    parser.addoption("--cpu-durations", type=int, default=15, help="show the N tests that used most CPU time")


def pytest_configure(config: pytest.Config) -> None:
    """Start the tallies."""
    config.stash[_KEY] = {"tests": {}, "start_cpu": _cpu(), "start_wall": time.monotonic()}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    """Measure one test's CPU and wall time, setup to teardown."""
    cpu, wall = _cpu(), time.monotonic()
    try:
        return (yield)
    finally:
        used = item.config.stash[_KEY]["tests"][item.nodeid] = (_cpu() - cpu, time.monotonic() - wall)
        log = os.environ.get("EDITORIAL_CPU_DURATIONS_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(f"{used[0]:.1f}\t{used[1]:.1f}\t{os.getloadavg()[0]:.1f}\t{item.nodeid}\n")


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """Print the suite's CPU and wall time, per folder and for the heaviest tests."""
    stash = config.stash[_KEY]
    tests: dict[str, tuple[float, float]] = stash["tests"]
    if not tests:
        return
    total_cpu, total_wall = _cpu() - stash["start_cpu"], time.monotonic() - stash["start_wall"]
    write = terminalreporter.write_line
    terminalreporter.section("CPU time (test process + reaped children)")
    write(f"suite: {total_cpu:.1f} s CPU in {total_wall:.1f} s wall ({len(tests)} tests)")
    folders: dict[str, list[float]] = {}
    for nodeid, (cpu, wall) in tests.items():
        folder = "/".join(nodeid.split("::")[0].split("/")[:2])
        tally = folders.setdefault(folder, [0.0, 0.0, 0])
        tally[0], tally[1], tally[2] = tally[0] + cpu, tally[1] + wall, tally[2] + 1
    for folder, (cpu, wall, count) in sorted(folders.items(), key=lambda kv: -kv[1][0]):
        write(f"  {folder:<22} {cpu:8.1f} s CPU {wall:8.1f} s wall  {count:4d} tests  {cpu / total_cpu:6.1%}")
    count = config.getoption("--cpu-durations")
    write(f"heaviest {count} tests (CPU s, wall s):")
    for nodeid, (cpu, wall) in sorted(tests.items(), key=lambda kv: -kv[1][0])[:count]:
        write(f"  {cpu:8.1f} {wall:8.1f}  {nodeid}")
