"""Plan & Write: research a topic in a collection, edit and approve the blueprint, write it with live progress."""

import uuid

import streamlit as st

from db.crud import drafts as draft_crud
from db.crud import plans as plan_crud
from db.crud import runs as run_crud
from db.crud import sources as source_crud
from db.models import PlanStatus, RunKind, RunStatus
from db.session import session_scope
from editorial import endpoints
from editorial.chain.plan import blueprint_problems, rescale_budgets
from editorial.chain.runner import RunRequest
from editorial.chain.schemas import Blueprint, Evidence, Section, default_questions
from editorial.chain.write import section_headings
from editorial.errors import EditorialError
from editorial.text import WORDS_PER_MINUTE, read_time_minutes
from editorial.workflow import Action as Permission
from pages.ui import auth, resources
from pages.ui import endpoints as endpoints_ui
from pages.ui.state import Keys

KINDS = ["intro", "body", "conclusion"]

user = auth.require(Permission.CREATE_DRAFT)
settings, engine = resources.settings(), resources.engine()
registry = resources.run_registry()
with session_scope(engine) as session:
    run_crud.mark_stale_runs(session=session)
    collections = source_crud.list_collections(session=session)

st.title("Plan & Write")
st.caption(
    "Research your collection, shape the plan, then write it section by section with citations. "
    "Every model call is counted on the Usage page."
)


# --------------------------------------------------------------------------- helpers
def run_settings():
    """Settings with the saved per-stage models and this run's endpoint choices (checked in editorial/)."""
    return endpoints.run_settings(settings, engine, actor=user, choices=st.session_state.get(endpoints_ui.RUN_CHOICES))


def start(request: RunRequest, chroma_name: str | None, resume_run_id: int | None = None) -> None:
    try:
        services = resources.chain_services(run_settings(), chroma_name=chroma_name)
        handle = registry.start(request, services, resume_run_id=resume_run_id)
    except EditorialError as exc:
        resources.show_error(exc)
        return
    st.session_state[Keys.RUN_ID] = handle.run_id
    st.rerun()  # show the progress panel (it sits above the tabs) at once


def chroma_name_of(collection_id: int | None) -> str | None:
    return next((c.chroma_name for c in collections if c.id == collection_id), None)


def load_working_copy(plan_id: int) -> dict | None:
    with session_scope(engine) as session:
        plan = plan_crud.get_plan(session=session, plan_id=plan_id)
        if plan is None:
            return None
        blueprint = dict(plan.blueprint)
        work = {
            "plan_id": plan.id,
            "collection_id": plan.collection_id,
            "topic": plan.topic,
            "audience": plan.audience,
            "tone": plan.tone,
            "questions": list(plan.questions),
            "evidence": list(plan.evidence),
            "is_fallback": plan.is_fallback,
            "status": plan.status,
            "blueprint": blueprint,
            "uids": [uuid.uuid4().hex[:8] for _ in blueprint.get("sections", [])],
        }
    st.session_state[Keys.PLAN_EDIT] = work
    return work


def section_values(work: dict) -> list[dict]:
    """The sections as currently typed into the widgets."""
    out = []
    for uid, section in zip(work["uids"], work["blueprint"]["sections"], strict=True):
        points = st.session_state.get(f"pw_points_{uid}", "\n".join(section.get("key_points", [])))
        evidence = st.session_state.get(f"pw_evidence_{uid}", section.get("evidence", []))
        out.append(
            {
                "heading": st.session_state.get(f"pw_heading_{uid}", section["heading"]),
                "key_points": [p.strip() for p in points.splitlines() if p.strip()],
                "evidence": list(evidence),
                "words": int(st.session_state.get(f"pw_words_{uid}", section["words"])),
                "kind": st.session_state.get(f"pw_kind_{uid}", section.get("kind", "body")),
            }
        )
    return out


