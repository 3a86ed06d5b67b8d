"""Whether other processes compete for this process's cores, and so whether the runtime's threads should spin.

ONNX Runtime's thread pool spin-waits between operators by default. On a quiet 2-core machine that is what makes it
fast; when another process wants a core, the spinning threads fight it for every time slice and decoding collapses.
Measured on the bundled model (2 threads, 256 greedy tokens, bare loop, tokens/s): quiet, spinning 137 and
sleeping 90; one busy-looping process beside it, spinning 64 and sleeping 90; two, spinning 43 and sleeping 67.

:class:`CpuMeter` measures, from ``/proc/stat`` (only the cores this process may run on) minus this process's own
CPU time, how many cores *other* processes used while a generation ran; :class:`SpinPolicy` turns those
measurements into spin or sleep, with hysteresis so one noisy job does not flip it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

SPIN_MODES = ("auto", "on", "off")
BUSY_ENTER = 0.4
"""Cores used by other processes (averaged over about :data:`WINDOW_S` of generation) that make the policy sleep."""
BUSY_LEAVE = 0.2
"""Below this the policy spins again."""
WINDOW_S = 1.0
"""Seconds of generation that carry a full weight in the running average."""
MIN_SAMPLE_S = 0.05
"""Shorter generations are not measured (a clock tick is 10 ms)."""


def usable_cpus() -> set[int] | None:
    """The cores this process may run on (None where the platform does not say)."""
    return set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None


def usable_cores() -> int:
    """How many cores this process may run on."""
    cpus = usable_cpus()
    return max(1, len(cpus) if cpus is not None else os.cpu_count() or 1)


def _read_proc_stat() -> str:
    with open("/proc/stat", encoding="ascii") as handle:
        return handle.read()


def busy_seconds(stat_text: str, cpus: set[int] | None) -> float:
    """CPU seconds spent busy (not idle or waiting for I/O) on ``cpus`` (all when None), per ``/proc/stat``.

    Busy is user + nice + system + irq + softirq + steal: time another guest took from this virtual machine
    counts as competition too.
    """
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    for line in stat_text.splitlines():
        name, _, rest = line.partition(" ")
        if not name.startswith("cpu") or name == "cpu":
            continue
        if cpus is not None and int(name[3:]) not in cpus:
            continue
        values = [int(v) for v in rest.split()[:8]]
        values += [0] * (8 - len(values))
        user, nice, system, _idle, _iowait, irq, softirq, steal = values
        total += user + nice + system + irq + softirq + steal
    return total / ticks


@dataclass(frozen=True)
class Sample:
    """One reading: machine busy seconds, this process's CPU seconds, the wall clock."""

    machine: float
    own: float
    wall: float


class CpuMeter:
    """Cores other processes used between two readings (None where ``/proc/stat`` cannot be read)."""

    def __init__(
        self,
        read_stat: Callable[[], str] = _read_proc_stat,
        own_seconds: Callable[[], float] = lambda: sum(os.times()[:2]),
        clock: Callable[[], float] = time.monotonic,
        cpus: set[int] | None = None,
    ) -> None:
        self._read_stat, self._own_seconds, self._clock = read_stat, own_seconds, clock
        self._cpus = cpus if cpus is not None else usable_cpus()

    def sample(self) -> Sample | None:
        """A reading now, or None when the machine's counters are not available (not Linux)."""
        try:
            machine = busy_seconds(self._read_stat(), self._cpus)
        except (OSError, ValueError):
            return None
        return Sample(machine, self._own_seconds(), self._clock())

    def others_since(self, start: Sample | None) -> tuple[float, float] | None:
        """``(cores used by other processes, seconds)`` since ``start``; None if unmeasurable or too short."""
        if start is None:
            return None
        end = self.sample()
        if end is None or end.wall - start.wall < MIN_SAMPLE_S:
            return None
        seconds = end.wall - start.wall
        others = (end.machine - start.machine) - (end.own - start.own)
        return max(0.0, others / seconds), seconds


class SpinPolicy:
    """Spin (``on``), sleep (``off``) or decide from measured competition (``auto``, the default).

    ``spare_cores``: cores the runtime's threads leave free (8 cores, 2 threads: 6); other processes compete only
    for what they use beyond those.
    """

    def __init__(self, mode: str = "auto", spare_cores: float = 0.0) -> None:
        if mode not in SPIN_MODES:
            raise ValueError(f"spin mode must be one of {', '.join(SPIN_MODES)}, not {mode!r}")
        self.mode = mode
        self.spare_cores = max(0.0, spare_cores)
        self.load = 0.0
        self.busy = mode == "off"

    def spin(self) -> bool:
        """Whether the next generation's threads should spin-wait."""
        return self.mode == "on" or (self.mode == "auto" and not self.busy)

    def observe(self, measured: tuple[float, float] | None) -> None:
        """Fold ``(cores used by others, seconds)`` of one generation into the running average."""
        if self.mode != "auto" or measured is None:
            return
        others, seconds = measured
        competing = max(0.0, others - self.spare_cores)
        self.load += min(1.0, seconds / WINDOW_S) * (competing - self.load)
        if self.busy and self.load < BUSY_LEAVE:
            self.busy = False
        elif not self.busy and self.load > BUSY_ENTER:
            self.busy = True
