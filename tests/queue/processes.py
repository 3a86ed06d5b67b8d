"""Queue workers and app replicas started by the tests as real processes, stopped by PID (even on failure)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.browser.conftest import app_command
from tests.servers import free_port
from tests.timing import scaled, wait_until

ROOT = Path(__file__).resolve().parents[2]


def stop_process(process: subprocess.Popen, *, grace: float = 20.0) -> None:
    """SIGTERM the process (its group), then SIGKILL after ``grace`` seconds; reap it."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def kill_process(process: subprocess.Popen) -> None:
    """Kill the process at once (SIGKILL to its group), as a crash would."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class Processes:
    """Starts workers and app replicas with one environment; ``stop_all()`` ends every one of them by PID."""

    def __init__(self, env: dict[str, str], folder: Path):
        self.env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.started: list[subprocess.Popen] = []

    def _spawn(self, args: list[str], log_name: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        log = (self.folder / log_name).open("ab")
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**self.env, **(extra_env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: a kill reaches its children (e.g. the parse sandbox)
        )
        process.log_path = self.folder / log_name  # type: ignore[attr-defined]
        self.started.append(process)
        return process

    def worker(self, name: str = "worker", *, concurrency: int = 1, extra_env: dict[str, str] | None = None):
        """Start ``python -m editorial worker`` and wait until it serves its queues."""
        args = [sys.executable, "-m", "editorial", "worker", "--concurrency", str(concurrency)]
        process = self._spawn(args, f"{name}.log", extra_env)
        log = process.log_path  # type: ignore[attr-defined]

        def serving() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"worker {name} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            return "serving queues" in log.read_text()

        wait_until(serving, timeout=scaled(120), what=f"worker {name} to serve its queues")
        return process

    def app(self, name: str = "app") -> tuple[subprocess.Popen, str]:
        """Start ``streamlit run serve.py`` (as ``make run`` does) on a free port; return it and its base URL."""
        port = free_port()
        args = app_command(port)
        process = self._spawn(args, f"{name}.log")
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            if process.poll() is not None:
                log = process.log_path.read_text()[-3000:]  # type: ignore[attr-defined]
                raise RuntimeError(f"app {name} exited with {process.returncode}:\n{log}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    return reply.status == 200
            except OSError:
                time.sleep(0.2)
                return False

        wait_until(healthy, timeout=scaled(120), what=f"app {name} to answer its health check")
        return process, url

    def stop_all(self) -> None:
        """Stop every process started here (SIGTERM, then SIGKILL), newest first."""
        for process in reversed(self.started):
            stop_process(process)
        self.started.clear()
