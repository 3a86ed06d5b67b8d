from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from db.crud import plans as plan_crud
from db.crud import runs as run_crud
from db.crud import usage as usage_crud
from db.crud.sources import create_collection
from db.models import CallStatus, Draft, LLMCall, Plan, Revision, RevisionOrigin, Run, RunKind, RunStatus, utcnow
from db.session import session_scope
from editorial.chain.calls import ChatTarget
from editorial.chain.citations import split_references, verify
from editorial.chain.runner import ChainCallbacks, ChainServices, RunRegistry, RunRequest, run_chain
from editorial.chain.write import section_headings
from editorial.frontmatter import validate_front_matter
from editorial.grounding import store as grounding_store
from tests.unit.chain_fakes import RecordingChatModel, cancel_after, fake_search, good_responder

TOPIC = "retrieval for documentation"


@pytest.fixture
def collection_id(engine):
    with session_scope(engine) as session:
        return create_collection(session=session, name="Docs", chroma_name="ed-docs-1").id


def services(engine, model=None, search=None, writer=None):
    model = model or RecordingChatModel(responder=good_responder)
    return ChainServices(
        engine=engine,
        planner=ChatTarget(model, "embedded", "fake-planner"),
        writer=ChatTarget(writer or model, "embedded", "fake-writer"),
        search=search if search is not None else fake_search(),
    )


def request(collection_id, kind=RunKind.PLAN_AND_WRITE, **extra):
    return RunRequest(kind=kind, topic=TOPIC, collection_id=collection_id, target_words=600, **extra)


class Recorder(ChainCallbacks):
    def __init__(self):
        self.events = []
        self.tokens = []

    def on_stage_start(self, stage, detail=""):
        self.events.append(("stage", stage))

    def on_section_start(self, index, total, heading):
        self.events.append(("section", index, total))

    def on_token(self, text):
        self.tokens.append(text)

    def on_section_done(self, index, total, section):
        self.events.append(("done", index, section.heading))


def final_sections(engine, run_id):
    with session_scope(engine) as session:
        return session.get(Run, run_id).state["sections"]


def _draft(engine, draft_id):
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        revision = session.exec(
            select(Revision).where(Revision.draft_id == draft_id, Revision.number == draft.version)
        ).one()
        return draft, revision


def test_plan_and_write_makes_a_cited_draft_and_a_complete_ledger(engine, collection_id):
    recorder = Recorder()
    outcome = run_chain(request(collection_id), services(engine), recorder)
    assert outcome.status == RunStatus.SUCCEEDED, outcome.error
    draft, revision = _draft(engine, outcome.draft_id)
    assert revision.number == 1 and revision.origin == RevisionOrigin.GENERATED
    assert validate_front_matter(revision.front_matter, revision.body) == {}
    assert revision.front_matter["published"] is False
    assert revision.front_matter["ai_disclosure_level"] == "fully_autonomous"
    assert section_headings(revision.body)[0] == "Introduction"
    text, references = split_references(revision.body)
    assert references and verify(text, references) == []
    assert ("section", 0, 5) in recorder.events and ("stage", "save") in recorder.events
    streamed = "".join(recorder.tokens)
    assert streamed.count("[") >= 5 and "indeed" in streamed  # verified sentences stream as they are kept
    report = outcome.report
    assert report is not None and report.sentences and report.supported_share == 1.0 and report.unknown_terms == []
    assert set(report.passages) == {int(line[1 : line.index("]")]) for line in references}
    assert all(text[s.start : s.end] == s.text for s in report.sentences)

    with session_scope(engine) as session:
        calls = usage_crud.list_calls(session=session, run_id=outcome.run_id)
        run = session.get(Run, outcome.run_id)
        plan = session.get(Plan, outcome.plan_id)
    stages = [c.stage for c in calls]
    order = [int(s.split()[1]) for s in dict.fromkeys(s for s in stages if s.startswith("section"))]
    assert stages.count("plan") == 6 and order == sorted(order) and order[0] == 1 and len(order) >= 3
    if len(section_headings(revision.body)) < 5:  # a section whose facts were all used earlier is left out
        assert any("was left out" in note for note in outcome.notes)
    assert run.state["report"]["sentences"] and run.state["sections"][0]["facts"] >= 3
    assert all(c.draft_id == draft.id and c.status == CallStatus.OK and c.prompt_tokens > 0 for c in calls)
    assert {c.model for c in calls} == {"fake-planner", "fake-writer"}
    assert outcome.usage.successful_requests == len(calls)
    assert outcome.usage.total_tokens == sum(c.total_tokens for c in calls)
    assert run.status == RunStatus.SUCCEEDED and run.draft_id == draft.id and run.plan_id == plan.id
    assert plan.blueprint["sections"][0]["heading"] == "Introduction" and not plan.is_fallback


