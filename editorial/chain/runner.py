"""Run the chain's stages (research → plan → write, or one section again), saving progress so runs resume.

Every run is a ``run`` row. After each stage and each finished section the runner stores what it has in
``Run.state`` (research, plan id, blueprint, numbered evidence, finished sections), so a failed or cancelled
run resumes from the last finished section. A heartbeat thread keeps ``Run.heartbeat_at`` fresh while the run
works; a run whose process died is later found stale and marked failed (its calls stay in the ledger).

Progress reaches the UI through :class:`ChainCallbacks` (no-op defaults); :class:`RunRegistry` runs chains
in background threads for the Streamlit page, which polls typed :class:`~editorial.chain.progress.RunSnapshot` pictures.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Engine

from db.crud import plans as plan_crud
from db.crud import runs as run_crud
from db.crud import usage as usage_crud
from db.models import PlanStatus, RevisionOrigin, RunKind, RunStatus
from db.session import session_scope
from editorial.chain.calls import CallSite, Cancelled, ChatTarget
from editorial.chain.compose import COPY_BUDGET, ModelYield, WritingContext, model_note, trim_quotations
from editorial.chain.liveness import CancelWatch, StoredProgress, TeeCallbacks
from editorial.chain.plan import PlanOutcome, PlanRequest, blueprint_problems, plan_blueprint
from editorial.chain.progress import ChainCallbacks, RunProgress
from editorial.chain.research import MIN_SCORE, EvidenceRegistry, Search, research
from editorial.chain.schemas import (
    MIN_TARGET_WORDS,
    Blueprint,
    Evidence,
    ResearchResult,
    Section,
    WrittenSection,
    default_questions,
)
from editorial.chain.text import count_words
from editorial.chain.write import (
    assemble,
    final_passages,
    front_matter_for,
    replace_section,
    section_sources,
    write_section,
)
from editorial.errors import EditorialError
from editorial.grounding import store as grounding_store
from editorial.grounding.facts import Embed
from editorial.grounding.schemas import GroundednessReport
from editorial.grounding.verify import verify_text
from editorial.grounding.vocabulary import SourceVocabulary
from editorial.usage import CallContext, LedgerHandler, TokenCounter, UsageMetrics, usage_metrics

logger = logging.getLogger(__name__)

HEARTBEAT_S = 15.0


class NoEvidence(EditorialError):
    """Nothing in the collection is relevant enough to ground the post."""


class PlanNotReady(EditorialError):
    """The blueprint cannot be written from as it is."""


class RunRequest(BaseModel):
    """What a run should do; stored in ``Run.params`` so it can resume."""

    kind: RunKind
    topic: str = ""
    collection_id: int | None = None
    audience: str = "developers"
    tone: str = "practical"
    target_words: int = Field(default=1500, ge=MIN_TARGET_WORDS, le=20000)
    questions: list[str] = Field(default_factory=list)
    plan_id: int | None = None
    draft_id: int | None = None
    section_heading: str | None = None
    user_id: int | None = None
    min_score: float = MIN_SCORE
    allow_fallback_write: bool = True


@dataclass
class ChainServices:
    """What the stages need: the database, the models per stage and the collection search."""

    engine: Engine
    planner: ChatTarget
    writer: ChatTarget
    search: Search | None = None
    planner_counter: TokenCounter = field(default_factory=TokenCounter)
    writer_counter: TokenCounter = field(default_factory=TokenCounter)
    heartbeat_s: float = HEARTBEAT_S
    embed: Embed | None = None
    """Sentence embedder for choosing facts (MMR); None chooses them by word overlap."""
    vocabulary: Callable[[], SourceVocabulary] | None = None
    """Loads the collection's vocabulary (every name/number of its sources); None uses the retrieved passages."""


class RunOutcome(BaseModel):
    """How a run ended."""

    run_id: int
    status: RunStatus
    plan_id: int | None = None
    draft_id: int | None = None
    revision_id: int | None = None
    error: str | None = None
    usage: UsageMetrics = Field(default_factory=UsageMetrics)
    is_fallback: bool = False
    notes: list[str] = Field(default_factory=list)
    report: GroundednessReport | None = None
    """The groundedness report of the draft's body (citation numbers as in its References), for a write run."""


