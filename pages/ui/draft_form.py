"""The editor's widget state for one draft: load a revision into the widgets, read them back, the front matter form."""

from __future__ import annotations

import streamlit as st

from db.models import Revision
from editorial.frontmatter import AI_DISCLOSURE_LEVELS, normalize_front_matter, parse_tags

TEXT_FIELDS = ("title", "description", "cover_image", "canonical_url", "series")
LABELS = {
    "title": "Title",
    "description": "Description",
    "tags": "Tags (up to 4, comma separated)",
    "cover_image": "Cover image URL",
    "canonical_url": "Canonical URL",
    "series": "Series",
    "published": "Published on dev.to",
    "ai_disclosure_level": "AI disclosure",
}
AI_LABELS = {
    "": "(not set)",
    "not_disclosed": "not disclosed",
    "no_ai": "no AI",
    "some_ai": "some AI",
    "fully_autonomous": "fully autonomous",
}


def key(draft_id: int, field: str) -> str:
    """The session-state key of one editor field of one draft."""
    return f"editor.{draft_id}.{field}"


def base_version(draft_id: int) -> int | None:
    """The revision number the editor's text started from (None before loading)."""
    return st.session_state.get(key(draft_id, "base"))


def load(draft_id: int, front_matter: dict, body: str, base: int | None) -> None:
    """Put front matter and body into the widgets (and remember the base revision when given)."""
    fm = normalize_front_matter(front_matter)
    for field in TEXT_FIELDS:
        st.session_state[key(draft_id, field)] = str(fm.get(field, "") or "")
    st.session_state[key(draft_id, "tags")] = ", ".join(fm.get("tags", []))
    st.session_state[key(draft_id, "published")] = bool(fm.get("published", False))
    level = fm.get("ai_disclosure_level", "")
    st.session_state[key(draft_id, "ai_disclosure_level")] = level if level in AI_DISCLOSURE_LEVELS else ""
    st.session_state[key(draft_id, "body")] = body
    if base is not None:
        st.session_state[key(draft_id, "base")] = base


def load_on_next_run(draft_id: int, front_matter: dict, body: str, base: int | None) -> None:
    """Ask for :func:`load` at the start of the next run (widgets drawn in this run cannot change)."""
    st.session_state[key(draft_id, "pending")] = (dict(front_matter), body, base)


def apply_pending_load(draft_id: int) -> None:
    """Carry out a load asked for by :func:`load_on_next_run` (call before drawing the widgets)."""
    pending = st.session_state.pop(key(draft_id, "pending"), None)
    if pending is not None:
        load(draft_id, *pending)


def remember(draft_id: int) -> None:
    """Keep a copy of the typed text outside the widgets (Streamlit drops widget state on other pages)."""
    st.session_state[key(draft_id, "typed")] = (front_matter(draft_id), body(draft_id))


def restore_if_dropped(draft_id: int) -> None:
    """After a visit to another page, put the remembered typed text back into the widgets."""
    typed = st.session_state.get(key(draft_id, "typed"))
    if typed is not None and key(draft_id, "body") not in st.session_state:
        load(draft_id, typed[0], typed[1], None)


def load_revision(draft_id: int, revision: Revision) -> None:
    """Load ``revision`` and make it the base of the next save."""
    load(draft_id, dict(revision.front_matter or {}), revision.body, revision.number)


def front_matter(draft_id: int) -> dict:
    """The front matter as typed (raw: tags as a list, empty fields kept for validation)."""
    state = st.session_state
    fm: dict = {field: state.get(key(draft_id, field), "") for field in TEXT_FIELDS}
    fm["tags"] = parse_tags(state.get(key(draft_id, "tags"), ""))
    fm["published"] = bool(state.get(key(draft_id, "published"), False))
    level = state.get(key(draft_id, "ai_disclosure_level"), "")
    if level:
        fm["ai_disclosure_level"] = level
    return fm


def body(draft_id: int) -> str:
    """The Markdown body as typed."""
    return st.session_state.get(key(draft_id, "body"), "")


def _message(errors: dict[str, str], field: str) -> None:
    if field in errors:
        st.caption(f":red[:material/error: {errors[field]}]")


def front_matter_form(draft_id: int, errors: dict[str, str], *, disabled: bool = False) -> None:
    """The dev.to front matter fields, each with its validation message right under it."""
    top = st.columns([3, 2])
    with top[0]:
        st.text_input(LABELS["title"], key=key(draft_id, "title"), max_chars=200, disabled=disabled)
        _message(errors, "title")
    with top[1]:
        st.text_input(LABELS["tags"], key=key(draft_id, "tags"), disabled=disabled)
        _message(errors, "tags")
    st.text_input(LABELS["description"], key=key(draft_id, "description"), disabled=disabled)
    _message(errors, "description")
    row = st.columns(3)
    for column, field in zip(row, ("cover_image", "canonical_url", "series"), strict=True):
        with column:
            st.text_input(LABELS[field], key=key(draft_id, field), disabled=disabled)
            _message(errors, field)
    last = st.columns(2)
    with last[0]:
        st.selectbox(
            LABELS["ai_disclosure_level"],
            list(AI_LABELS),
            format_func=AI_LABELS.get,
            key=key(draft_id, "ai_disclosure_level"),
            disabled=disabled,
        )
        _message(errors, "ai_disclosure_level")
    with last[1]:
        st.checkbox(LABELS["published"], key=key(draft_id, "published"), disabled=disabled)
        st.caption("Unticked: dev.to keeps the post as an unpublished draft.")
