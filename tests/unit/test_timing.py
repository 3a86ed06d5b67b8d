"""The test-time helpers: limits scale with the environment; waits end on the event."""

import time

import pytest

from tests.timing import WaitTimeout, scaled, time_scale, wait_until


def test_scaled_defaults_to_the_given_limit(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("EDITORIAL_TEST_TIME_SCALE", raising=False)
    assert scaled(12.5) == 12.5


def test_scaled_multiplies_by_the_environment_factor(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("EDITORIAL_TEST_TIME_SCALE", "2.5")
    assert scaled(10) == 25.0
    assert time_scale() == 2.5


@pytest.mark.parametrize("raw", ["fast", "0", "-1", "inf", "nan"])
def test_a_bad_scale_is_refused_with_its_name(monkeypatch: pytest.MonkeyPatch, raw: str):
    monkeypatch.setenv("EDITORIAL_TEST_TIME_SCALE", raw)
    with pytest.raises(ValueError, match="EDITORIAL_TEST_TIME_SCALE"):
        scaled(1)


def test_wait_until_returns_the_first_truthy_value_as_soon_as_it_appears():
    calls = []

    def ready():
        calls.append(1)
        return "done" if len(calls) >= 3 else None

    start = time.monotonic()
    assert wait_until(ready, timeout=10, what="the third poll") == "done"
    assert len(calls) == 3
    assert time.monotonic() - start < 2


def test_wait_until_names_what_it_waited_for_and_the_last_state(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("EDITORIAL_TEST_TIME_SCALE", "3")
    start = time.monotonic()
    with pytest.raises(WaitTimeout) as failure:
        wait_until(lambda: False, timeout=0.3, what="run 7 to reach 'writing'", describe=lambda: "stage=planning")
    elapsed = time.monotonic() - start
    message = str(failure.value)
    assert "run 7 to reach 'writing'" in message
    assert "stage=planning" in message
    assert "EDITORIAL_TEST_TIME_SCALE=3" in message
    assert 0.3 <= elapsed < 2
    assert isinstance(failure.value, AssertionError)


def test_wait_until_lets_a_broken_check_fail_loudly():
    def broken():
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError, match="database gone"):
        wait_until(broken, timeout=5, what="anything")


def test_the_per_test_hang_guard_is_scaled_too(request: pytest.FixtureRequest):
    base = request.config.getoption("timeout", None) or request.config.getini("timeout")
    marker = request.node.get_closest_marker("timeout")
    assert marker is not None and marker.args[0] == scaled(float(base))
