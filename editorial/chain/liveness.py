"""A run's live state in the database, so any process can watch it and stop it.

:class:`StoredProgress` writes the current stage and the text of the section being written to the ``run``
row (at most every ``interval`` seconds; finished sections and the stage are saved by the runner itself).
:class:`CancelWatch` polls the row's ``cancel_requested`` flag and sets the run's cancel event, so a Cancel
pressed in any app process stops a run working in another process or a queue worker.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from db.crud import runs as run_crud
from db.session import session_scope
from editorial.chain.progress import ChainCallbacks
from editorial.chain.schemas import Blueprint, ResearchResult, WrittenSection

if TYPE_CHECKING:
    from editorial.chain.runner import RunOutcome

logger = logging.getLogger(__name__)

LIVE_INTERVAL_S = 0.5
CANCEL_POLL_S = 1.0
MAX_LIVE_CHARS = 100_000


class StoredProgress(ChainCallbacks):
    """Writes the stage and the current section's streamed text to the run's row, throttled."""

    def __init__(self, engine: Engine, run_id: int, *, interval: float = LIVE_INTERVAL_S):
        self.engine, self.run_id, self.interval = engine, run_id, interval
        self._text = ""
        self._written_at = 0.0
        self._dirty = False

    def _write(self, *, stage: str | None = None, force: bool = False) -> None:
        now = time.monotonic()
        if not force and stage is None and now - self._written_at < self.interval:
            return
        try:
            with session_scope(self.engine) as session:
                live = self._text[-MAX_LIVE_CHARS:] if (self._dirty or force) else None
                run_crud.set_live(session=session, run_id=self.run_id, live_text=live, stage=stage)
            self._written_at, self._dirty = now, False
        except Exception:  # a busy database skips one update; the next token retries
            logger.warning("live progress of run %s not stored", self.run_id, exc_info=True)

    def on_stage_start(self, stage: str, detail: str = "") -> None:  # noqa: D102
        self._write(stage=stage)

    def on_section_start(self, index: int, total: int, heading: str) -> None:  # noqa: D102
        self._text, self._dirty = "", True
        self._write(force=True)

    def on_token(self, text: str) -> None:  # noqa: D102
        self._text += text
        self._dirty = True
        self._write()

    def on_section_done(self, index: int, total: int, section: WrittenSection) -> None:  # noqa: D102
        self._text, self._dirty = "", True
        self._write(force=True)


class TeeCallbacks(ChainCallbacks):
    """Sends every callback to each of ``targets`` in turn."""

    def __init__(self, *targets: ChainCallbacks):
        self.targets = targets

    def on_stage_start(self, stage: str, detail: str = "") -> None:  # noqa: D102
        for target in self.targets:
            target.on_stage_start(stage, detail)

    def on_research(self, result: ResearchResult) -> None:  # noqa: D102
        for target in self.targets:
            target.on_research(result)

    def on_plan(self, plan_id: int, blueprint: Blueprint, is_fallback: bool, notes: list[str]) -> None:  # noqa: D102
        for target in self.targets:
            target.on_plan(plan_id, blueprint, is_fallback, notes)

    def on_section_start(self, index: int, total: int, heading: str) -> None:  # noqa: D102
        for target in self.targets:
            target.on_section_start(index, total, heading)

    def on_token(self, text: str) -> None:  # noqa: D102
        for target in self.targets:
            target.on_token(text)

    def on_section_done(self, index: int, total: int, section: WrittenSection) -> None:  # noqa: D102
        for target in self.targets:
            target.on_section_done(index, total, section)

    def on_call(self, row: dict[str, Any]) -> None:  # noqa: D102
        for target in self.targets:
            target.on_call(row)

    def on_finished(self, outcome: RunOutcome) -> None:  # noqa: D102
        for target in self.targets:
            target.on_finished(outcome)


class CancelWatch:
    """A thread that sets ``cancel`` once the run's ``cancel_requested`` flag is set in the database."""

    def __init__(self, engine: Engine, run_id: int, cancel: threading.Event, *, interval: float = CANCEL_POLL_S):
        self.engine, self.run_id, self.cancel, self.interval = engine, run_id, cancel, interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, name=f"cancel-watch-{run_id}", daemon=True)

    def _watch(self) -> None:
        while not self.stop.wait(self.interval) and not self.cancel.is_set():
            try:
                with session_scope(self.engine) as session:
                    if run_crud.cancel_requested(session=session, run_id=self.run_id):
                        self.cancel.set()
            except Exception:  # a busy database: ask again next time
                logger.warning("cancel flag of run %s not read", self.run_id, exc_info=True)

    def __enter__(self) -> CancelWatch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()


def request_cancel(engine: Engine, run_id: int) -> bool:
    """Ask run ``run_id`` to stop, wherever it works; True if it was running."""
    with session_scope(engine) as session:
        return run_crud.request_cancel(session=session, run_id=run_id)
