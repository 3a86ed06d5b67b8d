"""Plan & Write under AppTest: plan, edit, approve and write, fallback label, preflight errors, regeneration."""

from __future__ import annotations

import pytest
from sqlmodel import select

from db.crud import plans as plan_crud
from db.crud.sources import create_collection
from db.models import Draft, LLMCall, Plan, PlanStatus, Revision, RevisionOrigin, Run, RunStatus
from db.session import session_scope
from editorial.chain.calls import ChatTarget
from editorial.chain.runner import ChainServices
from editorial.datastore import open_database
from editorial.settings import get_settings
from pages.ui import resources
from tests.pages.helpers import open_page
from tests.timing import scaled, wait_until
from tests.unit.chain_fakes import RecordingChatModel, fake_search, good_responder

PAGE = "pages/plan_write.py"


@pytest.fixture
def fake_chain(monkeypatch):
    """Fake models and search behind the page's services (remote endpoints are still preflighted)."""
    state = {"responder": good_responder, "models": []}

    def chain_services(current, *, chroma_name):
        from editorial.chain.models import preflight

        preflight(current)
        model = RecordingChatModel(responder=state["responder"])
        state["models"].append(model)
        engine = open_database(get_settings())
        return ChainServices(
            engine=engine,
            planner=ChatTarget(model, "embedded", "fake-planner"),
            writer=ChatTarget(model, "embedded", "fake-writer"),
            search=fake_search(),
        )

    monkeypatch.setattr(resources, "chain_services", chain_services)
    engine = open_database(get_settings())
    with session_scope(engine) as session:
        state["collection_id"] = create_collection(session=session, name="Docs", chroma_name="ed-docs-1").id
    return state


def wait_for_runs(limit_s: float = 30) -> None:
    registry = resources.run_registry()
    wait_until(lambda: not registry.active_ids(), timeout=scaled(limit_s), what="the page's runs (fake models) to end")


def plan_from_page(at):
    at.text_input(key="pw_topic").input("retrieval for documentation").run()
    at.number_input(key="pw_words").set_value(600).run()
    at.button(key="pw_plan").click().run()
    shown = [e.value for e in [*at.caption, *at.success, *at.info]]
    assert any(text.startswith("Run ") for text in shown), shown  # the progress panel appears at once
    wait_for_runs()
    at.run()
    at.run()
    return at


def test_plan_edit_approve_and_write(fake_chain):
    at = open_page(PAGE)
    assert not at.exception
    assert [q.value for q in at.text_input if q.key and q.key.startswith("pw_q_")][:1] == [
        "What are the key concepts of the topic?"
    ]
    plan_from_page(at)
    assert not at.exception
    with session_scope(open_database(get_settings())) as session:
        plan = session.exec(select(Plan)).one()
    headings = [w.value for w in at.text_input if w.key and w.key.startswith("pw_heading_")]
    assert headings[:2] == ["Introduction", "Why Chunk Size Matters"]
    assert plan.blueprint["sections"][1]["heading"] == "Why Chunk Size Matters"

    # Edit: rename the second section, move the third one up, save, approve and write.
    second = [w for w in at.text_input if w.key and w.key.startswith("pw_heading_")][1]
    second.input("Chunking, Edited").run()
    up_buttons = [b for b in at.button if b.key and b.key.startswith("pw_up_")]
    up_buttons[2].click().run()
    headings = [w.value for w in at.text_input if w.key and w.key.startswith("pw_heading_")]
    assert headings[1:3] == ["Embedding Models Compared", "Chunking, Edited"]
    at.button(key="pw_write").click().run()
    wait_for_runs()
    at.run()
    assert not at.exception
    with session_scope(open_database(get_settings())) as session:
        plan = session.get(Plan, plan.id)
        draft = session.exec(select(Draft)).one()
        revision = session.exec(select(Revision).where(Revision.draft_id == draft.id)).one()
        calls = session.exec(select(LLMCall)).all()
    assert plan.status == PlanStatus.APPROVED
    assert "## Embedding Models Compared" in revision.body and "## Chunking, Edited" in revision.body
    assert revision.body.index("Embedding Models Compared") < revision.body.index("Chunking, Edited")
    assert "## References" in revision.body
    assert {c.draft_id for c in calls if c.stage.startswith("section")} == {draft.id}
    assert any("finished" in s.value for s in at.success)


def test_a_new_plan_replaces_the_one_being_edited_and_plans_can_be_picked(fake_chain):
    at = plan_from_page(open_page(PAGE))
    first = at.selectbox(key="pw_plan_pick").value
    first_headings = [w.value for w in at.text_input if w.key and w.key.startswith("pw_heading_")]
    fake_chain["responder"] = lambda m: (
        "1. Alpha Systems Explained\n2. Beta Tools in Practice\n3. Gamma Results Compared"
        if "section headings" in str(m[-1].content)
        else good_responder(m)
    )
    at.text_input(key="pw_topic").input("a second topic").run()
    at.button(key="pw_plan").click().run()
    wait_for_runs()
    at.run()
    at.run()
    headings = [w.value for w in at.text_input if w.key and w.key.startswith("pw_heading_")]
    assert headings != first_headings and headings[1] != "Why Chunk Size Matters"  # the new plan is the one shown
    assert at.selectbox(key="pw_plan_pick").value == first + 1
    at.selectbox(key="pw_plan_pick").set_value(first).run()
    headings = [w.value for w in at.text_input if w.key and w.key.startswith("pw_heading_")]
    assert headings[1] == "Why Chunk Size Matters"


