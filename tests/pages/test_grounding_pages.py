"""The groundedness report on the pages: Editor highlights and passages, Review's acknowledgement."""

import re

from db.crud import drafts as drafts_crud
from db.models import DraftStatus, Role, User
from db.session import session_scope
from editorial import reviews
from editorial.datastore import open_database
from editorial.drafts import create_draft, create_generated_draft
from editorial.grounding import store
from editorial.grounding.schemas import Passage
from editorial.grounding.verify import verify_text
from editorial.settings import get_settings
from pages.ui.state import Keys
from tests.pages.helpers import ensure_user, open_page

FRONT = {"title": "Grounded", "description": "d", "tags": ["python"], "ai_disclosure_level": "fully_autonomous"}
PASSAGES = {
    1: Passage(
        n=1,
        text="Chroma stores embeddings in named collections. It answers similarity queries with an HNSW index.",
        source_name="vector-stores.md",
        location="chunk 2",
    ),
    2: Passage(n=2, text="Chunking splits documents into pieces of about 1,000 characters.", source_name="chunking.md"),
}
GOOD = "Chroma stores embeddings in named collections [1]."
INVENTED = "Dr. Elon Musk founded Chroma at Berkeley <script>alert(1)</script> in 2017 [1]."
BODY = f"{GOOD} It answers similarity queries with an HNSW index [1].\n\n- {INVENTED}\n\nWhy does it matter?\n"
MARK = '<mark class="gr-unsupported">'


def _engine():
    return open_database(get_settings())


def _generated(body: str = BODY, submit: bool = False) -> int:
    editor = ensure_user("ed", Role.EDITOR)
    with session_scope(_engine()) as session:
        draft = create_generated_draft(
            session=session,
            title="Grounded",
            front_matter=FRONT,
            body=body,
            author_id=editor.id,
            collection_id=None,
            plan_id=None,
            report=verify_text(body, PASSAGES),
        )
        if submit:
            reviews.submit(session=session, draft_id=draft.id, actor=session.get(User, editor.id))
        return draft.id


