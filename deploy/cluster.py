"""Start the team topology on this machine, every service on 127.0.0.1; stop it by PID.

``python deploy/cluster.py`` (``make cluster``) starts PostgreSQL (Debian's server binaries), a Chroma
server, a procrastinate worker and two app replicas, prints their URLs and stops everything on Ctrl-C.
``python deploy/cluster.py stop`` (``make cluster-stop``) stops a cluster started in another terminal,
by the PIDs it recorded. The queue lives in the PostgreSQL database, so there is no broker to start.

Ports and folders are environment variables: CLUSTER_DIR (default data/cluster), CLUSTER_PG_PORT (55432),
CLUSTER_CHROMA_PORT (8800), CLUSTER_APP_PORTS (8501,8502), CLUSTER_WORKERS (1).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
FOLDER = Path(os.environ.get("CLUSTER_DIR", ROOT / "data" / "cluster")).resolve()
PIDS = FOLDER / "pids.json"
PG_PORT = int(os.environ.get("CLUSTER_PG_PORT", "55432"))
CHROMA_PORT = int(os.environ.get("CLUSTER_CHROMA_PORT", "8800"))
APP_PORTS = [int(p) for p in os.environ.get("CLUSTER_APP_PORTS", "8501,8502").split(",") if p.strip()]
WORKERS = int(os.environ.get("CLUSTER_WORKERS", "1"))
PG_USER, PG_DB = "editorial", "editorial"
AS_ROOT = os.geteuid() == 0
# PostgreSQL refuses to run as root: as root it runs as ``postgres`` in a folder that user can reach.
PG_DATA = Path(os.environ.get("CLUSTER_PG_DATA", "/var/tmp/editorial-cluster-pg" if AS_ROOT else FOLDER / "pg"))


def log(message: str) -> None:
    """One line for the person at the terminal."""
    print(f"[cluster] {message}", flush=True)


def busy(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(check, what: str, process: subprocess.Popen | None = None, timeout: float = 120.0) -> None:
    """Poll ``check`` until it is true; fail if ``process`` exits first or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}; see the logs in {FOLDER}")
        with contextlib.suppress(OSError):
            if check():
                return
        time.sleep(0.3)
    raise SystemExit(f"{what} did not come up in {timeout:.0f} s; see the logs in {FOLDER}")


def http_ok(url: str) -> bool:
    """Whether ``url`` answers 200."""
    with urllib.request.urlopen(url, timeout=2) as reply:
        return reply.status == 200


def environment() -> dict[str, str]:
    """The settings every app replica and worker shares."""
    return {
        **os.environ,
        "EDITORIAL_DATABASE_URL": f"postgresql+psycopg://{PG_USER}@127.0.0.1:{PG_PORT}/{PG_DB}",
        "EDITORIAL_CHROMA_HOST": "127.0.0.1",
        "EDITORIAL_CHROMA_PORT": str(CHROMA_PORT),
        "EDITORIAL_TASK_QUEUE": "procrastinate",
        "ANONYMIZED_TELEMETRY": "False",
        "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"),
        "PYTHONUNBUFFERED": "1",
    }


def as_postgres(args: list[str]) -> list[str]:
    """``args`` run as the ``postgres`` user when this is root."""
    return ["runuser", "-u", "postgres", "--", *args] if AS_ROOT else args


def pg_bin() -> Path:
    """The newest installed PostgreSQL server binaries."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise SystemExit("PostgreSQL is not installed: run `make services` (apt-get install postgresql).")
    return Path(found[-1]).parent


def start_postgres() -> int:
    """Create the cluster once (trust on loopback), start it, create the database; return the postmaster PID."""
    binaries = pg_bin()
    if not (PG_DATA / "PG_VERSION").exists():
        PG_DATA.mkdir(parents=True, mode=0o700, exist_ok=True)
        if AS_ROOT:
            shutil.chown(PG_DATA, "postgres")
        initdb = [str(binaries / "initdb"), "-D", str(PG_DATA), "-A", "trust", "-U", PG_USER, "-E", "UTF8"]
        subprocess.run(as_postgres(initdb), check=True, capture_output=True)
    options = f"-p {PG_PORT} -k {PG_DATA} -c listen_addresses=127.0.0.1 -c max_connections=200"
    subprocess.run(
        as_postgres(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(PG_DATA),
                "-o",
                options,
                "-l",
                str(PG_DATA / "server.log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    with psycopg.connect(f"host=127.0.0.1 port={PG_PORT} user={PG_USER} dbname=postgres", autocommit=True) as db:
        if not db.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DB,)).fetchone():
            db.execute(f'CREATE DATABASE "{PG_DB}"')
    return int((PG_DATA / "postmaster.pid").read_text().split()[0])


def spawn(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """Start ``args`` in its own process group, logging to ``<cluster>/<name>.log``."""
    log_file = (FOLDER / f"{name}.log").open("ab")
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)


def stop_pid(pid: int, *, group: bool, grace: float = 20.0) -> None:
    """SIGTERM (SIGINT for PostgreSQL's fast shutdown), then SIGKILL after ``grace`` seconds."""
    sig = signal.SIGTERM if group else signal.SIGINT
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig) if group else os.kill(pid, sig)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL) if group else os.kill(pid, signal.SIGKILL)


