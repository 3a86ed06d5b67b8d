"""Groundedness reports per revision: stored with the draft, re-checked on every save, the approval rule."""

import json

import pytest
from sqlmodel import select

from db.crud import grounding as grounding_crud
from db.crud.drafts import get_revision
from db.crud.sources import create_collection
from db.models import DraftStatus, GroundingReport, ReviewEventKind, RevisionOrigin
from db.session import session_scope
from editorial import reviews
from editorial.chain.calls import ChatTarget
from editorial.chain.runner import ChainServices, RunRequest, run_chain
from editorial.cli import main
from editorial.drafts import DraftConflict, create_draft, create_generated_draft, restore_revision, save_revision
from editorial.grounding import store
from editorial.grounding.schemas import Passage, SentenceStatus
from editorial.grounding.verify import verify_text
from tests.unit.chain_fakes import RecordingChatModel, fake_search, good_responder
from tests.unit.workflow_support import GOOD_FRONT_MATTER, save, team

PASSAGES = {
    1: Passage(
        n=1,
        text="Chroma stores embeddings in named collections. It answers similarity queries with an HNSW index.",
        source_id=4,
        source_name="vector-stores.md",
        location="chunk 2",
    ),
    2: Passage(
        n=2,
        text="Chunking splits documents into pieces of about 1,000 characters with an overlap of 200 characters.",
        source_name="chunking.md",
        location="chunk 1",
    ),
}
BODY = (
    "Chroma stores embeddings in named collections [1]. It answers similarity queries with an HNSW index [1].\n\n"
    "Chunking splits documents into pieces of about 1,000 characters [2].\n\n"
    "## References\n\n1. vector-stores.md\n2. chunking.md\n"
)
INVENTED = "Dr. Elon Musk founded Chroma at Berkeley in 2017 [1]."
BAD_BODY = BODY.replace("[2].\n\n", f"[2]. {INVENTED}\n\n")


@pytest.fixture
def people(engine):
    with session_scope(engine) as session:
        return team(session)


def _generated(session, people, body=BODY):
    return create_generated_draft(
        session=session,
        title="Grounded posts",
        front_matter=GOOD_FRONT_MATTER,
        body=body,
        author_id=people["editor"].id,
        collection_id=None,
        plan_id=None,
        report=verify_text(body, PASSAGES),
    )


def _report(session, draft_id, number):
    revision = get_revision(session=session, draft_id=draft_id, number=number)
    return store.load_report(session=session, revision_id=revision.id)


def _statuses(stored):
    return [s.status for s in stored.report.sentences]


def test_the_writers_report_is_stored_with_revision_1(engine, people):
    with session_scope(engine) as session:
        draft = _generated(session, people)
    with session_scope(engine) as session:
        stored = _report(session, draft.id, 1)
        row = session.exec(select(GroundingReport).where(GroundingReport.draft_id == draft.id)).one()
    assert stored.checked_by == store.WRITER and stored.complete
    assert _statuses(stored) == [SentenceStatus.SUPPORTED] * 3
    assert stored.report.passages == PASSAGES  # the passages travel with the report
    assert stored.report.sentences[0].passage_n == 1 and stored.report.sentences[0].score == 1.0
    assert (row.sentence_count, row.supported_count, row.unsupported_count, row.passage_count) == (3, 3, 0, 2)
    assert row.supported_share == 1.0 and row.unknown_terms == []


def test_an_edit_is_rechecked_against_the_carried_passages(engine, people):
    with session_scope(engine) as session:
        draft = _generated(session, people)
    edited = BAD_BODY
    with session_scope(engine) as session:
        save(session, draft.id, 1, edited, people["editor"].id)
    with session_scope(engine) as session:
        stored = _report(session, draft.id, 2)
        summary = grounding_crud.summaries(session=session, draft_id=draft.id)
    assert stored.checked_by == store.RECHECK and stored.report.passages == PASSAGES
    assert _statuses(stored) == [SentenceStatus.SUPPORTED] * 3 + [SentenceStatus.UNSUPPORTED]
    bad = stored.report.unsupported[0]
    assert edited[bad.start : bad.end] == INVENTED  # offsets point into the saved body
    assert {"Elon", "Musk", "Berkeley", "2017"} <= set(stored.report.unknown_terms)
    assert stored.report.supported_share == pytest.approx(0.75)
    assert summary == {1: (1.0, 0, 2), 2: (0.75, 1, 2)}
    assert "3 of 4 sentence(s) with a claim are supported" in store.summary_line(stored)
    assert "4 term(s) occur in no source" in store.summary_line(stored)


