"""Approve what was reviewed: approvals name a revision, saves in review are recorded, exports take the approval."""

import pytest

from db.crud import drafts as drafts_crud
from db.models import DraftStatus
from db.session import session_scope
from editorial import reviews
from editorial.auth import hash_password
from editorial.cli import main
from editorial.export import NotApproved, export_drafts
from tests.unit.workflow_support import approved_draft, generated_draft, save, team


@pytest.fixture
def people(engine):
    with session_scope(engine) as session:
        return team(session)


def test_a_save_during_review_is_recorded_and_the_old_revision_cannot_be_approved(engine, people):
    with session_scope(engine) as session:
        draft = generated_draft(session, people["editor"], body="Reviewed text.")
        reviews.submit(session=session, draft_id=draft.id, actor=people["editor"])
    # The reviewer reads revision 1; meanwhile the editor publishes-to-be and adds text.
    with session_scope(engine) as session:
        save(session, draft.id, 1, "Reviewed text. Unreviewed claim.", people["editor"], published=True)
    with pytest.raises(reviews.StaleReview) as info, session_scope(engine) as session:
        reviews.approve(
            session=session,
            draft_id=draft.id,
            actor=people["reviewer"],
            revision_number=1,
            acknowledge_unsupported=True,
        )
    assert str(info.value) == (
        f"Draft {draft.id} changed while you reviewed it: you saw revision 1, the current one is revision 2. "
        "Review revision 2 before you approve it."
    )
    with session_scope(engine) as session:
        assert reviews.load_draft(session=session, draft_id=draft.id).status is DraftStatus.IN_REVIEW
        last = reviews.timeline(session=session, draft_id=draft.id)[-1]
        assert (last.from_status, last.to_status, last.revision_number, last.actor) == (
            DraftStatus.IN_REVIEW,
            DraftStatus.IN_REVIEW,
            2,
            "ed",
        )
        assert reviews.describe(last).startswith("ed saved a change while it was in review (revision 2)")
        with pytest.raises(reviews.StaleReview, match="Say which revision"):
            reviews.approve(
                session=session,
                draft_id=draft.id,
                actor=people["reviewer"],
                revision_number=None,
                acknowledge_unsupported=True,
            )
        event = reviews.approve(
            session=session,
            draft_id=draft.id,
            actor=people["reviewer"],
            revision_number=2,
            acknowledge_unsupported=True,
        )
        assert event.to_status is DraftStatus.APPROVED


def test_request_changes_on_an_old_revision_is_refused_too(engine, people):
    with session_scope(engine) as session:
        draft = generated_draft(session, people["editor"])
        reviews.submit(session=session, draft_id=draft.id, actor=people["editor"])
        save(session, draft.id, 1, "Changed.", people["editor"])
        with pytest.raises(reviews.StaleReview):
            reviews.request_changes(
                session=session, draft_id=draft.id, actor=people["reviewer"], note="fix", revision_number=1
            )
        reviews.request_changes(
            session=session, draft_id=draft.id, actor=people["reviewer"], note="fix", revision_number=2
        )


def test_export_takes_the_approved_revision_and_an_edit_withdraws_the_approval(engine, people):
    with session_scope(engine) as session:
        draft = approved_draft(session, people, body="Approved words.")
        [post] = export_drafts(session=session, draft_ids=[draft.id], actor=people["reviewer"])
        assert post.revision_number == 1 and "Approved words." in post.text
        save(session, draft.id, 1, "Approved words. Sneaked in later.", people["editor"], published=True)
        assert drafts_crud.get_draft(session=session, draft_id=draft.id).status is DraftStatus.IN_REVIEW
        with pytest.raises(NotApproved, match="in review, not approved"):
            export_drafts(session=session, draft_ids=[draft.id], actor=people["reviewer"])
        approved = reviews.approved_revision(
            session=session, draft=reviews.load_draft(session=session, draft_id=draft.id)
        )
        assert approved is None  # the standing approval is gone with the edit


def test_cli_approve_names_the_revision(engine, people, monkeypatch, capsys):
    with session_scope(engine) as session:
        for user in people.values():
            session.merge(user).password_hash = hash_password("secret-pass")
        draft = generated_draft(session, people["editor"])
        reviews.submit(session=session, draft_id=draft.id, actor=people["editor"])
        save(session, draft.id, 1, "A second revision.", people["editor"])
    monkeypatch.setenv("EDITORIAL_PASSWORD", "secret-pass")
    assert (
        main(
            [
                "review",
                "approve",
                "--draft",
                str(draft.id),
                "--as",
                "rita",
                "--revision",
                "1",
                "--acknowledge-unsupported",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: Draft {draft.id} changed while you reviewed it: you saw revision 1, the current one is revision 2. "
        "Review revision 2 before you approve it."
    )
    with session_scope(engine) as session:
        assert reviews.load_draft(session=session, draft_id=draft.id).status is DraftStatus.IN_REVIEW
    assert (
        main(
            [
                "review",
                "approve",
                "--draft",
                str(draft.id),
                "--as",
                "rita",
                "--revision",
                "2",
                "--acknowledge-unsupported",
            ]
        )
        == 0
    )
    assert "In review → Approved" in capsys.readouterr().out
