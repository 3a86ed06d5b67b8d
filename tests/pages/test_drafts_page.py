"""Drafts page: listing, filters, pagination, opening a draft, a new draft from a pasted post, zip export."""

from sqlmodel import select

from db.models import Draft, DraftStatus, ReviewEventKind, Revision, Role, User
from db.session import session_scope
from editorial import reviews
from editorial.datastore import open_database
from editorial.drafts import create_generated_draft
from editorial.settings import get_settings
from pages.ui.state import Keys
from tests.pages.helpers import ensure_user, open_page

FRONT = {"description": "d", "tags": ["python"], "ai_disclosure_level": "fully_autonomous"}


def _engine():
    return open_database(get_settings())


def _seed(count: int, author: User | None = None) -> list[int]:
    with session_scope(_engine()) as session:
        return [
            create_generated_draft(
                session=session,
                title=f"Post {index:03d}",
                front_matter={**FRONT, "title": f"Post {index:03d}"},
                body="word " * (index + 1),
                author_id=author.id if author else None,
                collection_id=None,
                plan_id=None,
            ).id
            for index in range(count)
        ]


def test_lists_drafts_with_their_columns_and_paginates():
    ids = _seed(60, ensure_user("ed", Role.EDITOR))
    at = open_page("pages/drafts.py", role="editor")
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["id", "title", "status", "author", "collection", "last change", "words"]
    assert len(table) == 25 and table.iloc[0]["title"] == "Post 059" and table.iloc[0]["author"] == "ed"
    assert "60 draft(s) · page 1 of 3" in [c.value for c in at.caption]
    at.number_input(key="drafts_page").set_value(3).run()
    assert list(at.dataframe[0].value["id"]) == ids[:10][::-1]
    at.selectbox(key="drafts_sort").set_value("word count").run()
    assert list(at.dataframe[0].value["words"]) == list(range(10, 0, -1))  # page 3 of "most words first"


def test_filters_by_status_author_and_text():
    ed = ensure_user("ed", Role.EDITOR)
    ids = _seed(5, ed) + _seed(3)
    with session_scope(_engine()) as session:
        reviews.submit(session=session, draft_id=ids[1], actor=session.get(User, ed.id))
    at = open_page("pages/drafts.py")
    at.selectbox(key="drafts_status").set_value(DraftStatus.IN_REVIEW).run()
    assert list(at.dataframe[0].value["id"]) == [ids[1]]
    assert at.dataframe[0].value.iloc[0]["status"] == "In review"
    at.selectbox(key="drafts_status").set_value("All").run()
    at.selectbox(key="drafts_author").set_value(ed.id).run()
    assert len(at.dataframe[0].value) == 5
    at.text_input(key="drafts_text").set_value("post 002").run()
    assert list(at.dataframe[0].value["title"]) == ["Post 002"]
    at.text_input(key="drafts_text").set_value("no such text").run()
    assert not at.dataframe and at.info[0].value == "No draft matches."


def test_open_switches_to_the_editor_on_that_draft():
    ids = _seed(3)
    at = open_page("pages/drafts.py")
    at.selectbox(key="drafts_choice").set_value(ids[0]).run()
    at.button(key="drafts_open").click().run()
    assert not at.exception
    assert at.session_state[Keys.DRAFT_ID] == ids[0] and at.title[0].value == "Post 000"


def test_new_draft_from_a_pasted_post_with_front_matter():
    at = open_page("pages/drafts.py", role="editor")
    at.text_area(key="new_draft_text").set_value(
        "---\ntitle: Pasted post\ntags: Python, RAG\nlayout: post\n---\n\n# Hello\n\nBody <b>bold</b>.\n"
    )
    next(button for button in at.button if button.label == "Create and open").click()
    at.run()
    assert not at.exception and at.title[0].value == "Pasted post"
    with session_scope(_engine()) as session:
        draft = session.exec(select(Draft)).one()
        revision = session.exec(select(Revision)).one()
        author = session.get(User, draft.author_id)
    assert author.username == "editor" and draft.status is DraftStatus.DRAFT
    assert revision.front_matter == {"title": "Pasted post", "published": False, "tags": ["python", "rag"]}
    assert revision.body == "# Hello\n\nBody <b>bold</b>."


def test_bad_pasted_front_matter_is_one_line_error():
    at = open_page("pages/drafts.py", role="editor")
    at.text_area(key="new_draft_text").set_value("---\ntitle: !!python/object/apply:os.system [ls]\n---\nx")
    next(button for button in at.button if button.label == "Create and open").click()
    at.run()
    assert not at.exception and "YAML tag" in at.error[0].value
    with session_scope(_engine()) as session:
        assert session.exec(select(Draft)).all() == []


def test_zip_download_of_approved_drafts_is_for_reviewers_and_recorded():
    ids = _seed(2)
    reviewer = ensure_user("rita", Role.REVIEWER)
    with session_scope(_engine()) as session:
        actor = session.get(User, reviewer.id)
        for draft_id in ids:
            reviews.submit(session=session, draft_id=draft_id, actor=actor)
            reviews.approve(
                session=session,
                draft_id=draft_id,
                actor=actor,
                revision_number=reviews.load_draft(session=session, draft_id=draft_id).version,
                acknowledge_unsupported=True,
            )
    assert not [b for b in open_page("pages/drafts.py", role="editor").button if "zip" in b.label]
    at = open_page("pages/drafts.py", role="reviewer", username="rita")
    at.multiselect(key="drafts_zip_pick").set_value(ids).run()
    at.download_button(key="drafts_zip_download").click().run()
    assert not at.exception
    with session_scope(_engine()) as session:
        for draft_id in ids:
            assert session.get(Draft, draft_id).status is DraftStatus.EXPORTED
            last = reviews.timeline(session=session, draft_id=draft_id)[-1]
            assert last.kind is ReviewEventKind.EXPORT and last.actor == "rita"