def test_restored_and_conflict_revisions_get_reports(engine, people):
    with session_scope(engine) as session:
        draft = _generated(session, people)
        save(session, draft.id, 1, INVENTED, None)
    with pytest.raises(DraftConflict), session_scope(engine) as session:  # based on revision 1: refused, kept
        save(session, draft.id, 1, BAD_BODY, None)
    with session_scope(engine) as session:
        restore_revision(session=session, draft_id=draft.id, number=1, base_version=2, author_id=None)
    with session_scope(engine) as session:
        conflict, restored = _report(session, draft.id, 3), _report(session, draft.id, 4)
        origins = [get_revision(session=session, draft_id=draft.id, number=n).origin for n in (3, 4)]
    assert origins == [RevisionOrigin.CONFLICT, RevisionOrigin.RESTORED]
    assert conflict.report.count(SentenceStatus.UNSUPPORTED) == 1 and conflict.report.passages == PASSAGES
    assert _statuses(restored) == [SentenceStatus.SUPPORTED] * 3 and restored.checked_by == store.RECHECK


def test_a_draft_without_sources_says_so_once(engine, people):
    with session_scope(engine) as session:
        draft = create_draft(session=session, actor_id=people["editor"].id, title="Pasted", body=BAD_BODY)
    with session_scope(engine) as session:
        stored = _report(session, draft.id, 1)
    assert not stored.has_sources and stored.unsupported_count == 4
    assert {s.reason for s in stored.report.unsupported} == {store.NO_SOURCES_REASON}
    assert stored.report.unknown_terms == [] and all(not s.unknown_terms for s in stored.report.sentences)
    assert store.summary_line(stored) == (
        "No sources behind this draft: none of the 4 sentence(s) with a claim can be checked."
    )


def _submitted(engine, people, body):
    with session_scope(engine) as session:
        draft = _generated(session, people, body=body)
        reviews.submit(session=session, draft_id=draft.id, actor=people["editor"])
        return draft.id


def test_approving_unsupported_sentences_needs_an_acknowledgement_that_is_recorded(engine, people):
    draft_id = _submitted(engine, people, BAD_BODY)
    with pytest.raises(store.UnsupportedNotAcknowledged) as refused, session_scope(engine) as session:
        reviews.approve(session=session, draft_id=draft_id, revision_number=1, actor=people["reviewer"], note="fine")
    assert str(refused.value) == (
        "Revision 1 has 1 unsupported sentence(s): acknowledge them to approve "
        "(the Review page's checkbox, or --acknowledge-unsupported)."
    )
    with session_scope(engine) as session:
        assert reviews.load_draft(session=session, draft_id=draft_id).status is DraftStatus.IN_REVIEW
        reviews.approve(
            session=session,
            draft_id=draft_id,
            revision_number=1,
            actor=people["reviewer"],
            note="fine",
            acknowledge_unsupported=True,
        )
    with session_scope(engine) as session:
        last = reviews.timeline(session=session, draft_id=draft_id)[-1]
        stored = _report(session, draft_id, 1)
    assert (last.kind, last.to_status, last.actor) == (ReviewEventKind.STATUS_CHANGE, DraftStatus.APPROVED, "rita")
    assert last.note == "Acknowledged 1 unsupported sentence(s) in revision 1 (75% supported). fine"
    assert stored.acknowledged_by_id == people["reviewer"].id and stored.acknowledged_at is not None


def test_a_supported_draft_is_approved_without_acknowledgement_and_permissions_come_first(engine, people):
    supported = _submitted(engine, people, BODY)
    unsupported = _submitted(engine, people, INVENTED)
    with session_scope(engine) as session:
        with pytest.raises(Exception, match="may not approve"):
            reviews.approve(session=session, draft_id=unsupported, revision_number=1, actor=people["editor"])
        reviews.approve(session=session, draft_id=supported, revision_number=1, actor=people["reviewer"])
        assert reviews.timeline(session=session, draft_id=supported)[-1].note == ""
        assert _report(session, supported, 1).acknowledged_at is None


