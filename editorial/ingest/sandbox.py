"""Parse untrusted files in a child process with a time and memory limit, so a hostile file can be stopped.

A parse runs in a long-lived worker process (``python -m editorial.ingest.sandbox``) whose address space is
capped with ``resource.setrlimit(RLIMIT_AS)``. The parent waits at most ``parse_timeout_s`` for the answer and
kills the worker when it is late or dies (a crash in a C library takes the worker, never the app); the next
file gets a fresh worker. Messages are length-prefixed JSON both ways: the parent never unpickles anything
from the process that read hostile bytes.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import resource
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from editorial.ingest.errors import SourceRejected
from editorial.ingest.parsers import parse
from editorial.ingest.parsers.base import ParsedDocument, Section
from editorial.ingest.parsers.limits import ParseLimits
from editorial.settings import Settings

logger = logging.getLogger(__name__)

_HEADER = struct.Struct("!I")
_PRELOAD = ("bs4", "lxml.etree", "pypdf", "docx", "charset_normalizer", "editorial.ingest.cleaning")
_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])
MAX_IDLE_WORKERS = 2
STARTUP_TIMEOUT_S = 120.0
MAX_ANSWER_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class SandboxLimits:
    """The child's wall-clock and memory limits, and the parsers' own size limits."""

    timeout_s: float
    memory_mb: int
    parser: ParseLimits

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxLimits:
        """The limits configured with ``EDITORIAL_PARSE_*`` settings."""
        return cls(
            timeout_s=settings.parse_timeout_s,
            memory_mb=settings.parse_memory_mb,
            parser=ParseLimits(
                max_pages=settings.parse_max_pages,
                max_decompressed_bytes=int(settings.parse_max_decompressed_mb * 1024 * 1024),
                max_depth=settings.parse_max_depth,
                max_elements=settings.parse_max_elements,
            ),
        )


# --------------------------------------------------------------------------- framing
def _write_frame(stream, payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def _read_exact(stream, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the worker closed its pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_frame(stream, limit: int = MAX_ANSWER_BYTES) -> bytes:
    (size,) = _HEADER.unpack(_read_exact(stream, _HEADER.size))
    if size > limit:
        raise EOFError(f"answer of {size} bytes is too large")
    return _read_exact(stream, size)


# --------------------------------------------------------------------------- the parent side
class _Worker:
    """One child process; used by one parse at a time."""

    def __init__(self, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        self.started = False
        path = os.pathsep.join(p for p in (_PROJECT_ROOT, os.environ.get("PYTHONPATH", "")) if p)
        env = dict(os.environ, EDITORIAL_SANDBOX_MEMORY_MB=str(memory_mb), OMP_NUM_THREADS="1", PYTHONPATH=path)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "editorial.ingest.sandbox"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
            start_new_session=True,
        )

    def wait_ready(self) -> None:
        """Wait for the worker's "ready" frame (its imports are not charged to the first file's time limit)."""
        ready, _, _ = select.select([self.process.stdout], [], [], STARTUP_TIMEOUT_S)
        if not ready or json.loads(_read_frame(self.process.stdout)).get("ready") is not True:
            raise EOFError("the parse worker did not start")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()

    def request(self, kind: str, data: bytes, limits: SandboxLimits) -> dict:
        header = json.dumps({"kind": kind, "limits": asdict(limits.parser)}).encode()
        _write_frame(self.process.stdin, header)
        _write_frame(self.process.stdin, data)
        deadline = time.monotonic() + limits.timeout_s
        ready, _, _ = select.select([self.process.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise TimeoutError
        return json.loads(_read_frame(self.process.stdout))


class _Pool:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []

    def take(self, memory_mb: int) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive() and worker.memory_mb == memory_mb:
                    return worker
                worker.kill()
        return _Worker(memory_mb)

    def give_back(self, worker: _Worker) -> None:
        with self._lock:
            if worker.alive() and len(self._idle) < MAX_IDLE_WORKERS:
                self._idle.append(worker)
                return
        worker.kill()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


_pool = _Pool()


def shutdown() -> None:
    """Stop the idle parse workers (tests and shutdown)."""
    _pool.close()


def parse_sandboxed(kind: str, data: bytes, limits: SandboxLimits) -> ParsedDocument:
    """Parse ``data`` as ``kind`` in a worker process with a time and memory limit.

    Raises:
        SourceRejected: The parser rejected the file, ran out of time or memory, or crashed (one line each).
    """
    worker = _pool.take(limits.memory_mb)
    try:
        if not worker.started:
            worker.wait_ready()
            worker.started = True
        answer = worker.request(kind, data, limits)
    except TimeoutError:
        worker.kill()
        logger.warning("parsing a %s file of %d bytes took over %.0f s; stopped", kind, len(data), limits.timeout_s)
        raise SourceRejected(
            f"Reading the file took longer than {limits.timeout_s:g} s, so it was stopped "
            "(EDITORIAL_PARSE_TIMEOUT_S); split it or save it in a simpler form."
        ) from None
    except (EOFError, OSError, ValueError, struct.error) as exc:
        code = worker.process.poll()
        worker.kill()
        code = worker.process.returncode if code is None else code
        logger.warning("the parse worker died on a %s file (%s, exit %s)", kind, exc, code)
        raise SourceRejected(
            f"The {kind.upper()} reader crashed on this file (exit {code}); it may be damaged. Nothing was stored."
        ) from None
    if answer.get("fatal") or answer.get("recycle"):
        worker.kill()
    else:
        _pool.give_back(worker)
    if answer.get("ok"):
        return ParsedDocument(
            sections=[Section(**section) for section in answer["sections"]],
            page_count=answer.get("page_count"),
            notes=list(answer.get("notes") or []),
        )
    raise SourceRejected(str(answer.get("error") or "The file could not be parsed."))


# --------------------------------------------------------------------------- the child side
def _limit_memory() -> int:
    megabytes = int(os.environ.get("EDITORIAL_SANDBOX_MEMORY_MB") or 0)
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return megabytes


def _peak_mb() -> float:
    """This process's peak resident memory in MB.

    ``VmHWM`` starts afresh at ``exec``; ``getrusage``'s ``ru_maxrss`` is kept across ``exec`` and would report
    the peak of the (large) process that started the worker.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _near_memory_limit(megabytes: int, peak_before: float) -> bool:
    """Whether this parse drove the worker's peak memory close to its limit.

    C libraries report failed allocations vaguely; the peak is the worker's lifetime high, so only a peak that
    grew during this parse counts.
    """
    peak = _peak_mb()
    return megabytes > 0 and peak >= 0.6 * megabytes and peak > peak_before


