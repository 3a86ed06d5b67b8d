"""Run an ingest in a background thread and expose its progress as snapshots (for a page that stays responsive)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from editorial.errors import EditorialError
from editorial.ingest.progress import FileOutcome, IngestCallbacks, IngestReport

logger = logging.getLogger(__name__)

_STAGE_START = {"reading": 0.02, "waiting": 0.08, "embedding": 0.1}


@dataclass(frozen=True)
class FileProgress:
    """Where one file is: its stage and how far through it."""

    name: str
    stage: str
    done: int = 0
    total: int = 0

    @property
    def fraction(self) -> float:
        """Progress of this file in [0, 1]."""
        start = _STAGE_START.get(self.stage, 0.0)
        if self.stage == "embedding" and self.total:
            return min(1.0, start + (1 - start) * self.done / self.total)
        return start


@dataclass(frozen=True)
class JobSnapshot:
    """A consistent copy of a job's progress."""

    total: int
    finished: int
    active: list[FileProgress] = field(default_factory=list)
    outcomes: list[FileOutcome] = field(default_factory=list)
    running: bool = True
    report: IngestReport | None = None
    error: str | None = None

    @property
    def fraction(self) -> float:
        """Overall progress in [0, 1]: finished files plus the part done of those in flight."""
        if not self.total:
            return 0.0 if self.running else 1.0
        return min(1.0, (self.finished + sum(f.fraction for f in self.active)) / self.total)


class IngestJob(IngestCallbacks):
    """Callbacks that record progress, plus the thread that runs ``work(callbacks)``."""

    def __init__(self, work: Callable[[IngestCallbacks], IngestReport], *, total: int = 0) -> None:
        self._work = work
        self._lock = threading.Lock()
        self._total = total
        self._active: dict[str, FileProgress] = {}
        self._outcomes: list[FileOutcome] = []
        self._report: IngestReport | None = None
        self._error: str | None = None
        self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)

    def start(self) -> IngestJob:
        """Start the background thread; return self."""
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the job to end; return whether it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        """Whether the thread is still working."""
        return self._thread.is_alive() or (self._report is None and self._error is None)

    def _run(self) -> None:
        try:
            report = self._work(self)
        except EditorialError as exc:
            logger.warning("ingest job failed: %s", exc, exc_info=True)
            with self._lock:
                self._error = str(exc)
        except Exception as exc:  # shown to the user as one line; the log keeps the traceback
            logger.exception("ingest job failed unexpectedly")
            first = str(exc).splitlines()[0] if str(exc) else ""
            with self._lock:
                self._error = f"Unexpected error: {type(exc).__name__}: {first}"
        else:
            with self._lock:
                self._report = report

    def snapshot(self) -> JobSnapshot:
        """The progress so far."""
        with self._lock:
            done = self._report is not None or self._error is not None
            return JobSnapshot(
                total=self._total,
                finished=len(self._outcomes),
                active=list(self._active.values()),
                outcomes=list(self._outcomes),
                running=not done,
                report=self._report,
                error=self._error,
            )

    # ------------------------------------------------------------------ callbacks (called from the thread)
    def on_start(self, total_files: int) -> None:
        """Remember the number of files."""
        with self._lock:
            self._total = max(self._total, total_files)

    def on_file_stage(self, name: str, stage: str, done: int = 0, total: int = 0) -> None:
        """Record a file's stage."""
        with self._lock:
            self._active[name] = FileProgress(name, stage, done, total)

    def on_file_done(self, outcome: FileOutcome) -> None:
        """Record a finished file."""
        with self._lock:
            self._active.pop(outcome.name, None)
            self._outcomes.append(outcome)
