"""Drafts: creation, revisions, optimistic concurrency, restore, diffs, review flow, listing, CLI."""

import json
import threading

import pytest
from sqlmodel import select

from db.crud import drafts as drafts_crud
from db.models import Draft, DraftStatus, ReviewEvent, ReviewEventKind, Revision, RevisionOrigin, Role
from db.session import session_scope
from editorial import reviews
from editorial.cli import main
from editorial.drafts import DraftConflict, create_draft, delete_draft, restore_revision, save_revision
from editorial.revisions import revision_text, side_by_side_html, unified_diff
from editorial.text import count_words, read_time_minutes
from editorial.workflow import InvalidTransition, PermissionDenied
from tests.unit.workflow_support import GOOD_FRONT_MATTER, approved_draft, generated_draft, make_user, save, team


@pytest.fixture
def people(engine):
    with session_scope(engine) as session:
        return team(session)


def test_generated_draft_has_revision_one_and_a_created_event(engine, people):
    with session_scope(engine) as session:
        draft = generated_draft(session, people["editor"], body="One two three.", tags="Python, RAG")
    with session_scope(engine) as session:
        draft = drafts_crud.get_draft(session=session, draft_id=draft.id)
        assert (draft.status, draft.version, draft.word_count, draft.title) == (
            DraftStatus.DRAFT,
            1,
            3,
            "Grounded posts",
        )
        [revision] = drafts_crud.list_revisions(session=session, draft_id=draft.id)
        assert revision.origin is RevisionOrigin.GENERATED and revision.number == 1
        assert revision.front_matter["tags"] == ["python", "rag"]
        assert revision.front_matter["ai_disclosure_level"] == "fully_autonomous"
        [event] = reviews.timeline(session=session, draft_id=draft.id)
        assert event.kind is ReviewEventKind.CREATED and event.actor == "ed" and event.revision_number == 1


def test_generated_draft_without_author_and_title_fallback(engine):
    with session_scope(engine) as session:
        draft = generated_draft(session, None, title="")
        assert draft.author_id is None
    with session_scope(engine) as session:
        revision = drafts_crud.current_revision(
            session=session, draft=drafts_crud.get_draft(session=session, draft_id=draft.id)
        )
        assert revision.front_matter["published"] is False


def test_every_save_is_a_revision_with_author_note_and_base(engine, people):
    with session_scope(engine) as session:
        draft = generated_draft(session, people["editor"])
    with session_scope(engine) as session:
        second = save_revision(
            session=session,
            draft_id=draft.id,
            base_version=1,
            front_matter={**GOOD_FRONT_MATTER, "title": "New title"},
            body="Edited body here.",
            author_id=people["reviewer"].id,
            note="tightened",
        )
    assert (second.number, second.base_number, second.origin, second.note) == (2, 1, RevisionOrigin.EDITED, "tightened")
    with session_scope(engine) as session:
        draft = drafts_crud.get_draft(session=session, draft_id=draft.id)
        assert (draft.version, draft.title, draft.word_count) == (2, "New title", 3)
        assert second.author_id == people["reviewer"].id


def test_saving_identical_text_creates_nothing(engine, people):
    with session_scope(engine) as session:
        draft = generated_draft(session, people["editor"])
        current = save(session, draft.id, 1, "Hello world.", people["editor"].id)
    assert current.number == 1


def test_outdated_save_is_refused_and_kept_as_conflict_revision(engine, people):
    with session_scope(engine) as session:
        draft = generated_draft(session, people["editor"])
    with session_scope(engine) as session:
        save(session, draft.id, 1, "Reviewer's words.", people["reviewer"].id)
    with pytest.raises(DraftConflict) as info, session_scope(engine) as session:
        save(session, draft.id, 1, "Editor's words.", people["editor"].id)
    conflict = info.value
    assert (conflict.base_version, conflict.current_version, conflict.conflict_revision_number) == (1, 2, 3)
    assert "revision 2 by rita" in str(conflict) and "conflict revision 3" in str(conflict)
    with session_scope(engine) as session:
        kept = session.get(Revision, conflict.conflict_revision_id)
        assert (kept.body, kept.origin, kept.base_number) == ("Editor's words.", RevisionOrigin.CONFLICT, 1)
        draft = drafts_crud.get_draft(session=session, draft_id=draft.id)
        assert draft.version == 2  # the conflict did not become current
        assert drafts_crud.current_revision(session=session, draft=draft).body == "Reviewer's words."
    with session_scope(engine) as session:  # merging: a save on the current base works and numbers go on
        merged = save(session, draft.id, 2, "Reviewer's words. Editor's words.", people["editor"].id)
    assert merged.number == 4


