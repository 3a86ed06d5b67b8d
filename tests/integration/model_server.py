"""A real OpenAI-compatible model server for tests: ``transformers serve`` with the bundled SmolLM2 on 127.0.0.1.

``transformers serve`` (the transformers 5 CLI, with the ``serving`` extras: fastapi, uvicorn) serves a local
checkpoint folder offline: ``/v1/chat/completions`` (JSON and server-sent events with a ``usage`` block),
``/v1/models`` and ``/health``. Pinned to one folder, it answers only requests naming that folder as the model.

The server is started as a child process with its own output file, waited for on ``/health`` (an event, under a
scaled limit), and stopped by its PID (terminate, then kill) whatever happened in between.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.timing import scaled, wait_until

START_LIMIT_S = 120.0
"""Load the model and answer /health (50 s seen at load average 15 on the shared 2-core machine)."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TransformersServer:
    """``with TransformersServer(folder, workdir) as server: server.url, server.model``."""

    def __init__(self, folder: Path, workdir: Path, *, threads: int = 1):
        self.folder, self.workdir, self.threads = Path(folder), Path(workdir), threads
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log_path = self.workdir / "transformers-serve.log"

    @property
    def url(self) -> str:
        """The server's root URL (the backend adds ``/v1``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def model(self) -> str:
        """The model name requests must carry: the served folder."""
        return str(self.folder)

    def _env(self) -> dict[str, str]:
        cache = self.workdir / "hf-cache"  # /v1/models lists this (empty) cache instead of failing on a missing one
        cache.mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_HUB_CACHE": str(cache),
            "OMP_NUM_THREADS": str(self.threads),  # a contended 2-core machine: see tests/integration/conftest.py
            "TOKENIZERS_PARALLELISM": "false",
        }

    def start(self) -> None:
        """Start the server and wait until ``/health`` answers (or fail with the end of its log)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-c",
            "import sys; from transformers.cli.transformers import main; sys.argv[0] = 'transformers'; main()",
            "serve",
            str(self.folder),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--device",
            "cpu",
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=self._env(), start_new_session=True
            )
        wait_until(
            self._ready,
            timeout=scaled(START_LIMIT_S),
            what="transformers serve to answer /health",
            interval=0.2,
            describe=self.log_tail,
        )

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"transformers serve exited with {self.process.returncode}: {self.log_tail()}")
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the server's output."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop the server by its PID: SIGTERM, then SIGKILL if it has not exited within a few seconds."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=scaled(10))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=scaled(10))

    def __enter__(self) -> TransformersServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
