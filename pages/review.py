"""Review: drafts waiting for review, a read-only preview with its sources check, approve or request changes."""

import math
from functools import partial

import streamlit as st

from db.crud import drafts as drafts_crud
from db.models import DraftStatus
from db.session import session_scope
from editorial import reviews
from editorial.errors import EditorialError
from editorial.frontmatter import compose_post, normalize_front_matter, validate_front_matter
from editorial.grounding import store as grounding_store
from editorial.links import DRAFT
from editorial.revisions import revision_text, unified_diff
from editorial.workflow import Action, status_label
from pages.ui import auth, grounding_panel, links, resources
from pages.ui.state import Keys

PAGE_SIZE = 20

user = auth.require(Action.APPROVE)
engine = resources.engine()
st.title("Review")

with session_scope(engine) as session:
    waiting = drafts_crud.count_drafts(session=session, status=DraftStatus.IN_REVIEW)
if waiting == 0:
    st.success("Nothing is waiting for review.", icon=":material/task_alt:")
    st.stop()

pages = max(1, math.ceil(waiting / PAGE_SIZE))
top = st.columns([3, 1])
page = top[1].number_input("Page", min_value=1, max_value=pages, value=1, key="review_page") if pages > 1 else 1
with session_scope(engine) as session:
    rows = drafts_crud.list_drafts(
        session=session,
        status=DraftStatus.IN_REVIEW,
        sort="last change (oldest first)",
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
labels = {
    row.id: f"#{row.id} {row.title or '(untitled)'} — {row.author or 'system'}, {row.word_count} words" for row in rows
}
if (linked := links.requested(DRAFT)) is not None and linked not in labels:  # a ?draft= link
    with session_scope(engine) as session:
        other = drafts_crud.get_draft(session=session, draft_id=linked)
    if other is None:
        st.error(f"Draft #{linked} does not exist (it may have been deleted).", icon=":material/block:")
    elif other.status is not DraftStatus.IN_REVIEW:
        st.error(f"Draft #{linked} is not waiting for review: it is {status_label(other.status).lower()}.")
    else:  # waiting, on another page of the queue: show it first
        labels = {other.id: f"#{other.id} {other.title or '(untitled)'} — {other.word_count} words", **labels}
    if linked in labels:
        st.session_state["review_pick"] = linked
elif linked is not None:
    st.session_state["review_pick"] = linked
draft_id = top[0].selectbox(
    f"{waiting} draft(s) waiting, oldest first", list(labels), format_func=labels.get, key="review_pick"
)
links.show(DRAFT, draft_id)

with session_scope(engine) as session:
    draft = reviews.load_draft(session=session, draft_id=draft_id)
# A button press reruns this script, which reads the draft again: an approval must name the
# revision shown on the run where the reviewer read it, not the one read now.
seen_key = f"review_seen_{draft_id}"
seen_revision = st.session_state.get(seen_key, draft.version)
st.session_state[seen_key] = draft.version
with session_scope(engine) as session:
    revision = drafts_crud.current_revision(session=session, draft=draft)
    events = reviews.timeline(session=session, draft_id=draft_id)
    history = {r.number: r for r in drafts_crud.list_revisions(session=session, draft_id=draft_id)}
    stored_report = grounding_store.current_report(session=session, draft=draft)
shown = grounding_panel.for_revision(stored_report)

front_matter = normalize_front_matter(revision.front_matter if revision else {})
body = revision.body if revision else ""
problems = validate_front_matter(front_matter, body)

preview_column, side_column = st.columns([3, 2])
with preview_column:
    st.caption(f"Revision {draft.version} · read-only preview")
    grounding_panel.summary(shown)
    highlight = grounding_panel.highlight_toggle(shown, key=f"review_highlight_{draft_id}")
    with st.container(height=620, border=True):
        grounding_panel.preview(front_matter, body, shown, highlight=highlight)
    with st.expander("Sources check", expanded=bool(shown and shown.report.unsupported)):
        grounding_panel.details(shown, key=f"review_sentence_{draft_id}", with_summary=False)
with side_column:
    st.markdown("**Front matter**")
    st.code(compose_post(front_matter, "").strip(), language="yaml")
    for field, message in problems.items():
        st.caption(f":red[{field}: {message}]")
    last_review = next(
        (e for e in reversed(events) if e.to_status in (DraftStatus.CHANGES_REQUESTED, DraftStatus.APPROVED)), None
    )
    if last_review and last_review.revision_number in history and last_review.revision_number != draft.version:
        with st.expander(f"Changes since the last review (revision {last_review.revision_number})"):
            st.code(
                unified_diff(
                    revision_text(history[last_review.revision_number]),
                    revision_text(revision),
                    old_label=f"revision {last_review.revision_number}",
                    new_label=f"revision {draft.version}",
                ),
                language="diff",
            )
    with st.expander("Timeline", expanded=False):
        for entry in events:
            st.markdown(f"`{entry.created_at:%Y-%m-%d %H:%M}` {reviews.describe(entry)}")

    note = st.text_area("Note (required to request changes)", key=f"review_note_{draft_id}")
    acknowledged = grounding_panel.acknowledgement(stored_report, key=f"review_ack_{draft_id}_{draft.version}")
    approve_column, changes_column, comment_column = st.columns(3)
    action = None
    if approve_column.button(
        "Approve", type="primary", icon=":material/check:", key="approve", disabled=bool(problems)
    ):
        action = partial(reviews.approve, acknowledge_unsupported=acknowledged)
    if changes_column.button("Request changes", icon=":material/undo:", key="request_changes"):
        action = reviews.request_changes
    if comment_column.button("Comment", icon=":material/comment:", key="comment_only"):
        action = reviews.add_comment
    if action is not None:
        try:
            with session_scope(engine) as session:
                action(session=session, draft_id=draft_id, actor=user, note=note, revision_number=seen_revision)
            st.toast(f"Draft {draft_id}: done.")
            st.rerun()
        except EditorialError as exc:
            resources.show_error(exc)
    if st.button("Open in the editor", icon=":material/edit:", key="review_open"):
        st.session_state[Keys.DRAFT_ID] = draft_id
        st.switch_page("pages/editor.py")
    st.caption(f"Status: {status_label(draft.status)}")