def test_cli_approve_and_grounding_report(engine, people, monkeypatch, capsys):
    from editorial.auth import hash_password

    with session_scope(engine) as session:
        rita = session.merge(people["reviewer"])
        rita.password_hash = hash_password("secret-pass")
    draft_id = _submitted(engine, people, BAD_BODY)
    monkeypatch.setenv("EDITORIAL_PASSWORD", "secret-pass")
    assert main(["review", "approve", "--draft", str(draft_id), "--revision", "1", "--as", "rita"]) == 1
    assert "has 1 unsupported sentence(s): acknowledge them" in capsys.readouterr().err
    assert (
        main(
            [
                "review",
                "approve",
                "--draft",
                str(draft_id),
                "--revision",
                "1",
                "--as",
                "rita",
                "--acknowledge-unsupported",
            ]
        )
        == 0
    )
    assert "In review → Approved" in capsys.readouterr().out
    assert main(["grounding", "--draft", str(draft_id)]) == 0
    text = capsys.readouterr().out
    assert "3 of 4 sentence(s) with a claim are supported" in text
    assert f"✗   4. {INVENTED}" in text and "[1] vector-stores.md — chunk 2 (score 1.00)" in text
    assert main(["grounding", "--draft", str(draft_id), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["counts"] == {"supported": 3, "unsupported": 1, "no_claim": 0}
    assert data["acknowledged_at"] and data["report"]["passages"]["1"]["source_name"] == "vector-stores.md"
    assert main(["grounding", "--draft", "999"]) == 1
    assert "There is no draft 999." in capsys.readouterr().err


def test_a_failing_checker_never_costs_a_save_and_blocks_silent_approval(engine, people, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("verifier bug")

    monkeypatch.setattr(store, "verify_text", broken)
    with session_scope(engine) as session:
        draft = create_draft(session=session, actor_id=people["editor"].id, title="t", body="Any text at all.")
        reviews.submit(session=session, draft_id=draft.id, actor=people["editor"])
    with session_scope(engine) as session:
        stored = _report(session, draft.id, 1)
        assert not stored.complete and "failed" in stored.problem
        with pytest.raises(store.UnsupportedNotAcknowledged, match="was not checked whole"):
            reviews.approve(session=session, draft_id=draft.id, revision_number=1, actor=people["reviewer"])


def test_an_oversized_body_is_checked_up_to_the_bound(engine, people, monkeypatch):
    monkeypatch.setattr(store, "MAX_CHECK_CHARS", 300)
    body = "\n\n".join([BODY.split("\n\n## References")[0]] * 6)
    with session_scope(engine) as session:
        draft = _generated(session, people)
        save(session, draft.id, 1, body, None)
    with session_scope(engine) as session:
        stored = _report(session, draft.id, 2)
    assert not stored.complete and stored.problem.startswith("Only the first ")
    assert max(s.end for s in stored.report.sentences) <= 300
    assert stored.problem in store.summary_line(stored)


def test_a_revision_without_a_report_gets_one_when_asked(engine, people):
    with session_scope(engine) as session:
        draft = _generated(session, people)
        session.delete(session.exec(select(GroundingReport)).one())  # as if made before reports existed
    with session_scope(engine) as session:
        stored = store.current_report(session=session, draft=reviews.load_draft(session=session, draft_id=draft.id))
    assert stored.checked_by == store.RECHECK and stored.revision_number == 1


def test_a_writing_run_stores_its_report_and_an_edit_keeps_the_untouched_verdicts(engine):
    with session_scope(engine) as session:
        collection_id = create_collection(session=session, name="Docs", chroma_name="ed-docs-1").id
    model = RecordingChatModel(responder=good_responder)
    services = ChainServices(
        engine=engine,
        planner=ChatTarget(model, "embedded", "fake-planner"),
        writer=ChatTarget(model, "embedded", "fake-writer"),
        search=fake_search(),
    )
    outcome = run_chain(
        RunRequest(kind="plan_and_write", topic="retrieval", collection_id=collection_id, target_words=600), services
    )
    assert outcome.report is not None, outcome.error
    with session_scope(engine) as session:
        written = _report(session, outcome.draft_id, 1)
        body = get_revision(session=session, draft_id=outcome.draft_id, number=1).body
    assert written.checked_by == store.WRITER and written.report == outcome.report
    first = written.report.sentences[0]
    edited = body[: first.start] + "Zorblax 9.9 rewrote everything in 2031. " + body[first.start :]
    with session_scope(engine) as session:
        save_revision(
            session=session,
            draft_id=outcome.draft_id,
            base_version=1,
            front_matter=dict(GOOD_FRONT_MATTER),
            body=edited,
            author_id=None,
        )
    with session_scope(engine) as session:
        rechecked = _report(session, outcome.draft_id, 2)
    assert rechecked.report.passages == written.report.passages
    assert rechecked.report.sentences[0].status == SentenceStatus.UNSUPPORTED
    assert {"Zorblax", "9.9", "2031"} <= set(rechecked.report.unknown_terms)
    before = [(s.text, s.status) for s in written.report.sentences]
    after = [(s.text, s.status) for s in rechecked.report.sentences[1:]]
    assert after == before  # the writer's verdicts hold on re-check: same passages, same rules
