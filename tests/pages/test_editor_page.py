"""Editor page: edit and save, front matter validation next to fields, escaped preview, conflicts, history, timeline."""

from sqlmodel import select

from db.crud import drafts as drafts_crud
from db.models import DraftStatus, ReviewEventKind, Revision, RevisionOrigin, Role, User
from db.session import session_scope
from editorial import reviews
from editorial.datastore import open_database
from editorial.drafts import create_generated_draft, save_revision
from editorial.settings import get_settings
from pages.ui.state import Keys
from tests.pages.helpers import ensure_user, open_page

FRONT = {"title": "Grounded", "description": "d", "tags": ["python"], "ai_disclosure_level": "fully_autonomous"}


def _engine():
    return open_database(get_settings())


def _draft(body: str = "Hello **world**.", **front) -> int:
    with session_scope(_engine()) as session:
        return create_generated_draft(
            session=session,
            title="Grounded",
            front_matter={**FRONT, **front},
            body=body,
            author_id=None,
            collection_id=None,
            plan_id=None,
        ).id


def _editor(draft_id: int, role: str = "editor", username: str | None = None):
    at = open_page("pages/editor.py", role=role, username=username, state={Keys.DRAFT_ID: draft_id})
    assert not at.exception
    return at


def k(draft_id: int, field: str) -> str:
    return f"editor.{draft_id}.{field}"


def _revisions(draft_id: int) -> list[Revision]:
    with session_scope(_engine()) as session:
        return drafts_crud.list_revisions(session=session, draft_id=draft_id)[::-1]


def test_editing_markdown_and_front_matter_saves_a_revision():
    draft_id = _draft()
    at = _editor(draft_id)
    assert at.title[0].value == "Grounded"
    assert at.text_area(key=k(draft_id, "body")).value == "Hello **world**."
    assert at.button(key="save").disabled  # nothing changed yet
    at.text_area(key=k(draft_id, "body")).set_value("New body with five words.")
    at.text_input(key=k(draft_id, "title")).set_value("A better title")
    at.text_input(key=k(draft_id, "tags")).set_value("Python, RAG")
    at.selectbox(key=k(draft_id, "ai_disclosure_level")).set_value("some_ai")
    at.text_input(key=k(draft_id, "note")).set_value("my edit").run()
    assert "unsaved changes" in at.markdown[1].value
    assert {m.label: m.value for m in at.metric} == {"Words": "5", "Read time": "1 min"}
    at.button(key="save").click().run()
    assert not at.exception and at.title[0].value == "A better title"
    revisions = _revisions(draft_id)
    assert [(r.number, r.origin, r.note) for r in revisions] == [
        (1, RevisionOrigin.GENERATED, ""),
        (2, RevisionOrigin.EDITED, "my edit"),
    ]
    assert revisions[1].body == "New body with five words."
    assert revisions[1].front_matter["tags"] == ["python", "rag"]
    assert revisions[1].front_matter["ai_disclosure_level"] == "some_ai"
    assert revisions[1].author_id == at.session_state[Keys.USER_ID]


def test_validation_messages_sit_next_to_their_fields():
    draft_id = _draft()
    at = _editor(draft_id)
    at.text_input(key=k(draft_id, "title")).set_value("")
    at.text_input(key=k(draft_id, "tags")).set_value("a, b, c, d, e")
    at.text_input(key=k(draft_id, "canonical_url")).set_value("javascript:alert(1)").run()
    captions = [c.value for c in at.caption]
    assert any("A title is required." in c for c in captions)
    assert any("At most 4 tags (now 5)." in c for c in captions)
    assert any("Must be an http:// or https:// URL." in c for c in captions)
    at.button(key="save").click().run()  # an invalid draft can still be saved (nothing typed is lost) ...
    assert len(_revisions(draft_id)) == 2
    at.button(key="submit").click().run()  # ... but not submitted
    assert "Fix the draft before it can be submitted" in at.error[0].value


def test_preview_shows_raw_html_escaped():
    draft_id = _draft(body="<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n[a](javascript:alert(1))")
    at = _editor(draft_id)
    preview = at.html[0].value
    assert "<script" not in preview and "&lt;script&gt;" in preview
    assert "<img src=x" not in preview and 'href="javascript' not in preview


