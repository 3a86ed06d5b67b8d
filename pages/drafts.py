"""Drafts: every draft with status, author, collection, last change and words; filtered, sorted, paginated in SQL."""

import math

import streamlit as st

from db.crud import drafts as drafts_crud
from db.models import DraftStatus
from db.session import session_scope
from editorial.drafts import create_draft
from editorial.errors import EditorialError
from editorial.export import build_zip, prepare_exports, record_exports
from editorial.frontmatter import normalize_front_matter, parse_post, unknown_keys
from editorial.workflow import Action, can, status_label
from pages.ui import auth, resources
from pages.ui.state import Keys

PAGE_SIZES = (25, 50, 100)
ALL = "All"

user = auth.require(Action.VIEW)
engine = resources.engine()
st.title("Drafts")

with session_scope(engine) as session:
    authors = drafts_crud.draft_authors(session=session)
    collections = drafts_crud.collections(session=session)

filters = st.columns([1.2, 1, 1, 2, 1.4])
status = filters[0].selectbox(
    "Status", [ALL, *DraftStatus], format_func=lambda s: s if s == ALL else status_label(s), key="drafts_status"
)
author_names, collection_names = {ALL: ALL, **dict(authors)}, {ALL: ALL, **dict(collections)}
author = filters[1].selectbox("Author", list(author_names), format_func=author_names.get, key="drafts_author")
collection = filters[2].selectbox(
    "Collection", list(collection_names), format_func=collection_names.get, key="drafts_collection"
)
text = filters[3].text_input("Title or text contains", key="drafts_text")
sort = filters[4].selectbox("Sort by", list(drafts_crud.SORTS), key="drafts_sort")
where = {
    "status": None if status == ALL else status,
    "author_id": author if author != ALL else None,
    "collection_id": collection if collection != ALL else None,
    "text": text,
}

with session_scope(engine) as session:
    total = drafts_crud.count_drafts(session=session, **where)
size_column, page_column, count_column = st.columns([1, 1, 3])
page_size = size_column.selectbox("Per page", PAGE_SIZES, key="drafts_page_size")
pages = max(1, math.ceil(total / page_size))
page = page_column.number_input("Page", min_value=1, max_value=pages, value=1, step=1, key="drafts_page")
with session_scope(engine) as session:
    rows = drafts_crud.list_drafts(session=session, sort=sort, limit=page_size, offset=(page - 1) * page_size, **where)
count_column.caption(f"{total} draft(s) · page {page} of {pages}")

if rows:
    st.dataframe(
        [
            {
                "id": row.id,
                "title": row.title or "(untitled)",
                "status": status_label(row.status),
                "author": row.author or "—",
                "collection": row.collection or "—",
                "last change": row.updated_at,
                "words": row.word_count,
            }
            for row in rows
        ],
        hide_index=True,
        width="stretch",
        column_config={"last change": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")},
    )
    choice_column, open_column = st.columns([4, 1], vertical_alignment="bottom")
    chosen = choice_column.selectbox(
        "Draft",
        [row.id for row in rows],
        format_func=lambda i: f"#{i} {next(r.title for r in rows if r.id == i)}",
        key="drafts_choice",
    )
    if open_column.button("Open in the editor", icon=":material/edit:", key="drafts_open"):
        st.session_state[Keys.DRAFT_ID] = chosen
        st.switch_page("pages/editor.py")
else:
    st.info("No draft matches." if total == 0 and any(where.values()) else "No drafts yet.")

if can(user.role, Action.CREATE_DRAFT):
    with st.expander("New draft", icon=":material/add:"):
        with st.form("new_draft"):
            title = st.text_input("Title", key="new_draft_title")
            pasted = st.text_area(
                "Markdown (optional) — a post with its own front matter is understood", height=200, key="new_draft_text"
            )
            create = st.form_submit_button("Create and open", type="primary")
        if create:
            try:
                front_matter, body = parse_post(pasted or "")
                dropped = unknown_keys(front_matter)
                with session_scope(engine) as session:
                    draft = create_draft(
                        session=session,
                        actor_id=user.id,
                        title=title.strip() or str(front_matter.get("title") or "Untitled"),
                        front_matter={**normalize_front_matter(front_matter), **({"title": title} if title else {})},
                        body=body,
                    )
                if dropped:
                    st.toast(f"Ignored front matter keys dev.to does not know: {', '.join(dropped)}")
                st.session_state[Keys.DRAFT_ID] = draft.id
                st.switch_page("pages/editor.py")
            except EditorialError as exc:
                resources.show_error(exc)

if can(user.role, Action.EXPORT):
    with st.expander("Download approved drafts as a .zip", icon=":material/folder_zip:"):
        with session_scope(engine) as session:
            approved = drafts_crud.list_drafts(session=session, status=DraftStatus.APPROVED, limit=500)
        if not approved:
            st.caption("No approved drafts.")
        else:
            picked = st.multiselect(
                "Approved drafts",
                [row.id for row in approved],
                format_func=lambda i: f"#{i} {next(r.title for r in approved if r.id == i)}",
                key="drafts_zip_pick",
            )
            if picked:
                try:
                    with session_scope(engine) as session:
                        posts = prepare_exports(session=session, draft_ids=picked, actor=user)

                    def _record(posts=posts) -> None:
                        with session_scope(engine) as session:
                            record_exports(session=session, posts=posts, actor=auth.current_user(), where="zip")

                    st.download_button(
                        f"Download {len(posts)} post(s) as .zip",
                        data=build_zip(posts),
                        file_name="editorial-desk-posts.zip",
                        mime="application/zip",
                        on_click=_record,
                        icon=":material/download:",
                        key="drafts_zip_download",
                    )
                except EditorialError as exc:
                    resources.show_error(exc)