def test_no_relevant_evidence_stops_before_planning(engine, collection_id):
    model = RecordingChatModel(responder=good_responder)
    outcome = run_chain(request(collection_id), services(engine, model, search=fake_search(score=0.05)))
    assert outcome.status == RunStatus.FAILED
    assert "Nothing in the collection is relevant" in outcome.error
    assert model.prompts == [] and outcome.plan_id is None


def test_failure_midway_keeps_usage_and_resume_writes_only_the_rest(engine, collection_id):
    broken = RecordingChatModel(responder=good_responder, fail_when=lambda text: "Section 3 of" in text)
    outcome = run_chain(request(collection_id), services(engine, broken))
    assert outcome.status == RunStatus.FAILED and "section 3" in outcome.error
    with session_scope(engine) as session:
        calls = usage_crud.list_calls(session=session, run_id=outcome.run_id)
        run = session.get(Run, outcome.run_id)
    assert [c.status for c in calls if c.stage == "section 3"] == [CallStatus.ERROR]
    ok = [c for c in calls if c.status == CallStatus.OK]
    assert sum(c.stage == "plan" for c in ok) == 6 and {c.stage for c in ok} - {"plan"} == {"section 1", "section 2"}
    assert outcome.usage.successful_requests == len(ok) and outcome.usage.total_tokens > 0
    assert len(run.state["sections"]) == 2

    healthy = RecordingChatModel(responder=good_responder)
    resumed = RunRegistry().start(
        RunRequest(kind=RunKind.PLAN), services(engine, healthy), resume_run_id=outcome.run_id
    )
    resumed.thread.join(30)
    final = resumed.progress.snapshot().outcome
    assert final.status == RunStatus.SUCCEEDED, final.error
    assert not any("Section 2 of 5" in p or "Section 1 of 5" in p for p in healthy.prompts)
    assert any("Section 3 of 5" in p for p in healthy.prompts)
    assert not any("section headings" in p for p in healthy.prompts)  # the plan was not made again
    _draft_row, revision = _draft(engine, final.draft_id)
    assert section_headings(revision.body)[:2] == [s["heading"] for s in final_sections(engine, final.run_id)[:2]]


def test_cancel_between_tokens_then_resume(engine, collection_id):
    cancel = threading.Event()
    model = RecordingChatModel(responder=good_responder)
    svc = services(engine, model)
    armed = {"on": False}

    def hook(piece):
        if armed["on"]:
            cancel_hook(piece)

    cancel_hook = cancel_after(cancel, 5)
    model.on_chunk = hook

    class Arm(ChainCallbacks):
        def on_section_start(self, index, total, heading):
            armed["on"] = index == 1

    outcome = run_chain(request(collection_id), svc, Arm(), cancel)
    assert outcome.status == RunStatus.CANCELLED and "cancelled" in outcome.error
    with session_scope(engine) as session:
        run = session.get(Run, outcome.run_id)
        calls = usage_crud.list_calls(session=session, run_id=outcome.run_id)
    assert len(run.state["sections"]) == 1 and run.status == RunStatus.CANCELLED
    assert calls[-1].stage == "section 2"
    model.on_chunk = None
    resumed = RunRegistry().start(RunRequest(kind=RunKind.PLAN), svc, resume_run_id=outcome.run_id)
    resumed.thread.join(30)
    assert resumed.progress.snapshot().outcome.status == RunStatus.SUCCEEDED


def test_edited_plan_is_written_as_edited(engine, collection_id):
    svc = services(engine)
    planned = run_chain(request(collection_id, kind=RunKind.PLAN), svc)
    assert planned.status == RunStatus.SUCCEEDED and planned.draft_id is None
    with session_scope(engine) as session:
        plan = plan_crud.get_plan(session=session, plan_id=planned.plan_id)
        blueprint = dict(plan.blueprint)
        sections = blueprint["sections"]
        sections[1], sections[2] = sections[2], sections[1]
        sections[1]["heading"] = "Embeddings, Edited"
        blueprint["title_candidates"] = ["My Edited Title"]
        plan_crud.update_plan(session=session, plan_id=plan.id, blueprint=blueprint)
    written = run_chain(request(collection_id, kind=RunKind.WRITE, plan_id=planned.plan_id), svc)
    assert written.status == RunStatus.SUCCEEDED, written.error
    draft, revision = _draft(engine, written.draft_id)
    assert draft.title == "My Edited Title"
    assert section_headings(revision.body)[1:3] == ["Embeddings, Edited", "Why Chunk Size Matters"]