def test_a_pasted_post_fills_the_form():
    draft_id = _draft()
    at = _editor(draft_id)
    at.text_area(key=k(draft_id, "paste")).set_value(
        "---\ntitle: From paste\ntags: [go]\ndate: 2024-01-01\n---\nPasted."
    )
    at.button(key="use_paste").click().run()
    assert at.text_input(key=k(draft_id, "title")).value == "From paste"
    assert at.text_input(key=k(draft_id, "tags")).value == "go"
    assert at.text_area(key=k(draft_id, "body")).value == "Pasted."
    assert any("Ignored keys dev.to does not know: date" in c.value for c in at.caption)


def test_an_outdated_save_is_refused_shows_what_changed_and_keeps_the_text():
    draft_id = _draft(body="Original line.")
    at = _editor(draft_id)
    at.text_area(key=k(draft_id, "body")).set_value("My version.").run()
    rita = ensure_user("rita", Role.REVIEWER)
    with session_scope(_engine()) as session:  # someone else saves meanwhile
        save_revision(
            session=session,
            draft_id=draft_id,
            base_version=1,
            front_matter=FRONT,
            body="Rita's version.",
            author_id=rita.id,
        )
    at.button(key="save").click().run()
    assert not at.exception
    assert "changed while you were editing: revision 2 by rita" in at.error[0].value
    assert "kept as conflict revision 3" in at.error[0].value
    diff = at.code[0].value
    assert "-Original line." in diff and "+Rita's version." in diff
    assert at.text_area(key=k(draft_id, "body")).value == "My version."  # still in the editor
    kept = _revisions(draft_id)[2]
    assert (kept.origin, kept.body, kept.base_number) == (RevisionOrigin.CONFLICT, "My version.", 1)
    at.button(key="c2").click().run()  # keep my text, on top of the current revision
    at.button(key="save").click().run()
    assert [r.origin for r in _revisions(draft_id)] == [
        RevisionOrigin.GENERATED,
        RevisionOrigin.EDITED,
        RevisionOrigin.CONFLICT,
        RevisionOrigin.EDITED,
    ]
    assert _revisions(draft_id)[3].base_number == 2


def test_load_current_after_a_conflict():
    draft_id = _draft(body="Original.")
    at = _editor(draft_id)
    at.text_area(key=k(draft_id, "body")).set_value("Mine.").run()
    with session_scope(_engine()) as session:
        save_revision(
            session=session, draft_id=draft_id, base_version=1, front_matter=FRONT, body="Theirs.", author_id=None
        )
    at.button(key="save").click().run()
    at.button(key="c1").click().run()
    assert at.text_area(key=k(draft_id, "body")).value == "Theirs."
    assert not at.error and "saved" in at.markdown[1].value


def test_a_newer_revision_is_followed_when_nothing_was_typed():
    draft_id = _draft(body="Old.")
    at = _editor(draft_id)
    with session_scope(_engine()) as session:
        save_revision(
            session=session, draft_id=draft_id, base_version=1, front_matter=FRONT, body="New.", author_id=None
        )
    at.run()
    assert at.text_area(key=k(draft_id, "body")).value == "New."


def test_history_diff_and_restore():
    draft_id = _draft(body="first line")
    with session_scope(_engine()) as session:
        save_revision(
            session=session,
            draft_id=draft_id,
            base_version=1,
            front_matter=FRONT,
            body="second line",
            author_id=None,
            note="rewrite",
        )
    at = _editor(draft_id)
    history = at.dataframe[0].value
    assert list(history["revision"]) == [2, 1] and list(history["note"]) == ["rewrite", ""]
    assert "-first line" in at.code[0].value and "+second line" in at.code[0].value
    at.radio(key="diff_mode").set_value("side by side").run()
    assert "<table" in at.html[-1].value
    at.selectbox(key="restore_pick").set_value(1)
    at.button(key="restore").click().run()
    assert len(_revisions(draft_id)) == 2  # nothing happens before the dialog is confirmed
    assert "Restore revision 1 as a new revision 3?" in at.markdown[-1].value or any(
        "Restore revision 1 as a new revision 3?" in m.value for m in at.markdown
    )
    at.button(key="confirm_yes").click().run()
    assert not at.exception
    revisions = _revisions(draft_id)
    assert (revisions[-1].number, revisions[-1].origin, revisions[-1].body) == (
        3,
        RevisionOrigin.RESTORED,
        "first line",
    )
    assert at.text_area(key=k(draft_id, "body")).value == "first line"