# --------------------------------------------------------------------------- creating and resuming runs
def with_defaults(request: RunRequest) -> RunRequest:
    """The request with the default research questions when it has none."""
    if not request.questions and request.kind in (RunKind.PLAN, RunKind.PLAN_AND_WRITE):
        return request.model_copy(update={"questions": default_questions(request.topic)})
    return request


def create_run(engine: Engine, request: RunRequest) -> int:
    """Insert the run row for ``request`` (status running) and return its id."""
    request = with_defaults(request)
    with session_scope(engine) as session:
        run = run_crud.create_run(
            session=session,
            kind=request.kind,
            topic=request.topic,
            collection_id=request.collection_id,
            plan_id=request.plan_id,
            draft_id=request.draft_id,
            params=request.model_dump(mode="json"),
            started_by_id=request.user_id,
        )
        return run.id


def prepare_resume(engine: Engine, run_id: int) -> RunRequest:
    """Set a failed or cancelled run running again; return its request."""
    with session_scope(engine) as session:
        run = run_crud.get_run(session=session, run_id=run_id)
        if run is None:
            raise EditorialError(f"Run {run_id} does not exist.")
        if run.status == RunStatus.SUCCEEDED:
            raise EditorialError(f"Run {run_id} already succeeded; there is nothing to resume.")
        if run.status == RunStatus.RUNNING:
            raise EditorialError(f"Run {run_id} is still running.")
        run_crud.restart_run(session=session, run_id=run_id)
        return RunRequest.model_validate(run.params)


