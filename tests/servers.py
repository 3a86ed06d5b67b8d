"""Real servers for tests, started on 127.0.0.1 on a free port and stopped by PID (PostgreSQL, Chroma).

PostgreSQL comes from Debian's ``postgresql`` package; it refuses to run as root, so as root the server runs
as the ``postgres`` user in a data folder that user owns.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PG_USER = "editorial"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin() -> Path | None:
    """The folder of the newest installed PostgreSQL server binaries (None when not installed)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _as_server_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _stop_pid(pid: int, timeout: float = 20.0) -> None:
    try:
        os.kill(pid, signal.SIGINT)  # PostgreSQL: fast shutdown
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


class PostgresServer:
    """A throw-away PostgreSQL cluster: ``start()``, ``create_database()``, ``stop()``."""

    def __init__(self) -> None:
        # Its own folder directly under the temp dir: the ``postgres`` user must reach it, and pytest's
        # temp folders are private to root.
        self.folder = Path(tempfile.mkdtemp(prefix="editorial-pg-"))
        self.data = self.folder / "pgdata"
        self.port = 0
        self.pid: int | None = None

    def start(self, timeout: float = 60.0) -> PostgresServer:
        """Create the cluster (trust auth on loopback only) and start it; wait until it accepts connections."""
        binaries = postgres_bin()
        if binaries is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install -y postgresql)")
        self.data.mkdir(mode=0o700, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
            shutil.chown(self.data, "postgres")
        subprocess.run(
            _as_server_user(
                [str(binaries / "initdb"), "-D", str(self.data), "-A", "trust", "-U", PG_USER, "-E", "UTF8"]
            ),
            check=True,
            capture_output=True,
        )
        self.port = free_port()
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        subprocess.run(
            _as_server_user(
                [
                    str(binaries / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-o",
                    options,
                    "-l",
                    str(self.data / "server.log"),
                    "-w",
                    "-t",
                    str(int(timeout)),
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])
        return self

    @property
    def base_url(self) -> str:
        """SQLAlchemy URL prefix (psycopg 3) without a database name."""
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}"

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """Create database ``name`` (a copy of ``template`` when given) and return its SQLAlchemy URL."""
        import psycopg  # the driver is only needed when PostgreSQL tests run

        copy = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={PG_USER} dbname=postgres", autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"{copy}')
        return f"{self.base_url}/{name}"

    def stop(self) -> None:
        """Stop the server by its PID and remove its folder."""
        if self.pid is not None:
            _stop_pid(self.pid)
            self.pid = None
        shutil.rmtree(self.folder, ignore_errors=True)


class ChromaServer:
    """A ``chroma run`` server from the installed chromadb package, on a free loopback port."""

    def create_database(self, name: str) -> str:
        """Create database ``name`` in the default tenant (tests get one each) and return the name."""
        import chromadb

        chromadb.AdminClient(
            chromadb.Settings(
                chroma_server_host="127.0.0.1",
                chroma_server_http_port=self.port,
                chroma_api_impl="chromadb.api.fastapi.FastAPI",
                anonymized_telemetry=False,
            )
        ).create_database(name)
        return name

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.port = 0
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> ChromaServer:
        """Start the server and wait for its heartbeat."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        chroma = Path(sys.executable).with_name("chroma")
        log = (self.folder / "chroma.log").open("wb")
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        self.process = subprocess.Popen(
            [str(chroma), "run", "--path", str(self.folder / "db"), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"chroma run exited with {self.process.returncode}; see {self.folder / 'chroma.log'}"
                )
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=2) as reply:
                    if reply.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("chroma run did not answer its heartbeat in time")

    def stop(self) -> None:
        """Stop the server by its PID."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