def test_comments_and_submit_appear_on_the_timeline():
    draft_id = _draft()
    at = _editor(draft_id)
    at.text_area(key="comment_text").set_value("Check the second source.")
    at.selectbox(key="comment_revision").set_value(1)
    next(button for button in at.button if button.label == "Add comment").click()
    at.run()
    at.button(key="submit").click().run()
    assert not at.exception
    lines = [m.value for m in at.markdown if m.value.startswith("`")]
    assert lines[-2].endswith("editor commented (revision 1): Check the second source.")
    assert lines[-1].endswith("editor moved it from Draft to In review (revision 1)")


def test_saving_an_approved_draft_sends_it_back_to_review():
    draft_id = _draft()
    reviewer = ensure_user("rita", Role.REVIEWER)
    with session_scope(_engine()) as session:
        actor = session.get(User, reviewer.id)
        reviews.submit(session=session, draft_id=draft_id, actor=actor)
        reviews.approve(
            session=session,
            draft_id=draft_id,
            actor=actor,
            revision_number=reviews.load_draft(session=session, draft_id=draft_id).version,
            acknowledge_unsupported=True,
        )
    at = _editor(draft_id)
    assert "saving a change sends it back to review" in at.info[0].value
    at.text_area(key=k(draft_id, "body")).set_value("Late edit.").run()
    at.button(key="save").click().run()
    with session_scope(_engine()) as session:
        assert drafts_crud.get_draft(session=session, draft_id=draft_id).status is DraftStatus.IN_REVIEW


def test_export_download_is_for_reviewers_and_marks_the_draft_exported():
    draft_id = _draft()
    rita = ensure_user("rita", Role.REVIEWER)
    with session_scope(_engine()) as session:
        actor = session.get(User, rita.id)
        reviews.submit(session=session, draft_id=draft_id, actor=actor)
        reviews.approve(
            session=session,
            draft_id=draft_id,
            actor=actor,
            revision_number=reviews.load_draft(session=session, draft_id=draft_id).version,
            acknowledge_unsupported=True,
        )
    assert not _editor(draft_id).download_button  # an editor gets no download
    at = _editor(draft_id, role="reviewer", username="rita")
    assert at.download_button(key="download_md").proto.label == "Download grounded.md"
    at.download_button(key="download_md").click().run()
    assert not at.exception
    with session_scope(_engine()) as session:
        assert drafts_crud.get_draft(session=session, draft_id=draft_id).status is DraftStatus.EXPORTED
        export = reviews.timeline(session=session, draft_id=draft_id)[-1]
        assert export.kind is ReviewEventKind.EXPORT and export.actor == "rita"
        assert session.exec(select(Revision)).all()  # nothing was deleted


def test_only_admins_see_delete_and_it_asks_first():
    draft_id = _draft()
    assert "delete" not in [button.key for button in _editor(draft_id, role="reviewer").button]
    at = _editor(draft_id, role="admin")
    at.button(key="delete").click().run()
    at.button(key="confirm_no").click().run()  # cancelled: still there
    with session_scope(_engine()) as session:
        assert drafts_crud.get_draft(session=session, draft_id=draft_id) is not None
    assert "confirm_yes" not in [button.key for button in at.button]
    at.button(key="delete").click().run()
    at.button(key="confirm_yes").click().run()
    assert not at.exception
    with session_scope(_engine()) as session:
        assert drafts_crud.get_draft(session=session, draft_id=draft_id) is None


def test_unsaved_text_survives_a_visit_to_another_page():
    draft_id = _draft(body="Saved.")
    at = _editor(draft_id)
    at.text_area(key=k(draft_id, "body")).set_value("Typed, not saved.")
    at.text_input(key=k(draft_id, "title")).set_value("Typed title").run()
    at.switch_page("pages/drafts.py").run()
    at.switch_page("pages/editor.py").run()
    assert at.text_area(key=k(draft_id, "body")).value == "Typed, not saved."
    assert at.text_input(key=k(draft_id, "title")).value == "Typed title"
    assert "unsaved changes" in at.markdown[1].value