def collect(work: dict) -> Blueprint:
    """A Blueprint from the widgets (raises ValueError with the reason when it is not valid)."""
    blueprint = dict(work["blueprint"])
    titles = st.session_state.get("pw_titles", "\n".join(blueprint["title_candidates"]))
    blueprint.update(
        title_candidates=[t for t in titles.splitlines() if t.strip()],
        description=st.session_state.get("pw_description", blueprint.get("description", "")),
        tags=st.session_state.get("pw_tags", ", ".join(blueprint.get("tags", []))),
        angle=st.session_state.get("pw_angle", blueprint.get("angle", "")),
        value=st.session_state.get("pw_value", blueprint.get("value", "")),
        conclusion=st.session_state.get("pw_conclusion", blueprint.get("conclusion", "")),
        takeaways=[
            t.strip()
            for t in st.session_state.get("pw_takeaways", "\n".join(blueprint.get("takeaways", []))).splitlines()
            if t.strip()
        ],
        target_words=int(st.session_state.get("pw_target", blueprint.get("target_words", 1500))),
        sections=section_values(work),
    )
    return Blueprint.model_validate(blueprint)


def sync(work: dict) -> None:
    """Copy the widgets into the working copy (before sections move)."""
    work["blueprint"]["sections"] = section_values(work)


def move(index: int, step: int) -> None:
    work = st.session_state[Keys.PLAN_EDIT]
    sync(work)
    sections, uids = work["blueprint"]["sections"], work["uids"]
    other = index + step
    if 0 <= other < len(sections):
        sections[index], sections[other] = sections[other], sections[index]
        uids[index], uids[other] = uids[other], uids[index]


def remove(index: int) -> None:
    work = st.session_state[Keys.PLAN_EDIT]
    sync(work)
    del work["blueprint"]["sections"][index]
    del work["uids"][index]


def add_section() -> None:
    work = st.session_state[Keys.PLAN_EDIT]
    sync(work)
    sections = work["blueprint"]["sections"]
    position = max(0, len(sections) - 1)  # before the conclusion
    sections.insert(
        position,
        {"heading": f"New section {len(sections) + 1}", "key_points": [], "words": 200, "evidence": [], "kind": "body"},
    )
    work["uids"].insert(position, uuid.uuid4().hex[:8])


def rescale() -> None:
    work = st.session_state[Keys.PLAN_EDIT]
    sync(work)
    target = int(st.session_state.get("pw_target", work["blueprint"].get("target_words", 1500)))
    sections = [Section.model_validate(s) for s in work["blueprint"]["sections"]]
    rescaled = rescale_budgets(sections, target)
    work["blueprint"]["sections"] = [s.model_dump() for s in rescaled]
    for uid, section in zip(work["uids"], rescaled, strict=True):
        st.session_state[f"pw_words_{uid}"] = section.words


def save_plan(work: dict, approve: bool = False) -> Blueprint | None:
    try:
        blueprint = collect(work)
    except ValueError as exc:
        first = str(exc).splitlines()
        st.error(f"The plan is not valid: {first[-1] if first else exc}", icon=":material/error:")
        return None
    with session_scope(engine) as session:
        plan_crud.update_plan(
            session=session,
            plan_id=work["plan_id"],
            blueprint=blueprint.model_dump(mode="json"),
            target_words=blueprint.target_words,
            status=PlanStatus.APPROVED if approve else None,
        )
    work["blueprint"] = blueprint.model_dump(mode="json")
    return blueprint


