"""Review page, and the whole editorial flow of the acceptance list through the UI."""

import io
import zipfile

from sqlmodel import select
from streamlit.testing.v1 import AppTest

from db.crud import drafts as drafts_crud
from db.models import DraftStatus, Role, User
from db.session import session_scope
from editorial import reviews
from editorial.datastore import open_database
from editorial.drafts import create_generated_draft, save_revision
from editorial.export import prepare_exports
from editorial.frontmatter import normalize_front_matter, parse_post
from editorial.settings import get_settings
from pages.ui.state import Keys
from tests.pages.helpers import APP, ensure_user, open_page
from tests.timing import scaled

FRONT = {"title": "Grounded", "description": "d", "tags": ["python"], "ai_disclosure_level": "fully_autonomous"}


def _engine():
    return open_database(get_settings())


def _waiting(body: str = "Text <script>x</script>.", **front) -> int:
    editor = ensure_user("ed", Role.EDITOR)
    with session_scope(_engine()) as session:
        draft = create_generated_draft(
            session=session,
            title="Grounded",
            front_matter={**FRONT, **front},
            body=body,
            author_id=editor.id,
            collection_id=None,
            plan_id=None,
        )
        reviews.submit(session=session, draft_id=draft.id, actor=session.get(User, editor.id))
        return draft.id


def _status(draft_id: int) -> DraftStatus:
    with session_scope(_engine()) as session:
        return drafts_crud.get_draft(session=session, draft_id=draft_id).status


def test_nothing_waiting():
    at = open_page("pages/review.py", role="reviewer")
    assert not at.exception and at.success[0].value == "Nothing is waiting for review."


def test_reviewer_sees_waiting_drafts_with_a_read_only_preview():
    draft_id = _waiting()
    at = open_page("pages/review.py", role="reviewer")
    assert not at.exception
    assert at.selectbox(key="review_pick").options == [f"#{draft_id} Grounded — ed, 4 words"]
    assert "&lt;script&gt;" in at.html[0].value and "<script" not in at.html[0].value
    assert (
        not at.text_area(key=f"editor.{draft_id}.body")
        if False
        else not [t for t in at.text_area if "editor." in (t.key or "")]
    )
    assert "title: Grounded" in at.code[0].value


def test_request_changes_needs_a_note_then_approve():
    draft_id = _waiting()
    at = open_page("pages/review.py", role="reviewer")
    at.button(key="request_changes").click().run()
    assert "note is required" in at.error[0].value and _status(draft_id) is DraftStatus.IN_REVIEW
    at.text_area(key=f"review_note_{draft_id}").set_value("Cite the benchmark.")
    at.button(key="request_changes").click().run()
    assert not at.exception and _status(draft_id) is DraftStatus.CHANGES_REQUESTED
    assert at.success[0].value == "Nothing is waiting for review."
    with session_scope(_engine()) as session:
        reviews.submit(
            session=session, draft_id=draft_id, actor=session.exec(select(User).where(User.username == "ed")).one()
        )
    at.run()
    at.button(key="approve").click().run()
    assert _status(draft_id) is DraftStatus.APPROVED


def test_invalid_drafts_cannot_be_approved():
    draft_id = _waiting()
    with session_scope(_engine()) as session:  # made invalid after submission by a direct change of its text
        revision = drafts_crud.current_revision(
            session=session, draft=drafts_crud.get_draft(session=session, draft_id=draft_id)
        )
        revision.front_matter = {**revision.front_matter, "tags": ["a", "b", "c", "d", "e"]}
        session.add(revision)
    at = open_page("pages/review.py", role="reviewer")
    assert at.button(key="approve").disabled
    assert any("At most 4 tags" in c.value for c in at.caption)


def _login(at: AppTest, username: str, password: str) -> AppTest:
    at.text_input(key="login_name").set_value(username)
    at.text_input(key="login_password").set_value(password)
    next(button for button in at.button if button.label == "Log in").click()
    return at.run()


def _click(at: AppTest, label: str) -> AppTest:
    next(button for button in at.button if button.label == label).click()
    return at.run()


