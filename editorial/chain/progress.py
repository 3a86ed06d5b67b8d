"""What a run reports while it works: the callback interface, a thread-safe progress picture, typed snapshots.

:class:`RunProgress` is filled by the runner's thread; a page (any session of the process, through the
process-wide ``RunRegistry``) reads it as a frozen :class:`RunSnapshot`. A run not running in this
process is pictured from its stored row with :meth:`RunSnapshot.from_stored` (finished sections only).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from db.models import Run, RunStatus
from editorial.chain.schemas import Blueprint, ResearchResult, WrittenSection

if TYPE_CHECKING:
    from editorial.chain.runner import RunOutcome


class ChainCallbacks:
    """Progress of a run, for pages and the CLI; every method is a no-op here."""

    def on_stage_start(self, stage: str, detail: str = "") -> None:
        """A stage (research, plan, write, save) begins."""

    def on_research(self, result: ResearchResult) -> None:
        """Evidence was found (numbered, with sources)."""

    def on_plan(self, plan_id: int, blueprint: Blueprint, is_fallback: bool, notes: list[str]) -> None:
        """The blueprint was made and stored."""

    def on_section_start(self, index: int, total: int, heading: str) -> None:
        """Section ``index`` (0-based) of ``total`` begins."""

    def on_token(self, text: str) -> None:
        """Streamed text of the current section."""

    def on_section_done(self, index: int, total: int, section: WrittenSection) -> None:
        """A section is finished (also called for sections restored on resume)."""

    def on_call(self, row: dict[str, Any]) -> None:
        """A model call was stored in the ledger."""

    def on_finished(self, outcome: RunOutcome) -> None:
        """The run ended (any status)."""


@dataclass(frozen=True)
class PlanMade:
    """The plan a run produced."""

    plan_id: int
    blueprint: Blueprint
    is_fallback: bool
    notes: tuple[str, ...]


@dataclass(frozen=True)
class RunSnapshot:
    """A consistent picture of one run for one render."""

    run_id: int
    stage: str
    detail: str = ""
    section_index: int = -1
    section_total: int = 0
    heading: str = ""
    streamed: str = ""
    sections: tuple[WrittenSection, ...] = ()
    research: ResearchResult | None = None
    plan: PlanMade | None = None
    calls: tuple[dict[str, Any], ...] = ()
    outcome: RunOutcome | None = None
    live: bool = True
    """True when the picture comes from the thread doing the work (streamed text included)."""
    stored_calls: int = 0
    stored_tokens: int = 0
    """Calls and tokens from the ledger, for a picture read from the database."""
    worker: str = ""

    @property
    def running(self) -> bool:
        """Whether the run is still working."""
        return self.outcome is None

    @property
    def tokens(self) -> int:
        """Tokens spent by the calls seen so far."""
        return sum(int(call.get("total_tokens", 0) or 0) for call in self.calls) or self.stored_tokens

    @property
    def call_count(self) -> int:
        """Model calls seen so far."""
        return len(self.calls) or self.stored_calls

    @property
    def fraction(self) -> float:
        """Share of sections finished (0 before writing starts)."""
        return min(1.0, len(self.sections) / self.section_total) if self.section_total else 0.0

    @property
    def label(self) -> str:
        """One line: which section or stage the run is in."""
        if self.section_total:
            current = min(len(self.sections) + 1, self.section_total)
            return f"Section {current} of {self.section_total}: {self.heading}"
        return f"{self.stage.capitalize()} … {self.detail}".rstrip(" …")

    @classmethod
    def from_stored(cls, run: Run, *, calls: int = 0, tokens: int = 0) -> RunSnapshot:
        """The picture of a run from its row: stage, finished sections, the section being written so far.

        ``calls`` and ``tokens`` are the run's ledger totals (the row does not hold them).
        """
        state = dict(run.state or {})
        sections = tuple(WrittenSection.model_validate(s) for s in state.get("sections", []))
        blueprint = state.get("blueprint") or {}
        total = len(blueprint.get("sections", [])) if isinstance(blueprint, dict) else 0
        upcoming = ""
        if total and len(sections) < total:
            upcoming = str(blueprint["sections"][len(sections)].get("heading", ""))
        return cls(
            run_id=run.id,
            stage=run.stage or ("finished" if run.status != RunStatus.RUNNING else "starting"),
            section_index=len(sections) - 1,
            section_total=total,
            heading=upcoming,
            sections=sections,
            streamed=run.live_text or "" if run.status == RunStatus.RUNNING else "",
            live=False,
            stored_calls=calls,
            stored_tokens=tokens,
            worker=run.worker or "",
        )


class RunProgress(ChainCallbacks):
    """A thread-safe picture of a running chain that a page can poll."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self._lock = threading.Lock()
        self.stage = "starting"
        self.detail = ""
        self.section_index = -1
        self.section_total = 0
        self.heading = ""
        self.streamed = ""
        self.sections: list[WrittenSection] = []
        self.research: ResearchResult | None = None
        self.plan: PlanMade | None = None
        self.calls: list[dict[str, Any]] = []
        self.outcome: RunOutcome | None = None

    def on_stage_start(self, stage: str, detail: str = "") -> None:  # noqa: D102
        with self._lock:
            self.stage, self.detail = stage, detail

    def on_research(self, result: ResearchResult) -> None:  # noqa: D102
        with self._lock:
            self.research = result

    def on_plan(self, plan_id: int, blueprint: Blueprint, is_fallback: bool, notes: list[str]) -> None:  # noqa: D102
        with self._lock:
            self.plan = PlanMade(plan_id, blueprint, is_fallback, tuple(notes))

    def on_section_start(self, index: int, total: int, heading: str) -> None:  # noqa: D102
        with self._lock:
            self.section_index, self.section_total, self.heading, self.streamed = index, total, heading, ""

    def on_token(self, text: str) -> None:  # noqa: D102
        with self._lock:
            self.streamed += text

    def on_section_done(self, index: int, total: int, section: WrittenSection) -> None:  # noqa: D102
        with self._lock:
            self.sections = [s for s in self.sections if s.heading != section.heading] + [section]
            self.section_index, self.section_total, self.streamed = index, total, ""

    def on_call(self, row: dict[str, Any]) -> None:  # noqa: D102
        with self._lock:
            self.calls.append(dict(row))

    def on_finished(self, outcome: RunOutcome) -> None:  # noqa: D102
        with self._lock:
            self.outcome = outcome

    def snapshot(self) -> RunSnapshot:
        """A consistent, typed copy of the progress for one render."""
        with self._lock:
            return RunSnapshot(
                run_id=self.run_id,
                stage=self.stage,
                detail=self.detail,
                section_index=self.section_index,
                section_total=self.section_total,
                heading=self.heading,
                streamed=self.streamed,
                sections=tuple(self.sections),
                research=self.research,
                plan=self.plan,
                calls=tuple(self.calls),
                outcome=self.outcome,
            )