def stop_recorded() -> None:
    """Stop every process a cluster recorded, newest first, PostgreSQL last."""
    if not PIDS.exists():
        log("no cluster is recorded as running")
        return
    recorded = json.loads(PIDS.read_text())
    for entry in reversed(recorded):
        log(f"stopping {entry['name']} (pid {entry['pid']})")
        stop_pid(entry["pid"], group=entry["group"])
    PIDS.unlink(missing_ok=True)
    log("stopped")


def start() -> None:
    """Bring the topology up, print the URLs, and stop it all on Ctrl-C (or SIGTERM)."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    if PIDS.exists():
        raise SystemExit(f"A cluster is recorded in {PIDS}: run `make cluster-stop` first.")
    for port in (PG_PORT, CHROMA_PORT, *APP_PORTS):
        if busy(port):
            raise SystemExit(f"Port {port} is taken on 127.0.0.1; choose others (CLUSTER_*_PORT(S)).")
    recorded: list[dict] = []

    def record(name: str, pid: int, group: bool = True) -> None:
        recorded.append({"name": name, "pid": pid, "group": group})
        PIDS.write_text(json.dumps(recorded))

    def stop_all(*_args) -> None:
        stop_recorded()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)  # also when started from a shell that ignores Ctrl-C in the background
    try:
        record("postgresql", start_postgres(), group=False)
        log(f"PostgreSQL      postgresql://{PG_USER}@127.0.0.1:{PG_PORT}/{PG_DB}  (data {PG_DATA})")
        env = environment()
        chroma = Path(PY).with_name("chroma")
        process = spawn(
            "chroma",
            [str(chroma), "run", "--path", str(FOLDER / "chroma"), "--host", "127.0.0.1", "--port", str(CHROMA_PORT)],
            env,
        )
        record("chroma", process.pid)
        wait_for(lambda: http_ok(f"http://127.0.0.1:{CHROMA_PORT}/api/v2/heartbeat"), "the Chroma server", process)
        log(f"Chroma server   http://127.0.0.1:{CHROMA_PORT}")
        subprocess.run([PY, "-m", "editorial", "init"], cwd=ROOT, env=env, check=True)  # migrate, models, queue
        for number in range(1, WORKERS + 1):
            process = spawn(f"worker-{number}", [PY, "-m", "editorial", "worker"], env)
            record(f"worker-{number}", process.pid)
            log_path = FOLDER / f"worker-{number}.log"
            wait_for(lambda p=log_path: "serving queues" in p.read_text(), f"worker {number}", process)
            log(f"Queue worker {number}  pid {process.pid} (procrastinate on PostgreSQL; log {log_path})")
        for number, port in enumerate(APP_PORTS, start=1):
            args = [PY, "-m", "streamlit", "run", "serve.py", "--server.headless", "true"]
            args += ["--server.address", "127.0.0.1", "--server.port", str(port)]
            args += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
            process = spawn(f"app-{number}", args, env)
            record(f"app-{number}", process.pid)
            wait_for(lambda port=port: http_ok(f"http://127.0.0.1:{port}/_stcore/health"), f"app {number}", process)
            log(f"App replica {number}   http://127.0.0.1:{port}")
        log("up. Ctrl-C (or `make cluster-stop` from another terminal) stops everything.")
        while PIDS.exists():  # `make cluster-stop` removes it once it stopped everything
            time.sleep(1)
        log("stopped from another terminal")
    finally:
        if PIDS.exists():
            stop_recorded()


if __name__ == "__main__":
    if sys.argv[1:] == ["stop"]:
        stop_recorded()
    else:
        start()