def test_acceptance_flow_from_a_fresh_install():
    # 1. First visit: create the admin.
    admin = AppTest.from_file(APP, default_timeout=scaled(120)).run()
    admin.text_input(key="first_admin_name").set_value("boss")
    admin.text_input(key="first_admin_password").set_value("boss-quiet-harbour")
    admin.text_input(key="first_admin_repeat").set_value("boss-quiet-harbour")
    _click(admin, "Create the admin account")
    assert admin.session_state[Keys.ROLE] == "admin"

    # 2. The admin adds an editor and a reviewer on the Users page.
    admin.switch_page("pages/users.py").run()
    for name, role in (("ed", "editor"), ("rita", "reviewer")):
        admin.text_input(key="add_user_name").set_value(name)
        admin.text_input(key="add_user_password").set_value(f"{name}-quiet-harbour")
        admin.selectbox(key="add_user_role").set_value(role)
        _click(admin, "Add")
        assert not admin.exception
    assert list(admin.dataframe[0].value["user"]) == ["boss", "ed", "rita"]

    # 3. The writing chain produced a draft.
    with session_scope(_engine()) as session:
        draft_id = create_generated_draft(
            session=session,
            title="Small models, grounded",
            body="Generated text [1].",
            front_matter={"title": "Small models, grounded", "tags": ["ai"], "ai_disclosure_level": "fully_autonomous"},
            author_id=None,
            collection_id=None,
            plan_id=None,
            note="written from plan 1",
        ).id

    # 4. The editor logs in, edits Markdown and front matter, saves and submits.
    editor = _login(AppTest.from_file(APP, default_timeout=scaled(120)).run(), "ed", "ed-quiet-harbour")
    editor.session_state[Keys.DRAFT_ID] = draft_id
    editor.switch_page("pages/editor.py").run()
    editor.text_area(key=f"editor.{draft_id}.body").set_value("# Intro\n\nEdited text [1].")
    editor.text_input(key=f"editor.{draft_id}.description").set_value("What small models can ground")
    editor.text_input(key=f"editor.{draft_id}.tags").set_value("ai, python")
    editor.run()
    editor.button(key="save").click().run()
    editor.button(key="submit").click().run()
    assert not editor.exception and _status(draft_id) is DraftStatus.IN_REVIEW
    assert not editor.download_button  # an editor cannot export...
    editor.switch_page("pages/review.py").run()
    assert "may not approve" in editor.error[0].value  # ... nor approve
    editor.switch_page("pages/users.py").run()
    assert "may not manage users" in editor.error[0].value  # ... nor manage users

    # 5. The reviewer requests changes.
    reviewer = _login(AppTest.from_file(APP, default_timeout=scaled(120)).run(), "rita", "rita-quiet-harbour")
    reviewer.switch_page("pages/review.py").run()
    reviewer.text_area(key=f"review_note_{draft_id}").set_value("Add a conclusion.")
    reviewer.button(key="request_changes").click().run()
    assert _status(draft_id) is DraftStatus.CHANGES_REQUESTED

    # 6. The editor revises and resubmits.
    editor.switch_page("pages/editor.py").run()
    editor.text_area(key=f"editor.{draft_id}.body").set_value("# Intro\n\nEdited text [1].\n\n## Conclusion\n\nDone.")
    editor.run()
    editor.button(key="save").click().run()
    editor.button(key="submit").click().run()
    assert _status(draft_id) is DraftStatus.IN_REVIEW

    # 7. The reviewer approves and downloads the dev.to-ready .md.
    reviewer.run()
    reviewer.button(key="approve").click().run()
    assert _status(draft_id) is DraftStatus.APPROVED
    reviewer.session_state[Keys.DRAFT_ID] = draft_id
    reviewer.switch_page("pages/editor.py").run()
    download = reviewer.download_button(key="download_md")
    assert download.proto.label == "Download small-models-grounded.md"
    with session_scope(_engine()) as session:
        rita = session.exec(select(User).where(User.username == "rita")).one()
        [post] = prepare_exports(session=session, draft_ids=[draft_id], actor=rita)
    download.click().run()
    assert _status(draft_id) is DraftStatus.EXPORTED
    front_matter, body = parse_post(post.text)
    assert normalize_front_matter(front_matter) == {
        "title": "Small models, grounded",
        "published": False,
        "description": "What small models can ground",
        "tags": ["ai", "python"],
        "ai_disclosure_level": "fully_autonomous",
    }
    assert body.endswith("## Conclusion\n\nDone.")
    assert zipfile.ZipFile(
        io.BytesIO(__import__("editorial.export", fromlist=["build_zip"]).build_zip([post]))
    ).namelist()

    # 8. The timeline shows every step.
    with session_scope(_engine()) as session:
        steps = [
            (e.kind.value, e.actor, e.to_status and e.to_status.value)
            for e in reviews.timeline(session=session, draft_id=draft_id)
        ]
    assert steps == [
        ("created", None, "draft"),
        ("status_change", "ed", "in_review"),
        ("status_change", "rita", "changes_requested"),
        ("status_change", "ed", "in_review"),
        ("status_change", "rita", "approved"),
        ("export", "rita", "exported"),
    ]
    reviewer.run()
    timeline = [m.value for m in reviewer.markdown if m.value.startswith("`")]
    assert timeline[-1].endswith("rita exported it (revision 3): small-models-grounded.md → download")


def test_approve_refuses_a_revision_saved_after_the_reviewer_opened_the_draft():
    draft_id = _waiting(body="What the reviewer reads.")
    at = open_page("pages/review.py", role="reviewer")
    assert any(c.value == "Revision 1 · read-only preview" for c in at.caption)
    with session_scope(_engine()) as session:  # meanwhile the editor saves more text and publishes
        save_revision(
            session=session,
            draft_id=draft_id,
            base_version=1,
            front_matter={**FRONT, "published": True},
            body="What the reviewer reads. And an unreviewed claim.",
            author_id=session.exec(select(User).where(User.username == "ed")).one().id,
        )
    at.button(key="approve").click().run()
    assert not at.exception
    assert at.error[0].value == (
        f"Draft {draft_id} changed while you reviewed it: you saw revision 1, the current one is revision 2. "
        "Review revision 2 before you approve it."
    )
    assert _status(draft_id) is DraftStatus.IN_REVIEW
    assert any(c.value == "Revision 2 · read-only preview" for c in at.caption)  # what would be approved now
    at.button(key="approve").click().run()
    assert _status(draft_id) is DraftStatus.APPROVED
    with session_scope(_engine()) as session:
        draft = reviews.load_draft(session=session, draft_id=draft_id)
        assert reviews.approved_revision(session=session, draft=draft).number == 2
        [post] = prepare_exports(
            session=session,
            draft_ids=[draft_id],
            actor=session.exec(select(User).where(User.username == "reviewer")).one(),
        )
        assert "And an unreviewed claim." in post.text and post.revision_number == 2