# --------------------------------------------------------------------------- the running run
@st.fragment(run_every=1.0)
def run_panel(run_id: int) -> None:
    handle = registry.get(run_id)
    if handle is None:
        with session_scope(engine) as session:
            run = run_crud.get_run(session=session, run_id=run_id)
        if run is not None and run.status != RunStatus.RUNNING:
            st.info(f"Run {run_id} {run.status.value}" + (f": {run.error}" if run.error else "."))
        return
    snap = handle.progress.snapshot()
    outcome = snap["outcome"]
    if outcome is None:
        if snap["section_total"]:
            done = len(snap["sections"])
            st.progress(
                done / snap["section_total"],
                text=f"Section {min(done + 1, snap['section_total'])} of {snap['section_total']}: {snap['heading']}",
            )
        else:
            st.progress(0.0, text=f"{snap['stage'].capitalize()} … {snap['detail']}")
        tokens = sum(c["total_tokens"] for c in snap["calls"])
        st.caption(f"Run {run_id} · {len(snap['calls'])} model calls · {tokens:,} tokens so far")
        if st.button("Cancel", key=f"cancel_{run_id}", icon=":material/stop:"):
            registry.cancel(run_id)
        for section in snap["sections"]:
            with st.expander(f"✓ {section.heading} ({section.words} words)"):
                st.markdown(section.text)
        if snap["streamed"]:
            st.markdown(f"**{snap['heading']}**")
            st.markdown(snap["streamed"])
        return
    if outcome.status == RunStatus.SUCCEEDED:
        st.success(f"Run {run_id} finished · {outcome.usage.summary()}", icon=":material/check_circle:")
        if outcome.draft_id and (outcome.revision_id or snap["stage"] == "save"):
            st.session_state[Keys.DRAFT_ID] = outcome.draft_id
            st.page_link(
                "pages/editor.py", label=f"Open draft {outcome.draft_id} in the Editor", icon=":material/edit:"
            )
        elif outcome.plan_id:
            st.info(f"Plan #{outcome.plan_id} is ready: review and edit it on the Plan tab.", icon=":material/info:")
            if st.session_state.get("pw_opened_run") != run_id:  # open the new plan once; the editor may move on
                st.session_state["pw_opened_run"] = run_id
                load_working_copy(outcome.plan_id)
                st.session_state[Keys.PLAN_ID] = outcome.plan_id
                st.rerun()
    else:
        st.error(f"Run {run_id} {outcome.status.value}: {outcome.error}", icon=":material/error:")
        st.caption(f"Kept: {outcome.usage.summary()}")
        if st.button("Resume from the last finished section", key=f"resume_{run_id}", icon=":material/replay:"):
            request = RunRequest(kind=RunKind.PLAN)
            with session_scope(engine) as session:
                run = run_crud.get_run(session=session, run_id=run_id)
                collection_id = run.collection_id if run else None
            start(request, chroma_name_of(collection_id), resume_run_id=run_id)
    for note in outcome.notes:
        st.caption(f"Note: {note}")


# --------------------------------------------------------------------------- page body
if st.session_state.get(Keys.RUN_ID):
    with st.container(border=True):
        run_panel(st.session_state[Keys.RUN_ID])

new_tab, plan_tab, regen_tab, runs_tab = st.tabs(["New post", "Plan", "Regenerate a section", "Runs"])

with new_tab:
    ready = [c for c in collections]
    if not ready:
        st.info("Create a collection and add sources first (Sources page).", icon=":material/info:")
    else:
        names = {c.id: c.name for c in ready}
        collection_id = st.selectbox(
            "Collection",
            options=list(names),
            format_func=names.get,
            key="pw_collection",
            index=list(names).index(st.session_state[Keys.COLLECTION_ID])
            if st.session_state.get(Keys.COLLECTION_ID) in names
            else 0,
        )
        topic = st.text_input("Topic", key="pw_topic", placeholder="e.g. retrieval-augmented generation")
        left, middle, right = st.columns(3)
        audience = left.text_input("Audience", value="developers", key="pw_audience")
        tone = middle.text_input("Tone", value="practical", key="pw_tone")
        words = right.number_input("Target length (words)", 300, 5000, 1500, step=100, key="pw_words")
        st.caption(f"About {read_time_minutes(int(words))} min read at {WORDS_PER_MINUTE} words per minute.")

        st.markdown("**Research questions**")
        if st.session_state.get("pw_questions_topic") != topic:  # new topic: the default questions for it
            st.session_state["pw_questions_topic"] = topic
            st.session_state["pw_questions"] = [
                {"id": uuid.uuid4().hex[:8], "text": q} for q in default_questions(topic or "the topic")
            ]
        questions = st.session_state["pw_questions"]
        for i, question in enumerate(list(questions)):
            cols = st.columns([10, 1])
            question["text"] = cols[0].text_input(
                f"Question {i + 1}", value=question["text"], key=f"pw_q_{question['id']}"
            )
            if cols[1].button("✕", key=f"pw_qdel_{question['id']}", help="Remove this question"):
                questions.remove(question)
                st.rerun()
        if st.button("Add a question", icon=":material/add:"):
            questions.append({"id": uuid.uuid4().hex[:8], "text": ""})
            st.rerun()

        with st.expander("Models for this run"):
            st.session_state[endpoints_ui.RUN_CHOICES] = endpoints_ui.run_endpoint_picker(engine)

        wanted = [q["text"].strip() for q in questions if q["text"].strip()]
        busy = bool(registry.active_ids())
        left, right = st.columns(2)
        request = RunRequest(
            kind=RunKind.PLAN,
            topic=topic.strip(),
            collection_id=collection_id,
            audience=audience,
            tone=tone,
            target_words=int(words),
            questions=wanted,
            user_id=user.id,
        )
        if left.button("Research and plan", type="primary", disabled=busy or not topic.strip(), key="pw_plan"):
            st.session_state[Keys.COLLECTION_ID] = collection_id
            start(request, chroma_name_of(collection_id))
        if right.button("Plan and write in one go", disabled=busy or not topic.strip(), key="pw_both"):
            start(request.model_copy(update={"kind": RunKind.PLAN_AND_WRITE}), chroma_name_of(collection_id))
        if busy:
            st.caption("A run is in progress; one run at a time keeps the model fast.")