def test_research_questions_can_be_reworded_removed_and_added(fake_chain):
    at = open_page(PAGE)
    at.text_input(key="pw_topic").input("chunking").run()

    def questions():
        return [w for w in at.text_input if w.label.startswith("Question ")]

    assert [q.value for q in questions()][1] == "What are the first steps with chunking?"
    questions()[0].input("Which chunk size works best?").run()
    next(
        b
        for b in at.button
        if b.key and b.key.startswith("pw_qdel_") and b.key.endswith(questions()[1].key.removeprefix("pw_q_"))
    ).click().run()
    next(b for b in at.button if b.label == "Add a question").click().run()
    questions()[-1].input("How much overlap?").run()
    assert [q.value for q in questions()] == [
        "Which chunk size works best?",
        "What are the main features of chunking?",
        "What are the common use cases of chunking?",
        "How much overlap?",
    ]
    at.button(key="pw_plan").click().run()
    wait_for_runs()
    with session_scope(open_database(get_settings())) as session:
        plan = session.exec(select(Plan)).one()
    assert plan.questions[0] == "Which chunk size works best?" and plan.questions[-1] == "How much overlap?"


def test_fallback_plan_is_labelled(fake_chain):
    fake_chain["responder"] = lambda messages: "Sentences only, no list at all, from a tiny model."
    at = plan_from_page(open_page(PAGE))
    assert not at.exception
    assert any("Fallback outline" in w.value for w in at.warning)


def test_unreachable_writer_endpoint_is_one_line_before_any_work(fake_chain):
    from db.models import Role
    from editorial.endpoints import save_endpoint
    from tests.pages.helpers import ensure_user

    settings = get_settings()
    admin = ensure_user("admin", Role.ADMIN)
    save_endpoint(settings, open_database(settings), actor=admin, name="Dead", backend="openai", model="m",
                  base_url="http://127.0.0.1:9")  # fmt: skip
    at = open_page(PAGE)
    at.text_input(key="pw_topic").input("retrieval").run()
    at.selectbox(key="pw_writer_endpoint").set_value("Dead").run()
    at.button(key="pw_plan").click().run()
    assert not at.exception
    assert any("is not reachable" in e.value for e in at.error)
    assert fake_chain["models"] == []
    with session_scope(open_database(get_settings())) as session:
        assert session.exec(select(Run)).all() == []


def test_bad_budgets_block_writing_and_can_be_fitted(fake_chain):
    at = plan_from_page(open_page(PAGE))
    words = [w for w in at.number_input if w.key and w.key.startswith("pw_words_")]
    words[1].set_value(words[1].value + 300).run()
    assert any("Section budgets sum to" in c.value for c in at.caption)
    assert at.button(key="pw_write").disabled
    next(b for b in at.button if b.label == "Fit budgets to the target").click().run()
    assert not at.button(key="pw_write").disabled
    assert sum(w.value for w in at.number_input if w.key and w.key.startswith("pw_words_")) == 600


def test_regenerate_a_section_from_the_draft(fake_chain):
    at = plan_from_page(open_page(PAGE))
    at.button(key="pw_write").click().run()
    wait_for_runs()
    fake_chain["responder"] = lambda messages: good_responder(messages).replace("indeed", "truly")
    at.run()
    at.selectbox(key="pw_regen_section").set_value("Conclusion").run()
    at.button(key="pw_regen").click().run()
    wait_for_runs()
    at.run()
    assert not at.exception
    with session_scope(open_database(get_settings())) as session:
        revisions = session.exec(select(Revision).order_by(Revision.number)).all()
        runs = session.exec(select(Run)).all()
    assert [r.number for r in revisions] == [1, 2]
    assert revisions[1].origin == RevisionOrigin.GENERATED
    assert "truly" in revisions[1].body.split("## Conclusion")[1] and "truly" not in revisions[0].body
    assert all(r.status == RunStatus.SUCCEEDED for r in runs)


def test_plan_crud_round_trip_shows_in_plan_tab(fake_chain):
    with session_scope(open_database(get_settings())) as session:
        plan_crud.create_plan(
            session=session,
            topic="hand made",
            collection_id=fake_chain["collection_id"],
            blueprint={
                "title_candidates": ["Hand Made"],
                "sections": [{"heading": "Only One", "words": 100}],
                "target_words": 100,
            },
            is_fallback=True,
        )
    at = open_page(PAGE)
    assert not at.exception
    assert "Only One" in [w.value for w in at.text_input if w.key and w.key.startswith("pw_heading_")]
    assert any("1 sections; a post needs 5-7" in c.value for c in at.caption)
