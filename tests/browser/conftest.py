"""Real-browser fixtures: the app served by `streamlit run` on a free port, driven by Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.timing import scaled

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class AppServer:
    """A running app: its URL, data folder, process and log file."""

    url: str
    data_dir: Path
    process: subprocess.Popen
    log: Path
    env: dict

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server (by PID) and wait for it."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)

    def kill(self) -> None:
        """SIGKILL the server, as a crash would."""
        self.stop(signal.SIGKILL)


def app_command(port: int) -> list[str]:
    """``streamlit run serve.py`` on 127.0.0.1:``port``, as ``make run`` starts the app."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "serve.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]


def start_app(data_dir: Path, log: Path, extra_env: dict | None = None, port: int | None = None) -> AppServer:
    """Start ``streamlit run serve.py`` (pages plus session routes) headless; wait for /_stcore/health."""
    port = port or free_port()
    env = {**os.environ, "EDITORIAL_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    cache = os.environ.get("EDITORIAL_TEST_MODEL_CACHE")
    if cache:
        env["EDITORIAL_MODEL_CACHE_DIR"] = cache
    env.update(extra_env or {})
    command = app_command(port)
    handle = log.open("ab")
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + scaled(60)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited early; see {log}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return AppServer(url, data_dir, process, log, env)
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"the app did not answer /_stcore/health within {scaled(60):.0f} s; see {log}")


@pytest.fixture
def app_server(tmp_path: Path) -> Iterator[AppServer]:
    """A fresh app with its own data folder, stopped by PID afterwards."""
    server = start_app(tmp_path / "app-data", tmp_path / "app.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report on the test item (the page fixture screenshots failures)."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser, request):
    """A new browser context and page; JavaScript dialogs are recorded (and fail hostile-input tests)."""
    from tests.browser.ui import new_page

    new = new_page(browser, timeout=60_000)
    yield new
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        screenshot(new, f"FAILED-{request.node.name}")
    new.context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under test-artifacts/screenshots/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_app(page, timeout: float | None = None, *, started: bool = False) -> None:
    """Wait until Streamlit has finished running the script: connected, not running, nothing stale (180 s, scaled).

    ``started``: the caller already saw the rerun it waits for start (``ui.settle``), so there is no request
    still on its way to the server to leave time for.
    """
    timeout = scaled(180_000) if timeout is None else timeout
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=timeout)
    if not started:
        page.wait_for_timeout(400)  # a click's rerun request reaches the server
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            return app && app.getAttribute('data-test-script-state') === 'notRunning'
                && !document.querySelector('[data-stale="true"]');
        }""",
        timeout=timeout,
        polling=100,  # not requestAnimationFrame, which does not fire in a page that is not painted
    )