with plan_tab:
    work = st.session_state.get(Keys.PLAN_EDIT)
    with session_scope(engine) as session:
        recent = plan_crud.list_plans(session=session, limit=30)
    if recent:
        labels = {p.id: f"#{p.id} · {p.topic} ({p.status.value})" for p in recent}
        if work and work["plan_id"] in labels and st.session_state.get("pw_plan_pick") != work["plan_id"]:
            st.session_state["pw_plan_pick"] = work["plan_id"]  # the plan being edited (e.g. one just made)
        chosen = st.selectbox(
            "Plan",
            list(labels),
            format_func=labels.get,
            key="pw_plan_pick",
            on_change=lambda: load_working_copy(st.session_state["pw_plan_pick"]),
        )
        if not work:
            work = load_working_copy(chosen)
    if not work:
        st.info("No plan yet: start one on the New post tab.", icon=":material/info:")
    else:
        if work["is_fallback"]:
            st.warning(
                "Fallback outline: the model's plan stayed unusable, so these sections come from the research "
                "questions. Edit them before writing.",
                icon=":material/warning:",
            )
        evidence = [Evidence.model_validate(e) for e in work["evidence"]]
        with st.expander(f"Evidence ({len(evidence)} passages)", expanded=False):
            if not evidence:
                st.warning("Nothing relevant was found in the collection.")
            for index, question in enumerate(work["questions"]):
                found = [e for e in evidence if e.question == index]
                st.markdown(f"**{question}**")
                if not found:
                    st.caption("No relevant evidence found for this question.")
                for item in found:
                    st.markdown(f"[{item.n}] *{item.label()}* (relevance {item.score:.2f}) — {item.text[:300]}")
        blueprint = work["blueprint"]
        st.text_area("Title candidates (the first is used)", "\n".join(blueprint["title_candidates"]), key="pw_titles")
        st.text_input("Description", blueprint.get("description", ""), key="pw_description")
        cols = st.columns(3)
        cols[0].text_input("Tags (up to 4)", ", ".join(blueprint.get("tags", [])), key="pw_tags")
        target = cols[1].number_input(
            "Target words", 100, 20000, int(blueprint.get("target_words", 1500)), step=100, key="pw_target"
        )
        cols[2].metric("Read time", f"{read_time_minutes(int(target))} min")
        st.text_input("Angle", blueprint.get("angle", ""), key="pw_angle")
        st.text_input("Value for the reader", blueprint.get("value", ""), key="pw_value")
        numbers = [e.n for e in evidence]
        for index, (uid, section) in enumerate(zip(work["uids"], blueprint["sections"], strict=True)):
            with st.container(border=True):
                head = st.columns([6, 2, 2, 1, 1, 1])
                head[0].text_input(f"Section {index + 1}", section["heading"], key=f"pw_heading_{uid}")
                head[1].number_input("Words", 40, 5000, int(section["words"]), step=10, key=f"pw_words_{uid}")
                head[2].selectbox("Kind", KINDS, index=KINDS.index(section.get("kind", "body")), key=f"pw_kind_{uid}")
                head[3].button("↑", key=f"pw_up_{uid}", on_click=move, args=(index, -1), help="Move up")
                head[4].button("↓", key=f"pw_down_{uid}", on_click=move, args=(index, 1), help="Move down")
                head[5].button("✕", key=f"pw_del_{uid}", on_click=remove, args=(index,), help="Remove")
                st.text_area(
                    "Key points (one per line)",
                    "\n".join(section.get("key_points", [])),
                    key=f"pw_points_{uid}",
                    height=80,
                )
                st.multiselect(
                    "Evidence",
                    numbers,
                    default=[n for n in section.get("evidence", []) if n in numbers],
                    key=f"pw_evidence_{uid}",
                    format_func=lambda n: f"[{n}]",
                )
        st.text_input("Conclusion", blueprint.get("conclusion", ""), key="pw_conclusion")
        st.text_area("Takeaways (one per line)", "\n".join(blueprint.get("takeaways", [])), key="pw_takeaways")
        actions = st.columns(4)
        actions[0].button("Add a section", on_click=add_section, icon=":material/add:")
        actions[1].button("Fit budgets to the target", on_click=rescale, icon=":material/balance:")
        if actions[2].button("Save plan", icon=":material/save:") and save_plan(work):
            st.success("Plan saved.")
        try:
            problems = blueprint_problems(collect(work))
        except ValueError:
            problems = []
        for problem in problems:
            st.caption(f"⚠ {problem}")
        write_disabled = bool(problems) or bool(registry.active_ids())
        if actions[3].button("Approve and write", type="primary", disabled=write_disabled, key="pw_write"):
            saved = save_plan(work, approve=True)
            if saved is not None:
                start(
                    RunRequest(
                        kind=RunKind.WRITE,
                        topic=work["topic"],
                        collection_id=work["collection_id"],
                        plan_id=work["plan_id"],
                        audience=work["audience"] or "developers",
                        tone=work["tone"] or "practical",
                        target_words=saved.target_words,
                        user_id=user.id,
                    ),
                    chroma_name_of(work["collection_id"]),
                )

