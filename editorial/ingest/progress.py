"""What an ingest reports: per-file outcomes, a summary, and callbacks for progress (no-op by default)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Action(StrEnum):
    """What happened to one file."""

    ADDED = "added"
    UPDATED = "updated"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass
class FileOutcome:
    """The result for one file of an upload."""

    name: str
    action: Action
    message: str = ""
    kind: str = ""
    source_id: int | None = None
    chunk_count: int = 0
    chunks_added: int = 0
    chunks_deleted: int = 0
    chunks_skipped: int = 0

    @property
    def line(self) -> str:
        """One line for the command line and the page."""
        if self.action is Action.FAILED:
            return f"{self.name}: {self.message}"
        detail = f"{self.chunk_count} chunks"
        if self.action is Action.UPDATED:
            detail += f", {self.chunks_added} new, {self.chunks_deleted} removed, {self.chunks_skipped} unchanged"
        if self.message:
            detail += f"; {self.message}"
        return f"{self.name} ({detail})"


@dataclass
class IngestReport:
    """Everything one upload did."""

    outcomes: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, action: Action) -> int:
        """How many files ended with ``action``."""
        return sum(1 for outcome in self.outcomes if outcome.action is action)

    @property
    def counts(self) -> dict[str, int]:
        """Files added/updated/skipped/failed and chunks added/deleted/skipped."""
        return {
            "added": self.count(Action.ADDED),
            "updated": self.count(Action.UPDATED),
            "skipped": self.count(Action.SKIPPED),
            "deleted": sum(o.chunks_deleted for o in self.outcomes),
            "failed": self.count(Action.FAILED),
            "chunks_added": sum(o.chunks_added for o in self.outcomes),
            "chunks_skipped": sum(o.chunks_skipped for o in self.outcomes),
        }

    @property
    def failed(self) -> list[FileOutcome]:
        """The outcomes of files that failed."""
        return [outcome for outcome in self.outcomes if outcome.action is Action.FAILED]

    def summary(self) -> str:
        """Files added/updated/skipped/failed, then chunks embedded/deleted/unchanged, then the time."""
        c = self.counts
        return (
            f"{c['added']} added, {c['updated']} updated, {c['skipped']} skipped, {c['failed']} failed"
            f" · chunks: {c['chunks_added']} embedded, {c['deleted']} deleted, {c['chunks_skipped']} unchanged"
            f" · {self.seconds:.1f} s"
        )


class IngestCallbacks:
    """Progress hooks; every method is a no-op, override what you show."""

    def on_start(self, total_files: int) -> None:
        """An upload of ``total_files`` files begins."""

    def on_file_stage(self, name: str, stage: str, done: int = 0, total: int = 0) -> None:
        """``name`` is in ``stage`` ("reading", "waiting", "embedding"), ``done`` of ``total`` steps."""

    def on_file_done(self, outcome: FileOutcome) -> None:
        """A file finished (added, updated, skipped or failed)."""

    def on_finish(self, report: IngestReport) -> None:
        """The whole upload finished."""