def _plain(markdown: str) -> str:
    """Markdown as read by people (escapes removed)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _texts(at) -> list[str]:
    return [_plain(m.value) for m in at.markdown]


def _editor(draft_id: int):
    at = open_page("pages/editor.py", role="editor", username="ed", state={Keys.DRAFT_ID: draft_id})
    assert not at.exception
    return at


def test_editor_highlights_unsupported_sentences_safely_and_shows_the_passage_behind_any_sentence():
    draft_id = _generated()
    at = _editor(draft_id)
    preview = at.html[0].value
    assert f"<li>{MARK}Dr. Elon Musk founded Chroma at Berkeley &lt;script&gt;alert(1)&lt;/script&gt; in 2017 [1]." in (
        preview
    )
    assert "<script" not in preview and preview.count(MARK) == 1  # the supported sentences are not marked
    assert f"<p>{GOOD} It answers" in preview
    texts = _texts(at)
    assert any("Revision 1: 2 of 3 sentence(s) with a claim are supported by their sources (67%)" in t for t in texts)
    assert any(t.startswith("**Not found in the sources:** Elon · Musk · Berkeley · 2017") for t in texts)
    assert any("3. :red-background[- Dr. Elon Musk" in t or "3. :red-background[Dr. Elon Musk" in t for t in texts)

    inspector = at.selectbox(key=f"grounding_sentence_{draft_id}")
    assert inspector.value == 2  # the first unsupported sentence is picked
    assert any(t.startswith(":red[unsupported]") and "Elon Musk" in t for t in _texts(at))
    inspector.set_value(0).run()
    texts = _texts(at)
    assert any(t.startswith(":green[supported] — “Chroma stores embeddings") for t in texts)
    assert "**[1] vector-stores.md — chunk 2** · support score 1.00" in texts
    assert "> Chroma stores embeddings in named collections. It answers similarity queries with an HNSW index." in texts
    assert not at.exception


def test_editor_checks_unsaved_text_and_the_save_stores_a_fresh_report():
    draft_id = _generated()
    at = _editor(draft_id)
    at.text_area(key=f"editor.{draft_id}.body").set_value(BODY.replace(f"- {INVENTED}\n\n", "")).run()
    assert MARK not in at.html[0].value
    assert any(t.startswith(":material/fact_check: Your unsaved text: 2 of 2") for t in _texts(at))
    at.text_area(key=f"editor.{draft_id}.body").set_value(BODY + "\nHugging Face was founded in Paris [2].\n").run()
    assert at.html[0].value.count(MARK) == 2
    at.button(key="save").click().run()
    assert not at.exception
    with session_scope(_engine()) as session:
        draft = drafts_crud.get_draft(session=session, draft_id=draft_id)
        stored = store.current_report(session=session, draft=draft)
    assert (stored.revision_number, stored.checked_by, stored.unsupported_count) == (2, store.RECHECK, 2)
    assert stored.report.passages == PASSAGES
    assert any(t.startswith(":material/fact_check: :red-background[Revision 2: 2 of 4") for t in _texts(at))
    history = at.dataframe[0].value
    assert list(history["revision"]) == [2, 1] and [round(v, 2) for v in history["supported"]] == [0.5, 0.67]


def test_a_draft_without_sources_says_so_once_and_highlights_only_on_request():
    editor = ensure_user("ed", Role.EDITOR)
    with session_scope(_engine()) as session:
        draft_id = create_draft(session=session, actor_id=editor.id, title="Pasted", body=BODY).id
    at = _editor(draft_id)
    assert MARK not in at.html[0].value
    assert [i.value for i in at.info if "No sources behind this draft" in i.value] == [
        "No sources behind this draft: it was pasted or typed rather than written from a collection, so its 3 "
        "sentence(s) with a claim cannot be checked. A reviewer must acknowledge that to approve it."
    ]
    assert not any(t.startswith("**Not found in the sources") for t in _texts(at))  # no list of every name
    assert at.dataframe[0].value["supported"].isna().all()  # no share to show without sources
    at.toggle(key=f"grounding_highlight_{draft_id}").set_value(True).run()
    assert at.html[0].value.count(MARK) == 3


def test_review_refuses_approval_without_the_acknowledgement_and_records_it():
    draft_id = _generated(submit=True)
    at = open_page("pages/review.py", role="reviewer", username="rita")
    assert not at.exception and MARK in at.html[0].value
    at.button(key="approve").click().run()
    assert at.error[0].value == (
        "Revision 1 has 1 unsupported sentence(s): acknowledge them to approve "
        "(the Review page's checkbox, or --acknowledge-unsupported)."
    )
    with session_scope(_engine()) as session:
        assert drafts_crud.get_draft(session=session, draft_id=draft_id).status is DraftStatus.IN_REVIEW
    box = at.checkbox(key=f"review_ack_{draft_id}_1")
    assert box.label == "I have read the 1 unsupported sentence(s) and approve anyway"
    box.check().run()
    at.button(key="approve").click().run()
    assert not at.exception
    with session_scope(_engine()) as session:
        assert drafts_crud.get_draft(session=session, draft_id=draft_id).status is DraftStatus.APPROVED
        last = reviews.timeline(session=session, draft_id=draft_id)[-1]
        stored = store.current_report(session=session, draft=drafts_crud.get_draft(session=session, draft_id=draft_id))
    assert (last.actor, last.to_status) == ("rita", DraftStatus.APPROVED)
    assert last.note == "Acknowledged 1 unsupported sentence(s) in revision 1 (67% supported)."
    assert stored.acknowledged_by_id == ensure_user("rita", Role.REVIEWER).id


def test_review_of_a_supported_draft_needs_no_acknowledgement():
    draft_id = _generated(body=f"{GOOD}\n", submit=True)
    at = open_page("pages/review.py", role="reviewer", username="rita")
    assert not [c for c in at.checkbox if (c.key or "").startswith("review_ack_")]
    assert MARK not in at.html[0].value
    at.button(key="approve").click().run()
    with session_scope(_engine()) as session:
        assert drafts_crud.get_draft(session=session, draft_id=draft_id).status is DraftStatus.APPROVED