with regen_tab:
    with session_scope(engine) as session:
        drafts = draft_crud.list_drafts(session=session, limit=100)
    if not drafts:
        st.info("No drafts yet.", icon=":material/info:")
    else:
        labels = {d.id: f"#{d.id} · {d.title}" for d in drafts}
        draft_id = st.selectbox("Draft", list(labels), format_func=labels.get, key="pw_regen_draft")
        with session_scope(engine) as session:
            draft = draft_crud.get_draft(session=session, draft_id=draft_id)
            revision = draft_crud.current_revision(session=session, draft=draft) if draft else None
        headings = section_headings(revision.body) if revision else []
        if not headings:
            st.info("This draft has no '## ' sections to regenerate.")
        else:
            heading = st.selectbox("Section", headings, key="pw_regen_section")
            if st.button(
                "Regenerate this section", type="primary", disabled=bool(registry.active_ids()), key="pw_regen"
            ):
                start(
                    RunRequest(
                        kind=RunKind.REGENERATE_SECTION,
                        draft_id=draft_id,
                        section_heading=heading,
                        collection_id=draft.collection_id,
                        topic=draft.title,
                        user_id=user.id,
                    ),
                    chroma_name_of(draft.collection_id),
                )

with runs_tab:
    with session_scope(engine) as session:
        runs = run_crud.list_runs(session=session, limit=30)
    if not runs:
        st.caption("No runs yet.")
    else:
        st.dataframe(
            [
                {
                    "run": r.id,
                    "kind": r.kind.value,
                    "status": r.status.value,
                    "topic": r.topic,
                    "stage": r.stage or "",
                    "draft": r.draft_id,
                    "plan": r.plan_id,
                    "started": r.started_at.strftime("%Y-%m-%d %H:%M"),
                    "error": r.error or "",
                }
                for r in runs
            ],
            hide_index=True,
            width="stretch",
        )
        resumable = [r for r in runs if r.status in (RunStatus.FAILED, RunStatus.CANCELLED)]
        if resumable:
            labels = {r.id: f"#{r.id} · {r.kind.value} · {r.topic} ({r.status.value})" for r in resumable}
            chosen = st.selectbox("Resume a run", list(labels), format_func=labels.get, key="pw_resume_pick")
            if st.button("Resume", disabled=bool(registry.active_ids()), key="pw_resume"):
                run = next(r for r in resumable if r.id == chosen)
                start(RunRequest(kind=run.kind), chroma_name_of(run.collection_id), resume_run_id=chosen)