def test_plan_with_wrong_budgets_is_refused_with_one_line(engine, collection_id):
    svc = services(engine)
    planned = run_chain(request(collection_id, kind=RunKind.PLAN), svc)
    with session_scope(engine) as session:
        plan = plan_crud.get_plan(session=session, plan_id=planned.plan_id)
        blueprint = dict(plan.blueprint)
        blueprint["sections"][1]["words"] += 500
        plan_crud.update_plan(session=session, plan_id=plan.id, blueprint=blueprint)
    written = run_chain(request(collection_id, kind=RunKind.WRITE, plan_id=planned.plan_id), svc)
    assert written.status == RunStatus.FAILED
    assert written.error.startswith("The plan cannot be written yet: Section budgets sum to 1100")


def test_regenerate_one_section_saves_a_generated_revision(engine, collection_id):
    svc = services(engine)
    first = run_chain(request(collection_id), svc)
    rewriter = RecordingChatModel(responder=lambda messages: good_responder(messages).replace("indeed", "truly"))
    regen = run_chain(
        RunRequest(
            kind=RunKind.REGENERATE_SECTION,
            collection_id=collection_id,
            draft_id=first.draft_id,
            section_heading="Conclusion",
            topic=TOPIC,
        ),
        services(engine, rewriter),
    )
    assert first.status == RunStatus.SUCCEEDED and regen.status == RunStatus.SUCCEEDED, regen.error
    draft, revision = _draft(engine, first.draft_id)
    assert revision.number == 2 and revision.origin == RevisionOrigin.GENERATED
    text, references = split_references(revision.body)
    assert verify(text, references) == [] and "truly" in text.split("## Conclusion")[1]
    assert rewriter.prompts and all("Section 5 of 5: Conclusion" in p for p in rewriter.prompts if "\nEdit: " in p)
    with session_scope(engine) as session:  # the writer's own report, with a passage behind every citation
        stored = grounding_store.load_report(session=session, revision_id=revision.id)
    assert stored.checked_by == grounding_store.WRITER and regen.report is not None
    cited = {n for s in stored.report.sentences for n in s.cited}
    assert cited and cited <= set(stored.report.passages)
    assert stored.report.unsupported == [], [s.reason for s in stored.report.unsupported]
    with session_scope(engine) as session:
        calls = usage_crud.list_calls(session=session, run_id=regen.run_id)
    assert calls and {c.draft_id for c in calls} == {draft.id}


def test_stale_running_runs_are_marked_failed(engine):
    with session_scope(engine) as session:
        run = run_crud.create_run(session=session, kind=RunKind.WRITE)
        run.heartbeat_at = utcnow() - timedelta(minutes=10)
        fresh = run_crud.create_run(session=session, kind=RunKind.WRITE)
        stale = run_crud.mark_stale_runs(session=session)
    assert stale == [run.id]
    with session_scope(engine) as session:
        assert session.get(Run, run.id).status == RunStatus.FAILED
        assert session.get(Run, fresh.id).status == RunStatus.RUNNING


def test_execute_never_raises_on_unexpected_errors(engine, collection_id):
    def explode(query, k):
        raise OSError("disk gone")

    svc = services(engine, search=explode)
    outcome = run_chain(request(collection_id), svc)
    assert outcome.status == RunStatus.FAILED and outcome.error == "Unexpected error: OSError: disk gone"
    with session_scope(engine) as session:
        assert session.exec(select(LLMCall)).all() == []


def test_doctor_reports_and_repairs_interrupted_runs(settings, engine):
    from editorial.doctor import check_runs

    assert check_runs(settings, False).ok
    with session_scope(engine) as session:
        run = run_crud.create_run(session=session, kind=RunKind.PLAN_AND_WRITE)
        run.heartbeat_at = utcnow() - timedelta(minutes=5)
    result = check_runs(settings, False)
    assert not result.ok and f"ids {run.id}" in result.message
    assert check_runs(settings, True).message == "1 interrupted run(s) marked failed; they can resume"
    assert check_runs(settings, False).ok
