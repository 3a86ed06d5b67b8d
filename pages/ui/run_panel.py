"""Plan & Write's run panel: runs in progress, the live view of one run, and what a finished run left.

The live view reads the process-wide ``RunRegistry`` (any session of this process sees the same run),
so a reload or another tab reattaches to a running run. It polls once a second only while the run
works; when the run ends, one full rerun draws the finished panel, which does not poll.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from sqlalchemy import Engine

from db.crud import runs as run_crud
from db.crud import usage as usage_crud
from db.models import Run, RunStatus, User
from db.session import session_scope
from editorial.chain.liveness import request_cancel
from editorial.chain.progress import RunSnapshot
from editorial.chain.runner import RunRegistry
from editorial.links import DRAFT, PLAN, RUN, may_see_run, run_refusal
from pages.ui import links, resources
from pages.ui.state import Keys

EDITOR_PAGE = "pages/editor.py"


def _get_run(engine: Engine, run_id: int) -> Run | None:
    with session_scope(engine) as session:
        return run_crud.get_run(session=session, run_id=run_id)


def runs_in_progress(engine: Engine, user: User) -> list[Run]:
    """Runs still working that ``user`` may open (their own; everyone's for reviewers and admins)."""
    with session_scope(engine) as session:
        running = run_crud.list_runs(session=session, status=RunStatus.RUNNING, limit=50)
    return [run for run in running if may_see_run(user, run)]


def open_run(run_id: int) -> None:
    """Show ``run_id`` in the panel and put it into the address."""
    st.session_state[Keys.RUN_ID] = run_id
    links.show(RUN, run_id)


def selected_run(engine: Engine, user: User) -> int | None:
    """The run the panel shows: a new ``?run=`` link first, else the session's; refused runs say why."""
    wanted = links.requested(RUN)
    if wanted is not None:
        refusal = run_refusal(user, _get_run(engine, wanted), wanted)
        if refusal:
            st.error(refusal, icon=":material/block:")
            links.show(RUN, None)
        else:
            st.session_state[Keys.RUN_ID] = wanted
    run_id = st.session_state.get(Keys.RUN_ID)
    if run_id is not None:
        links.show(RUN, run_id)
    return run_id


def in_progress_list(engine: Engine, user: User, current: int | None) -> None:
    """One line per run still working, with a button that opens it here."""
    running = [run for run in runs_in_progress(engine, user) if run.id != current]
    if not running:
        return
    st.caption("Runs in progress")
    for run in running:
        left, right = st.columns([5, 1], vertical_alignment="center")
        section = f" · {run.stage}" if run.stage else ""
        left.markdown(f"**Run #{run.id}** · {run.kind.value} · {run.topic or '(no topic)'}{section}")
        right.button("Open", key=f"pw_open_run_{run.id}", on_click=open_run, args=(run.id,))


def snapshot(registry: RunRegistry, run: Run) -> RunSnapshot:
    """The live picture from this process's registry, else the stored one."""
    handle = registry.get(run.id)
    if handle is not None:
        return handle.progress.snapshot()
    return RunSnapshot.from_stored(run)


def panel(
    engine: Engine,
    registry: RunRegistry,
    user: User,
    run_id: int,
    *,
    on_resume: Callable[[Run], None],
    on_plan: Callable[[int], None],
) -> None:
    """The run's panel: live progress while it works (polling), its result once it ended (no polling)."""
    run = _get_run(engine, run_id)
    refusal = run_refusal(user, run, run_id)
    if refusal:
        st.error(refusal, icon=":material/block:")
        return
    handle = registry.get(run_id)
    if handle is not None and handle.progress.snapshot().running:
        _live(engine, registry, user, run_id)
        return
    if run.status == RunStatus.RUNNING:  # working in another process (a queue worker, another replica)
        _stored_live(engine, registry, run_id)
        return
    _finished(run, snapshot(registry, run), on_resume=on_resume, on_plan=on_plan)


@st.fragment(run_every=1.0)
def _live(engine: Engine, registry: RunRegistry, user: User, run_id: int) -> None:
    handle = registry.get(run_id)
    snap = handle.progress.snapshot() if handle is not None else None
    if snap is None or not snap.running:
        st.rerun()  # the whole page: the finished panel replaces this polling fragment
    _progress(snap, registry, cancellable=True)


def stored_snapshot(engine: Engine, run: Run) -> RunSnapshot:
    """The picture of a run from the database (its row and its ledger), as any process sees it."""
    with session_scope(engine) as session:
        found = usage_crud.totals(session=session, run_id=run.id)
    return RunSnapshot.from_stored(run, calls=found["requests"], tokens=found["total_tokens"])


@st.fragment(run_every=1.0)
def _stored_live(engine: Engine, registry: RunRegistry, run_id: int) -> None:
    run = _get_run(engine, run_id)
    stale = run is not None and run_crud.is_stale(run, stale_after=resources.settings().run_stale_after)
    if run is None or run.status != RunStatus.RUNNING or stale:
        st.rerun()  # the whole page: it marks a dead run failed and draws the finished panel
    _progress(stored_snapshot(engine, run), registry, cancellable=True, engine=engine)
    if run.stage == run_crud.QUEUED_STAGE:
        st.caption("Waiting for a worker of the task queue.")


def _progress(snap: RunSnapshot, registry: RunRegistry, *, cancellable: bool, engine: Engine | None = None) -> None:
    st.progress(snap.fraction, text=snap.label)
    origin = "" if snap.live else f" (stored progress{', worker ' + snap.worker if snap.worker else ''})"
    st.caption(f"Run {snap.run_id} · {snap.call_count} model calls · {snap.tokens:,} tokens so far{origin}")
    if cancellable and st.button("Cancel", key=f"cancel_{snap.run_id}", icon=":material/stop:"):
        if not registry.cancel(snap.run_id) and engine is not None:
            request_cancel(engine, snap.run_id)
        st.caption("Cancel requested: the run stops after its current step.")
    for section in snap.sections:
        with st.expander(f"✓ {section.heading} ({section.words} words)"):
            st.markdown(section.text)
    if snap.streamed:
        st.markdown(f"**{snap.heading}**")
        st.markdown(snap.streamed)


def _finished(run: Run, snap: RunSnapshot, *, on_resume: Callable[[Run], None], on_plan: Callable[[int], None]) -> None:
    outcome = snap.outcome
    if run.status == RunStatus.SUCCEEDED:
        summary = f" · {outcome.usage.summary()}" if outcome is not None else ""
        st.success(f"Run {run.id} finished{summary}", icon=":material/check_circle:")
        if run.draft_id and run.kind.value != "plan":
            st.page_link(
                EDITOR_PAGE,
                label=f"Open draft {run.draft_id} in the Editor",
                icon=":material/edit:",
                query_params={DRAFT: str(run.draft_id)},
            )
        elif run.plan_id:
            st.info(f"Plan #{run.plan_id} is ready: review and edit it on the Plan tab.", icon=":material/info:")
            opened = st.session_state.setdefault("pw_opened_runs", set())
            if run.id not in opened:  # open the new plan once; the editor may move on
                opened.add(run.id)
                on_plan(run.plan_id)
                links.show(PLAN, run.plan_id)
                st.rerun()
    else:
        st.error(f"Run {run.id} {run.status.value}: {run.error or 'no reason recorded'}", icon=":material/error:")
        if outcome is not None:
            st.caption(f"Kept: {outcome.usage.summary()}")
        if st.button("Resume from the last finished section", key=f"resume_{run.id}", icon=":material/replay:"):
            on_resume(run)
    for note in outcome.notes if outcome is not None else []:
        st.caption(f"Note: {note}")