def _answer(kind: str, data: bytes, limits: ParseLimits, megabytes: int) -> dict:
    out_of_memory = {
        "ok": False,
        "fatal": True,
        "error": f"Reading the file needed more than {megabytes} MB of memory (EDITORIAL_PARSE_MEMORY_MB); "
        "split it or save it in a simpler form.",
    }
    peak_before = _peak_mb()
    try:
        document = parse(kind, data, limits)
    except MemoryError:
        return out_of_memory
    except SourceRejected as exc:
        return out_of_memory if _near_memory_limit(megabytes, peak_before) else {"ok": False, "error": str(exc)}
    except RecursionError:
        return {"ok": False, "error": "The file is nested too deeply to read."}
    except Exception as exc:
        if _near_memory_limit(megabytes, peak_before):
            return out_of_memory
        return {"ok": False, "error": f"The file could not be parsed ({type(exc).__name__})."}
    return {
        "ok": True,
        "sections": [asdict(section) for section in document.sections],
        "page_count": document.page_count,
        "notes": document.notes,
    }


def main() -> None:
    """Serve parse requests on stdin/stdout until the parent closes the pipe."""
    megabytes = _limit_memory()
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stray prints from libraries must not corrupt the frames
    logging.disable(logging.CRITICAL)
    for module in _PRELOAD:  # before "ready", so a file's time limit covers reading it, not imports
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    _write_frame(sink, json.dumps({"ready": True}).encode())
    while True:
        try:
            header = json.loads(_read_frame(source))
            data = _read_frame(source)
        except EOFError:
            return
        answer = _answer(header["kind"], data, ParseLimits(**header["limits"]), megabytes)
        if megabytes > 0 and _peak_mb() >= 0.5 * megabytes:
            answer["recycle"] = True  # its memory peaked high: the next file gets a fresh worker
        try:
            payload = json.dumps(answer).encode()
        except MemoryError:
            payload = json.dumps({"ok": False, "fatal": True, "error": "The file's text is too large."}).encode()
        _write_frame(sink, payload)
        if answer.get("fatal") or answer.get("recycle"):
            return


if __name__ == "__main__":
    main()