# --------------------------------------------------------------------------- executing
class _Heartbeat:
    def __init__(self, engine: Engine, run_id: int, interval: float):
        self.engine, self.run_id, self.interval = engine, run_id, interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def _beat(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                with session_scope(self.engine) as session:
                    run_crud.heartbeat(session=session, run_id=self.run_id)
            except Exception:  # a busy database skips one beat; the next one retries
                logger.warning("heartbeat of run %s failed", self.run_id, exc_info=True)
                continue

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()


class _Run:
    """One execution of a run: state, ledger and stages."""

    def __init__(
        self,
        run_id: int,
        request: RunRequest,
        services: ChainServices,
        callbacks: ChainCallbacks,
        cancel: threading.Event,
    ):
        self.run_id, self.request, self.services, self.callbacks = run_id, request, services, callbacks
        engine = services.engine
        with session_scope(engine) as session:
            run = run_crud.get_run(session=session, run_id=run_id)
            self.state: dict[str, Any] = dict(run.state or {})
            self.plan_id: int | None = run.plan_id or request.plan_id
            self.draft_id: int | None = run.draft_id or request.draft_id
        self.notes: list[str] = list(self.state.get("notes", []))
        self.is_fallback = bool(self.state.get("is_fallback", False))
        saved = self.state.get("report")
        self.report: GroundednessReport | None = GroundednessReport.model_validate(saved) if saved else None

        def site_for(counter: TokenCounter) -> CallSite:
            context = CallContext(run_id=run_id, draft_id=self.draft_id, collection_id=request.collection_id)
            return CallSite(LedgerHandler(engine, context, counter, on_recorded=callbacks.on_call), cancel)

        self.planner_site = site_for(services.planner_counter)
        self.writer_site = site_for(services.writer_counter)

    def save(self, stage: str, **ids: int | None) -> None:
        self.state["notes"] = self.notes
        self.state["is_fallback"] = self.is_fallback
        with session_scope(self.services.engine) as session:
            run_crud.save_progress(session=session, run_id=self.run_id, stage=stage, state=self.state, **ids)

    # -- stages
    def research_and_plan(self) -> None:
        request = self.request
        if self.state.get("research") is None:
            self.callbacks.on_stage_start("research", f"{len(request.questions)} questions")
            if self.services.search is None:
                raise NoEvidence("No collection was chosen, so there is nothing to research.")
            found = research(self.services.search, request.questions, min_score=request.min_score)
            self.state["research"] = found.model_dump(mode="json")
            self.state["registry"] = [e.model_dump(mode="json") for e in found.evidence]
            self.save("research")
        found = ResearchResult.model_validate(self.state["research"])
        self.callbacks.on_research(found)
        if not found.grounded:
            raise NoEvidence(
                f"Nothing in the collection is relevant to these questions (no passage scored {request.min_score:.2f} "
                "or more); add sources or reword the questions."
            )
        for index in found.unanswered:
            self.notes.append(f"No relevant evidence for question {index + 1}: {found.questions[index]}")
        if self.state.get("plan_done"):
            return
        self.callbacks.on_stage_start("plan", "blueprint")
        outcome: PlanOutcome = plan_blueprint(
            self.services.planner,
            PlanRequest(
                topic=request.topic, audience=request.audience, tone=request.tone, target_words=request.target_words
            ),
            found,
            site=self.planner_site,
            vocabulary=self.collection_vocabulary(),
        )
        self.is_fallback = outcome.is_fallback
        self.notes.extend(outcome.notes)
        with session_scope(self.services.engine) as session:
            plan = plan_crud.create_plan(
                session=session,
                topic=request.topic,
                collection_id=request.collection_id,
                audience=request.audience,
                tone=request.tone,
                target_words=request.target_words,
                questions=request.questions,
                evidence=[e.model_dump(mode="json") for e in found.evidence],
                blueprint=outcome.blueprint.model_dump(mode="json"),
                is_fallback=outcome.is_fallback,
                created_by_id=request.user_id,
            )
            self.plan_id = plan.id
        self.state["plan_done"] = True
        self.save("plan", plan_id=self.plan_id)
        self.callbacks.on_plan(self.plan_id, outcome.blueprint, outcome.is_fallback, list(self.notes))

    def load_blueprint(self) -> tuple[Blueprint, list[Evidence]]:
        if self.state.get("blueprint") is not None:
            evidence = [Evidence.model_validate(e) for e in self.state.get("registry", [])]
            return Blueprint.model_validate(self.state["blueprint"]), evidence
        if self.plan_id is None:
            raise PlanNotReady("There is no plan to write from: make or choose a plan first.")
        with session_scope(self.services.engine) as session:
            plan = plan_crud.get_plan(session=session, plan_id=self.plan_id)
            if plan is None:
                raise PlanNotReady(f"Plan {self.plan_id} no longer exists.")
            blueprint = Blueprint.model_validate(plan.blueprint)
            evidence = [Evidence.model_validate(e) for e in plan.evidence]
            self.is_fallback = plan.is_fallback
            if plan.status != PlanStatus.APPROVED:
                plan_crud.update_plan(session=session, plan_id=plan.id, status=PlanStatus.APPROVED)
        problems = blueprint_problems(blueprint)
        if problems:
            raise PlanNotReady(f"The plan cannot be written yet: {problems[0]}")
        if self.is_fallback and not self.request.allow_fallback_write:
            raise PlanNotReady("The plan is a fallback outline; review and approve it before writing.")
        self.state["blueprint"] = blueprint.model_dump(mode="json")
        self.state.setdefault("registry", [e.model_dump(mode="json") for e in evidence])
        return blueprint, [Evidence.model_validate(e) for e in self.state["registry"]]

    def collection_vocabulary(self) -> SourceVocabulary | None:
        """Every name/number of the collection's sources (None without a loader or when the store fails)."""
        if self.services.vocabulary is None:
            return None
        try:
            return self.services.vocabulary()
        except EditorialError as exc:  # an unreachable store: the retrieved passages still bound the terms
            self.notes.append(f"The collection's vocabulary could not be read ({exc}); using the passages.")
            return None

    def widener(self, section: Section, registry: EvidenceRegistry) -> Callable[[int], list[Evidence]] | None:
        """``limit -> passages`` further down ``section``'s retrieval (None without a search)."""
        search = self.services.search
        if search is None:
            return None
        return lambda limit: section_sources(section, registry, search, limit=limit)

    def writing_context(self, evidence: list[Evidence], written: list[WrittenSection]) -> WritingContext:
        """The post-wide memory of the writer: sources' vocabulary, the verbatim budget, sentences written."""
        vocabulary = self.collection_vocabulary()
        context = WritingContext.build(
            [e.text for e in evidence],
            vocabulary=vocabulary,
            embed=self.services.embed,
            written=[w.text for w in written],
        )
        if vocabulary is not None:
            context.add_sources(e.text for e in evidence)
        return context

    def write(self) -> None:
        blueprint, evidence = self.load_blueprint()
        registry = EvidenceRegistry(evidence)
        done = [WrittenSection.model_validate(s) for s in self.state.get("sections", [])]
        total = len(blueprint.sections)
        context = self.writing_context(evidence, done)
        context.planned_words = blueprint.budget_total
        yields = self.state.get("writer_yield", {})
        context.first_edits = ModelYield(**yields.get("first", {}))
        context.retries = ModelYield(**yields.get("retry", {}))
        self.callbacks.on_stage_start("write", f"{total} sections")
        for index, written in enumerate(done):
            self.callbacks.on_section_done(index, total, written)
        for index in range(len(done), total):
            section = blueprint.sections[index]
            self.callbacks.on_section_start(index, total, section.heading)
            sources = section_sources(section, registry, self.services.search)
            written = write_section(
                self.services.writer,
                blueprint,
                index,
                sources,
                site=self.writer_site,
                tone=self.request.tone,
                on_token=self.callbacks.on_token,
                context=context,
                widen=self.widener(section, registry),
                post_topic=self.request.topic,
            )
            done.append(written)
            self.notes.extend(written.notes)
            self.state["sections"] = [s.model_dump(mode="json") for s in done]
            self.state["registry"] = [e.model_dump(mode="json") for e in registry.items]
            self.state["writer_yield"] = {"first": asdict(context.first_edits), "retry": asdict(context.retries)}
            self.save(f"section {index + 1}")
            self.callbacks.on_section_done(index, total, written)
        self.callbacks.on_stage_start("save", "draft")
        note = model_note(context.first_edits, context.retries)
        if note:
            self.notes.append(note)
        texts, removed = trim_quotations([w.text for w in done], context.shingles, share=COPY_BUDGET)
        if removed:
            done = [w.model_copy(update={"text": t, "words": count_words(t)}) for w, t in zip(done, texts, strict=True)]
            self.notes.append(
                f"{removed} quotation(s) left out: copied words may make up at most 25% of a post, and the writer "
                f"keeps them under {COPY_BUDGET:.0%}."
            )
        if not any(w.text.strip() for w in done):
            raise NoEvidence("No sentence could be verified against the sources, so no draft was written.")
        body, _references = assemble(blueprint, done, registry.by_number())
        words = count_words(body)
        if words < blueprint.budget_total * 0.8:
            self.notes.append(
                f"The post has {words} words of the {blueprint.budget_total} planned: the sources supported no more, "
                "and nothing unsupported was added."
            )
        self.report = verify_text(body, final_passages(done, registry.by_number()), vocabulary=context.vocabulary)
        self.state["report"] = self.report.model_dump(mode="json")
        self.create_draft(blueprint, body)

    def create_draft(self, blueprint: Blueprint, body: str) -> None:
        from editorial.drafts import create_generated_draft

        with session_scope(self.services.engine) as session:
            draft = create_generated_draft(
                session=session,
                title=blueprint.title,
                front_matter=front_matter_for(blueprint),
                body=body,
                author_id=self.request.user_id,
                collection_id=self.request.collection_id,
                plan_id=self.plan_id,
                note=f"Written by run {self.run_id}" + (" from a fallback outline" if self.is_fallback else ""),
                report=self.report,
            )
            self.draft_id = draft.id
            usage_crud.assign_draft(session=session, run_id=self.run_id, draft_id=draft.id)
            if self.plan_id is not None:  # a plan made by an earlier run: its tokens count for this draft too
                usage_crud.assign_plan_calls(session=session, plan_id=self.plan_id, draft_id=draft.id)
        self.state["draft_id"] = self.draft_id
        self.save("done", draft_id=self.draft_id)

    def regenerate(self) -> int:
        from db.crud import drafts as draft_crud
        from editorial.drafts import save_revision

        request = self.request
        heading = request.section_heading or ""
        with session_scope(self.services.engine) as session:
            draft = draft_crud.get_draft(session=session, draft_id=self.draft_id) if self.draft_id else None
            revision = draft_crud.current_revision(session=session, draft=draft) if draft else None
            if draft is None or revision is None:
                raise EditorialError(f"Draft {self.draft_id} does not exist or has no text.")
            base_version, body, front_matter = draft.version, revision.body, dict(revision.front_matter)
            plan = plan_crud.get_plan(session=session, plan_id=draft.plan_id) if draft.plan_id else None
            blueprint = Blueprint.model_validate(plan.blueprint) if plan and plan.blueprint else None
            evidence = [Evidence.model_validate(e) for e in plan.evidence] if plan else []
            old_passages = grounding_store.draft_passages(session=session, draft_id=draft.id)
        for ctx_site in (self.planner_site, self.writer_site):
            ctx_site.ledger.context.draft_id = self.draft_id
        section = next((s for s in (blueprint.sections if blueprint else []) if s.heading == heading), None)
        if section is None:
            words = max(80, _section_words(body, heading))
            section = Section(heading=heading, key_points=[heading], words=min(words, 5000))
        if blueprint is None:
            blueprint = Blueprint(title_candidates=[front_matter.get("title") or heading], sections=[section])
        else:
            blueprint = blueprint.model_copy(
                update={"sections": [section if s.heading == heading else s for s in blueprint.sections]}
            )
        index = next(i for i, s in enumerate(blueprint.sections) if s.heading == heading)
        registry = EvidenceRegistry(evidence)
        self.callbacks.on_stage_start("write", f"section '{heading}'")
        self.callbacks.on_section_start(index, len(blueprint.sections), heading)
        sources = section_sources(section, registry, self.services.search)
        rest = re.sub(rf"(?ms)^## {re.escape(heading)}\s*$.*?(?=^## |\Z)", "", body)
        others = [WrittenSection(heading="", text=rest, budget=section.words, words=0)]
        regen_context = self.writing_context(evidence, others)
        regen_context.add_sources(p.text for p in old_passages.values())  # what the other sections cite
        regen_context.planned_words = regen_context.total_words + section.words
        written = write_section(
            self.services.writer,
            blueprint,
            index,
            sources,
            site=self.writer_site,
            tone=request.tone,
            on_token=self.callbacks.on_token,
            context=regen_context,
            widen=self.widener(section, registry),
            post_topic=self.request.topic,
        )
        self.notes.extend(written.notes)
        if not written.text.strip():
            raise EditorialError(
                f"No sentence of '{heading}' could be verified against the sources; the draft is unchanged."
            )
        self.callbacks.on_section_done(index, len(blueprint.sections), written)
        try:
            new_body, _refs, passages = replace_section(body, heading, written.text, registry.by_number(), old_passages)
        except LookupError as exc:
            raise EditorialError(f"The draft has no section '{heading}' any more.") from exc
        self.report = verify_text(new_body, passages, vocabulary=regen_context.vocabulary)
        self.state["report"] = self.report.model_dump(mode="json")
        with session_scope(self.services.engine) as session:
            revision = save_revision(
                session=session,
                draft_id=self.draft_id,
                base_version=base_version,
                front_matter=front_matter,
                body=new_body,
                author_id=request.user_id,
                origin=RevisionOrigin.GENERATED,
                note=f"Section '{heading}' regenerated by run {self.run_id}",
                report=self.report,
            )
            revision_id = revision.id
        self.save("done", draft_id=self.draft_id)
        return revision_id


def _section_words(body: str, heading: str) -> int:
    match = re.search(rf"(?ms)^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", body)
    return count_words(match.group(1)) if match else 200


def execute(
    run_id: int,
    request: RunRequest,
    services: ChainServices,
    callbacks: ChainCallbacks | None = None,
    cancel: threading.Event | None = None,
) -> RunOutcome:
    """Run (or resume) run ``run_id``; never raises for a failed run — the outcome says how it ended."""
    callbacks = TeeCallbacks(StoredProgress(services.engine, run_id), callbacks or ChainCallbacks())
    cancel = cancel or threading.Event()
    request = with_defaults(request)
    status, error, revision_id = RunStatus.SUCCEEDED, None, None
    work: _Run | None = None
    with _Heartbeat(services.engine, run_id, services.heartbeat_s), CancelWatch(services.engine, run_id, cancel):
        try:
            work = _Run(run_id, request, services, callbacks, cancel)
            if request.kind in (RunKind.PLAN, RunKind.PLAN_AND_WRITE):
                work.research_and_plan()
            if request.kind in (RunKind.WRITE, RunKind.PLAN_AND_WRITE):
                work.write()
            if request.kind == RunKind.REGENERATE_SECTION:
                revision_id = work.regenerate()
        except Cancelled as exc:
            status, error = RunStatus.CANCELLED, str(exc)
        except EditorialError as exc:
            logger.warning("run %s failed: %s", run_id, exc, exc_info=True)
            status, error = RunStatus.FAILED, str(exc)
        except Exception as exc:
            logger.exception("run %s failed unexpectedly", run_id)
            first = str(exc).splitlines()[0][:200] if str(exc) else ""
            status, error = RunStatus.FAILED, f"Unexpected error: {type(exc).__name__}: {first}"
        with session_scope(services.engine) as session:
            run_crud.finish_run(session=session, run_id=run_id, status=status, error=error)
    outcome = RunOutcome(
        run_id=run_id,
        status=status,
        plan_id=work.plan_id if work else request.plan_id,
        draft_id=work.draft_id if work else request.draft_id,
        revision_id=revision_id,
        error=error,
        usage=usage_metrics(services.engine, run_id=run_id),
        is_fallback=work.is_fallback if work else False,
        notes=list(dict.fromkeys(work.notes)) if work else [],
        report=work.report if work else None,
    )
    callbacks.on_finished(outcome)
    return outcome


def run_chain(
    request: RunRequest,
    services: ChainServices,
    callbacks: ChainCallbacks | None = None,
    cancel: threading.Event | None = None,
) -> RunOutcome:
    """Create a run for ``request`` and execute it in this thread."""
    return execute(create_run(services.engine, request), request, services, callbacks, cancel)


# --------------------------------------------------------------------------- background runs for the UI
@dataclass
class RunHandle:
    """A chain running in a background thread."""

    run_id: int
    thread: threading.Thread
    cancel: threading.Event
    progress: RunProgress

    @property
    def done(self) -> bool:
        """True once the thread has finished."""
        return not self.thread.is_alive()


class RunRegistry:
    """Process-wide background runs (the page keeps one in ``st.cache_resource``)."""

    def __init__(self, thread_setup: Callable[[], None] | None = None):
        self._runs: dict[int, RunHandle] = {}
        self._lock = threading.Lock()
        self.thread_setup = thread_setup

    def start(self, request: RunRequest, services: ChainServices, *, resume_run_id: int | None = None) -> RunHandle:
        """Create (or resume) a run and execute it in a new thread; return its handle at once."""
        if resume_run_id is None:
            run_id = create_run(services.engine, request)
        else:
            existing = self.get(resume_run_id)
            if existing is not None and not existing.done:
                raise EditorialError(f"Run {resume_run_id} is still running.")
            request = prepare_resume(services.engine, resume_run_id)
            run_id = resume_run_id
        progress = RunProgress(run_id)
        cancel = threading.Event()

        def target() -> None:
            if self.thread_setup is not None:
                self.thread_setup()
            execute(run_id, request, services, progress, cancel)

        thread = threading.Thread(target=target, name=f"chain-run-{run_id}", daemon=True)
        handle = RunHandle(run_id, thread, cancel, progress)
        with self._lock:
            self._runs[run_id] = handle
        thread.start()
        return handle

    def get(self, run_id: int) -> RunHandle | None:
        """The handle of a run started in this process, or None."""
        with self._lock:
            return self._runs.get(run_id)

    def cancel(self, run_id: int) -> bool:
        """Ask a run to stop after the current token; True if it was running here."""
        handle = self.get(run_id)
        if handle is None or handle.done:
            return False
        handle.cancel.set()
        return True

    remote = False
    """False: runs work in this process's threads (a queue-backed registry says True)."""

    def active_ids(self) -> list[int]:
        """Runs still working in this process."""
        with self._lock:
            return [run_id for run_id, handle in self._runs.items() if not handle.done]


def stale_runs_report(
    engine: Engine, *, repair: bool, stale_after: timedelta = run_crud.STALE_AFTER
) -> tuple[bool, str]:
    """For ``doctor``: runs left ``running`` by a process that died (``repair`` marks them failed, resumable)."""
    with session_scope(engine) as session:
        if repair:
            fixed = run_crud.mark_stale_runs(session=session, stale_after=stale_after)
            return True, (f"{len(fixed)} interrupted run(s) marked failed; they can resume" if fixed else "none stale")
        stale = run_crud.stale_run_ids(session=session, stale_after=stale_after)
    if stale:
        ids = ", ".join(map(str, stale[:5]))
        return False, f"{len(stale)} run(s) were interrupted mid-way (ids {ids}); doctor --repair marks them failed"
    return True, "no interrupted runs"
