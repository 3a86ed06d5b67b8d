"""The busy-machine meter and the spin/sleep policy of the embedded ONNX runtime."""

from __future__ import annotations

import os

import pytest

from editorial.llm.cpu_load import BUSY_ENTER, CpuMeter, SpinPolicy, busy_seconds

TICKS = os.sysconf("SC_CLK_TCK")


def stat(cpu0: tuple[int, ...], cpu1: tuple[int, ...]) -> str:
    """A /proc/stat text: user nice system idle iowait irq softirq steal guest guest_nice per core."""
    total = tuple(a + b for a, b in zip(cpu0, cpu1, strict=True))
    lines = [f"cpu  {' '.join(map(str, total))}", f"cpu0 {' '.join(map(str, cpu0))}"]
    lines += [f"cpu1 {' '.join(map(str, cpu1))}", "intr 1 2 3", "ctxt 99", "btime 1"]
    return "\n".join(lines) + "\n"


def test_busy_seconds_count_user_system_interrupts_and_steal_but_not_idle_or_iowait():
    text = stat((100, 10, 20, 5000, 300, 1, 2, 7, 0, 0), (50, 0, 10, 9000, 0, 0, 0, 3, 0, 0))
    assert busy_seconds(text, None) == pytest.approx((140 + 63) / TICKS)
    assert busy_seconds(text, {1}) == pytest.approx(63 / TICKS)  # only the cores this process may use


class FakeMachine:
    """Counters that tests move by hand: the machine's busy ticks per core, our own CPU seconds, the clock."""

    def __init__(self) -> None:
        self.busy = [0, 0]
        self.own = 0.0
        self.now = 100.0

    def run(self, seconds: float, own_cores: float, other_cores: float) -> None:
        for core in (0, 1):
            self.busy[core] += round((own_cores + other_cores) / 2 * seconds * TICKS)
        self.own += own_cores * seconds
        self.now += seconds

    def meter(self) -> CpuMeter:
        def read() -> str:
            return stat((self.busy[0], 0, 0, 1, 0, 0, 0, 0, 0, 0), (self.busy[1], 0, 0, 1, 0, 0, 0, 0, 0, 0))

        return CpuMeter(read_stat=read, own_seconds=lambda: self.own, clock=lambda: self.now, cpus={0, 1})


def test_the_meter_subtracts_this_processs_own_cpu_time():
    machine = FakeMachine()
    meter = machine.meter()
    start = meter.sample()
    machine.run(2.0, own_cores=1.8, other_cores=0.7)
    others, seconds = meter.others_since(start)
    assert seconds == pytest.approx(2.0)
    assert others == pytest.approx(0.7, abs=0.02)


def test_the_meter_skips_what_it_cannot_measure():
    machine = FakeMachine()
    meter = machine.meter()
    start = meter.sample()
    machine.run(0.01, own_cores=2, other_cores=2)
    assert meter.others_since(start) is None  # shorter than a few clock ticks
    assert meter.others_since(None) is None

    def missing() -> str:
        raise OSError("no /proc here")

    assert CpuMeter(read_stat=missing).sample() is None


def test_auto_sleeps_while_others_are_busy_and_spins_again_when_they_stop():
    policy = SpinPolicy("auto")
    assert policy.spin()
    policy.observe((0.3, 5.0))  # a light neighbour: still worth spinning
    assert policy.spin()
    policy.observe((1.0, 0.1))  # one short noisy job moves the average a tenth of the way
    assert policy.spin()
    for _ in range(10):
        policy.observe((1.0, 0.3))
    assert not policy.spin() and policy.load > BUSY_ENTER
    policy.observe((0.3, 2.0))  # between the thresholds: stays asleep (no flapping)
    assert not policy.spin()
    policy.observe((0.0, 2.0))
    assert policy.spin()
    policy.observe(None)  # nothing measured, nothing changes
    assert policy.spin()


@pytest.mark.parametrize(("mode", "spins"), [("on", True), ("off", False)])
def test_fixed_modes_ignore_measurements(mode, spins):
    policy = SpinPolicy(mode)
    for measured in [(2.0, 5.0), (0.0, 5.0)]:
        policy.observe(measured)
        assert policy.spin() is spins


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="auto, on, off"):
        SpinPolicy("sometimes")


def test_only_use_beyond_the_cores_left_free_counts_as_competition():
    policy = SpinPolicy("auto", spare_cores=6)  # 8 cores, 2 threads
    policy.observe((5.0, 2.0))
    assert policy.spin()
    policy.observe((7.0, 2.0))
    assert not policy.spin()
