"""Plan & Write: research a topic in a collection, edit and approve the blueprint, write it with live progress."""

import uuid

import streamlit as st

from db.crud import drafts as draft_crud
from db.crud import plans as plan_crud
from db.crud import runs as run_crud
from db.crud import sources as source_crud
from db.models import RunKind, RunStatus
from db.session import session_scope
from editorial import endpoints
from editorial.chain.plan import blueprint_problems
from editorial.chain.runner import RunRequest
from editorial.chain.schemas import MIN_SECTION_WORDS, MIN_TARGET_WORDS, Evidence, default_questions
from editorial.chain.write import section_headings
from editorial.errors import EditorialError
from editorial.links import PLAN, may_see_run
from editorial.text import WORDS_PER_MINUTE, read_time_minutes
from editorial.workflow import Action as Permission
from pages.ui import auth, links, plan_form, resources, run_panel
from pages.ui import endpoints as endpoints_ui
from pages.ui.plan_form import KINDS
from pages.ui.state import Keys

user = auth.require(Permission.CREATE_DRAFT)
settings, engine = resources.settings(), resources.engine()
registry = resources.run_registry()
with session_scope(engine) as session:
    run_crud.mark_stale_runs(session=session, stale_after=settings.run_stale_after)
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
        if registry.remote:  # a queue worker builds the models; the choices are checked here and there
            run_settings()
            choices = st.session_state.get(endpoints_ui.RUN_CHOICES)
            run_id = registry.submit(request, chroma_name=chroma_name, choices=choices, resume_run_id=resume_run_id)
        else:
            services = resources.chain_services(run_settings(), chroma_name=chroma_name)
            run_id = registry.start(request, services, resume_run_id=resume_run_id).run_id
    except EditorialError as exc:
        resources.show_error(exc)
        return
    run_panel.open_run(run_id)
    st.rerun()  # show the progress panel (it sits above the tabs) at once


def chroma_name_of(collection_id: int | None) -> str | None:
    return next((c.chroma_name for c in collections if c.id == collection_id), None)


def resume(run) -> None:
    start(RunRequest(kind=run.kind), chroma_name_of(run.collection_id), resume_run_id=run.id)


def open_plan(plan_id: int) -> None:
    if plan_form.load_working_copy(engine, plan_id) is not None:
        st.session_state[Keys.PLAN_ID] = plan_id


# --------------------------------------------------------------------------- page body
current_run = run_panel.selected_run(engine, user)
run_panel.in_progress_list(engine, user, current_run)
if current_run is not None:
    with st.container(border=True):
        run_panel.panel(engine, registry, user, current_run, on_resume=resume, on_plan=open_plan)

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
    linked_plan = links.requested(PLAN)
    if linked_plan is not None:
        with session_scope(engine) as session:
            exists = plan_crud.get_plan(session=session, plan_id=linked_plan) is not None
        if exists:
            open_plan(linked_plan)
        else:
            st.error(f"Plan #{linked_plan} does not exist.", icon=":material/block:")
    work = plan_form.working_copy()
    with session_scope(engine) as session:
        recent = plan_crud.list_plans(session=session, limit=30)
        if work and work["plan_id"] not in {p.id for p in recent}:  # an older plan opened by its link
            recent = [plan_crud.get_plan(session=session, plan_id=work["plan_id"]), *recent]
    if recent:
        labels = {p.id: f"#{p.id} · {p.topic} ({p.status.value})" for p in recent}
        if work and work["plan_id"] in labels and st.session_state.get("pw_plan_pick") != work["plan_id"]:
            st.session_state["pw_plan_pick"] = work["plan_id"]  # the plan being edited (e.g. one just made)
        chosen = st.selectbox(
            "Plan",
            list(labels),
            format_func=labels.get,
            key="pw_plan_pick",
            on_change=lambda: plan_form.load_working_copy(engine, st.session_state["pw_plan_pick"]),
        )
        if not work:
            work = plan_form.load_working_copy(engine, chosen)
        if work:
            links.show(PLAN, work["plan_id"])
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
            "Target words", MIN_TARGET_WORDS, 20000, int(blueprint.get("target_words", 1500)), step=100, key="pw_target"
        )
        cols[2].metric("Read time", f"{read_time_minutes(int(target))} min")
        st.text_input("Angle", blueprint.get("angle", ""), key="pw_angle")
        st.text_input("Value for the reader", blueprint.get("value", ""), key="pw_value")
        numbers = [e.n for e in evidence]
        for index, (uid, section) in enumerate(zip(work["uids"], blueprint["sections"], strict=True)):
            with st.container(border=True):
                head = st.columns([6, 2, 2, 1, 1, 1])
                head[0].text_input(f"Section {index + 1}", section["heading"], key=f"pw_heading_{uid}")
                head[1].number_input(
                    "Words", MIN_SECTION_WORDS, 5000, int(section["words"]), step=10, key=f"pw_words_{uid}"
                )
                head[2].selectbox("Kind", KINDS, index=KINDS.index(section.get("kind", "body")), key=f"pw_kind_{uid}")
                head[3].button("↑", key=f"pw_up_{uid}", on_click=plan_form.move, args=(index, -1), help="Move up")
                head[4].button("↓", key=f"pw_down_{uid}", on_click=plan_form.move, args=(index, 1), help="Move down")
                head[5].button("✕", key=f"pw_del_{uid}", on_click=plan_form.remove, args=(index,), help="Remove")
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
        actions[0].button("Add a section", on_click=plan_form.add_section, icon=":material/add:")
        actions[1].button("Fit budgets to the target", on_click=plan_form.rescale, icon=":material/balance:")
        if actions[2].button("Save plan", icon=":material/save:") and plan_form.save_plan(engine, work):
            st.success("Plan saved.")
        try:
            problems = blueprint_problems(plan_form.collect(work))
        except ValueError:
            problems = []
        for problem in problems:
            st.caption(f"⚠ {problem}")
        write_disabled = bool(problems) or bool(registry.active_ids())
        if actions[3].button("Approve and write", type="primary", disabled=write_disabled, key="pw_write"):
            saved = plan_form.save_plan(engine, work, approve=True)
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
        runs = [r for r in run_crud.list_runs(session=session, limit=60) if may_see_run(user, r)][:30]
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
                resume(next(r for r in resumable if r.id == chosen))