def test_two_sessions_saving_on_the_same_base_concurrently(engine, people):
    with session_scope(engine) as session:
        draft = generated_draft(session, people["editor"])
    barrier, outcomes = threading.Barrier(2), {}

    def save_as(name: str, author_id: int) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                outcomes[name] = save(session, draft.id, 1, f"text by {name}", author_id).number
        except DraftConflict as exc:
            outcomes[name] = exc

    threads = [threading.Thread(target=save_as, args=(name, people[name].id)) for name in ("editor", "reviewer")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    won = [name for name, outcome in outcomes.items() if outcome == 2]
    lost = [name for name, outcome in outcomes.items() if isinstance(outcome, DraftConflict)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    with session_scope(engine) as session:
        bodies = {r.body: r.origin for r in drafts_crud.list_revisions(session=session, draft_id=draft.id)}
        draft = drafts_crud.get_draft(session=session, draft_id=draft.id)
    assert bodies[f"text by {won[0]}"] is RevisionOrigin.EDITED
    assert bodies[f"text by {lost[0]}"] is RevisionOrigin.CONFLICT  # nothing typed and saved is lost
    assert draft.version == 2


def test_refused_saves_racing_a_winning_save_each_keep_their_text(engine, people):
    """Conflict revisions are numbered in turn with a concurrent winning save (no duplicate number, no error)."""
    with session_scope(engine) as session:
        draft = generated_draft(session, people["editor"])
    errors, texts = [], []

    def save(base: int, body: str, barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            with session_scope(engine) as session:
                save_revision(
                    session=session,
                    draft_id=draft.id,
                    base_version=base,
                    front_matter=GOOD_FRONT_MATTER,
                    body=body,
                    author_id=people["editor"].id,
                )
        except DraftConflict:
            pass
        except Exception as exc:  # the assertion below names it
            errors.append(repr(exc))

    for round_number in range(4):
        with session_scope(engine) as session:
            current = drafts_crud.get_draft(session=session, draft_id=draft.id).version
        jobs = [(current, f"round {round_number} winner")]  # saves on the current version
        jobs += [(max(1, current - 1) if current > 1 else 0, f"round {round_number} stale {i}") for i in range(4)]
        barrier = threading.Barrier(len(jobs))
        threads = [threading.Thread(target=save, args=(base, body, barrier)) for base, body in jobs]
        texts += [body for _base, body in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert errors == []
    with session_scope(engine) as session:
        revisions = drafts_crud.list_revisions(session=session, draft_id=draft.id)
    assert sorted(r.number for r in revisions) == list(range(1, len(revisions) + 1))
    assert set(texts) <= {r.body for r in revisions}  # every text typed and saved is kept


def test_restore_makes_an_old_revision_current_as_a_new_revision(engine, people):
    with session_scope(engine) as session:
        draft = generated_draft(session, people["editor"], body="first")
        save(session, draft.id, 1, "second", people["editor"].id)
        restored = restore_revision(
            session=session, draft_id=draft.id, number=1, base_version=2, author_id=people["editor"].id
        )
    assert (restored.number, restored.origin, restored.body, restored.note) == (
        3,
        RevisionOrigin.RESTORED,
        "first",
        "Restored revision 1.",
    )
    with pytest.raises(DraftConflict), session_scope(engine) as session:
        restore_revision(session=session, draft_id=draft.id, number=2, base_version=2, author_id=people["editor"].id)


def test_diffs_between_revisions(engine, people):
    with session_scope(engine) as session:
        draft = generated_draft(session, people["editor"], body="line one\nline two\n")
        save_revision(
            session=session,
            draft_id=draft.id,
            base_version=1,
            front_matter={**GOOD_FRONT_MATTER, "title": "Renamed"},
            body="line one\nline 2\nline three\n",
            author_id=people["editor"].id,
        )
        old, new = (drafts_crud.get_revision(session=session, draft_id=draft.id, number=n) for n in (1, 2))
    diff = unified_diff(revision_text(old), revision_text(new), old_label="revision 1", new_label="revision 2")
    assert "--- revision 1" in diff and "+++ revision 2" in diff
    assert "-title: Grounded posts" in diff and "+title: Renamed" in diff
    assert "-line two" in diff and "+line 2" in diff and "+line three" in diff
    assert unified_diff("same", "same") == ""
    table = side_by_side_html("<script>a</script>", "b")
    assert "<script>" not in table and "&lt;script&gt;" in table and "<table" in table


def test_words_and_read_time():
    assert count_words("# Title\n\nIt's a *small*, well-formed post — with `code`.") == 8
    assert count_words("") == 0
    assert read_time_minutes(0) == 0 and read_time_minutes(1) == 1 and read_time_minutes(266) == 2


def test_review_flow_and_its_timeline(engine, people):
    editor, reviewer = people["editor"], people["reviewer"]
    with session_scope(engine) as session:
        draft = generated_draft(session, editor)
        reviews.submit(session=session, draft_id=draft.id, actor=editor, note="ready")
        with pytest.raises(PermissionDenied, match="may not approve"):
            reviews.approve(
                session=session, draft_id=draft.id, actor=editor, revision_number=1, acknowledge_unsupported=True
            )
        with pytest.raises(reviews.InvalidDraft, match="note is required"):
            reviews.request_changes(session=session, draft_id=draft.id, actor=reviewer, note=" ")
        reviews.request_changes(session=session, draft_id=draft.id, actor=reviewer, note="cite [2]")
        reviews.add_comment(session=session, draft_id=draft.id, actor=editor, note="on it", revision_number=1)
        save(session, draft.id, 1, "Hello world [2].", editor.id)
        reviews.submit(session=session, draft_id=draft.id, actor=editor)
        reviews.approve(
            session=session,
            draft_id=draft.id,
            actor=reviewer,
            revision_number=2,
            note="good",
            acknowledge_unsupported=True,
        )
        with pytest.raises(InvalidTransition):
            reviews.submit(session=session, draft_id=draft.id, actor=editor)
        entries = reviews.timeline(session=session, draft_id=draft.id)
    steps = [(e.kind.value, e.actor, e.from_status, e.to_status) for e in entries]
    assert steps == [
        ("created", "ed", None, DraftStatus.DRAFT),
        ("status_change", "ed", DraftStatus.DRAFT, DraftStatus.IN_REVIEW),
        ("status_change", "rita", DraftStatus.IN_REVIEW, DraftStatus.CHANGES_REQUESTED),
        ("comment", "ed", None, None),
        ("status_change", "ed", DraftStatus.CHANGES_REQUESTED, DraftStatus.IN_REVIEW),
        ("status_change", "rita", DraftStatus.IN_REVIEW, DraftStatus.APPROVED),
    ]
    assert entries[2].note == "cite [2]" and entries[3].revision_number == 1 and entries[5].revision_number == 2
    assert reviews.describe(entries[2]) == "rita moved it from In review to Changes requested (revision 1): cite [2]"


def test_submitting_an_invalid_draft_is_refused_with_the_fields(engine, people):
    with session_scope(engine) as session:
        draft = generated_draft(session, people["editor"], title="", tags=["a", "b", "c", "d", "e"])
        with pytest.raises(reviews.InvalidDraft, match=r"title: A title is required.*tags: At most 4"):
            reviews.submit(session=session, draft_id=draft.id, actor=people["editor"])


def test_editing_an_approved_draft_sends_it_back_to_review(engine, people):
    with session_scope(engine) as session:
        draft = approved_draft(session, people)
        save(session, draft.id, 1, "A late change.", people["editor"].id)
        draft = drafts_crud.get_draft(session=session, draft_id=draft.id)
        last = reviews.timeline(session=session, draft_id=draft.id)[-1]
    assert draft.status is DraftStatus.IN_REVIEW
    assert (last.from_status, last.to_status, last.actor) == (DraftStatus.APPROVED, DraftStatus.IN_REVIEW, "ed")


def test_disabled_users_cannot_save_or_create(engine, people):
    with session_scope(engine) as session:
        ghost = make_user(session, "ghost", Role.ADMIN, disabled=True)
        draft = generated_draft(session, people["editor"])
        with pytest.raises(PermissionDenied, match="disabled"):
            save_revision(
                session=session, draft_id=draft.id, base_version=1, front_matter={}, body="x", author_id=ghost.id
            )
        with pytest.raises(PermissionDenied):
            create_draft(session=session, actor_id=ghost.id, title="t")


def test_only_admins_delete_drafts(engine, people):
    with session_scope(engine) as session:
        draft = generated_draft(session, people["editor"])
        for role in ("editor", "reviewer"):
            with pytest.raises(PermissionDenied, match="may not delete draft"):
                delete_draft(session=session, draft_id=draft.id, actor=people[role])
        delete_draft(session=session, draft_id=draft.id, actor=people["admin"])
    with session_scope(engine) as session:
        assert session.exec(select(Revision)).all() == [] and session.exec(select(ReviewEvent)).all() == []


def test_listing_filters_sorts_and_paginates_in_sql(engine, people):
    with session_scope(engine) as session:
        for index in range(30):
            author = people["editor"] if index % 3 else people["reviewer"]
            generated_draft(session, author, body=f"body {index} " + "word " * index, title=f"Post {index:02d}")
        draft = session.exec(select(Draft).where(Draft.title == "Post 07")).one()
        reviews.submit(session=session, draft_id=draft.id, actor=people["editor"])
    with session_scope(engine) as session:
        assert drafts_crud.count_drafts(session=session) == 30
        page = drafts_crud.list_drafts(session=session, sort="title", limit=10, offset=10)
        assert [row.title for row in page] == [f"Post {i:02d}" for i in range(10, 20)]
        assert drafts_crud.list_drafts(session=session, sort="word count", limit=1)[0].title == "Post 29"
        in_review = drafts_crud.list_drafts(session=session, status=DraftStatus.IN_REVIEW)
        assert [row.title for row in in_review] == ["Post 07"]
        assert drafts_crud.count_drafts(session=session, author_id=people["reviewer"].id) == 10
        assert drafts_crud.count_drafts(session=session, text="post 1") == 10
        assert drafts_crud.count_drafts(session=session, text="body 23") == 1  # the text, not only the title
        assert drafts_crud.count_drafts(session=session, text="100%") == 0  # LIKE wildcards are escaped
        assert drafts_crud.list_drafts(session=session, limit=1)[0].author in ("ed", "rita")
        assert dict(drafts_crud.draft_authors(session=session)) == {
            people["editor"].id: "ed",
            people["reviewer"].id: "rita",
        }


def test_cli_drafts_list_and_review_commands(engine, people, monkeypatch, capsys):
    from editorial.auth import hash_password

    with session_scope(engine) as session:
        for user in people.values():
            user = session.merge(user)
            user.password_hash = hash_password("secret-pass")
        draft = generated_draft(session, people["editor"])
    monkeypatch.setenv("EDITORIAL_PASSWORD", "secret-pass")
    assert main(["review", "submit", "--draft", str(draft.id), "--as", "ed", "--note", "ready"]) == 0
    assert "Draft → In review" in capsys.readouterr().out
    assert (
        main(
            [
                "review",
                "approve",
                "--draft",
                str(draft.id),
                "--as",
                "ed",
                "--revision",
                "1",
                "--acknowledge-unsupported",
            ]
        )
        == 1
    )
    assert "ed is an editor and may not approve" in capsys.readouterr().err
    assert main(["review", "request-changes", "--draft", str(draft.id), "--as", "rita", "--note", "more"]) == 0
    assert main(["review", "comment", "--draft", str(draft.id), "--as", "ed", "--note", "ok", "--revision", "1"]) == 0
    capsys.readouterr()
    assert main(["drafts", "list", "--status", "changes_requested", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["total"] == 1 and listing["drafts"][0]["status"] == "changes_requested"
    assert main(["drafts", "list"]) == 0
    assert "1-1 of 1 drafts" in capsys.readouterr().out
    monkeypatch.setenv("EDITORIAL_PASSWORD", "wrong-pass")
    assert main(["review", "submit", "--draft", str(draft.id), "--as", "ed"]) == 1
    assert "Wrong user name or password" in capsys.readouterr().err
