"""The assists in the Editor (description, tags, tone) and on the Sources page (summarize a source).

Every suggestion is shown beside the current value with its own Accept button; accepting puts it into the
editor's fields (the editor then saves through the normal Save), nothing is applied silently.
"""

from __future__ import annotations

import streamlit as st

from editorial.assists.services import editor_services
from editorial.assists.suggest import Suggestion, suggest_description, suggest_tags
from editorial.assists.summaries import summarize_source
from editorial.assists.tone import ToneReport, check_tone, requested_tone
from editorial.errors import EditorialError
from editorial.frontmatter import MAX_TAGS, parse_tags
from pages.ui import draft_form, resources

INSERT_KEY = "assist.insert"
"""A pending text (an Ask answer with its citation) for the draft open in the Editor."""


def _key(draft_id: int, name: str) -> str:
    return f"assist.{draft_id}.{name}"


# --------------------------------------------------------------------------- Ask → Editor
def queue_insert(draft_id: int, text: str) -> None:
    """Ask the Editor to append ``text`` to the draft's body the next time it opens (not saved until Save)."""
    st.session_state[INSERT_KEY] = {"draft_id": draft_id, "text": text}


def apply_pending_insert(draft_id: int) -> None:
    """Append a queued answer to the body widget of ``draft_id`` (call before the widgets are drawn)."""
    pending = st.session_state.get(INSERT_KEY)
    if not pending or pending.get("draft_id") != draft_id:
        return
    del st.session_state[INSERT_KEY]
    body = draft_form.body(draft_id).rstrip()
    st.session_state[draft_form.key(draft_id, "body")] = (
        f"{body}\n\n{pending['text'].strip()}\n" if body else pending["text"]
    )
    st.toast("The answer from Ask was added at the end of the text: review it, then Save.")


# --------------------------------------------------------------------------- Editor assists
def _accept_description(draft_id: int, value: str) -> None:
    st.session_state[draft_form.key(draft_id, "description")] = value
    st.session_state.pop(_key(draft_id, "description"), None)


def _set_tags(draft_id: int, tags: list[str]) -> None:
    st.session_state[draft_form.key(draft_id, "tags")] = ", ".join(tags[:MAX_TAGS])


def _add_tag(draft_id: int, tag: str) -> None:
    tags = parse_tags(st.session_state.get(draft_form.key(draft_id, "tags"), ""))
    if tag not in tags and len(tags) < MAX_TAGS:
        _set_tags(draft_id, [*tags, tag])


def _accept_tags(draft_id: int, tags: list[str]) -> None:
    _set_tags(draft_id, tags)
    st.session_state.pop(_key(draft_id, "tags"), None)


def _dismiss(draft_id: int, name: str) -> None:
    st.session_state.pop(_key(draft_id, name), None)


def _services(with_generator: bool):
    settings = resources.settings()
    return editor_services(
        settings,
        resources.engine(),
        resources.embeddings(),
        with_generator=with_generator,
        model_for=resources.chat_model_for,
    )


def _run(draft_id: int, name: str, work) -> None:
    try:
        with st.spinner("Working…"):
            st.session_state[_key(draft_id, name)] = work()
    except EditorialError as exc:
        resources.show_error(exc)


def editor_assists(draft_id: int, *, title: str, body: str, front_matter: dict, disabled: bool = False) -> None:
    """Three one-click assists for the draft open in the Editor, each result beside the current value."""
    with st.expander("Assists: description, tags, tone", icon=":material/auto_fix_high:"):
        buttons = st.columns(3)
        if buttons[0].button("Suggest a description", key=_key(draft_id, "go_description"), disabled=disabled):
            _run(
                draft_id,
                "description",
                lambda: suggest_description(
                    _services(True),
                    title=title,
                    body=body,
                    current=str(front_matter.get("description") or ""),
                    draft_id=draft_id,
                ),
            )
        if buttons[1].button("Suggest tags", key=_key(draft_id, "go_tags"), disabled=disabled):
            _run(
                draft_id,
                "tags",
                lambda: suggest_tags(
                    _services(False), title=title, body=body, current=front_matter.get("tags") or [], draft_id=draft_id
                ),
            )
        if buttons[2].button("Check the tone", key=_key(draft_id, "go_tone"), disabled=disabled):
            services = _services(False)
            _run(
                draft_id,
                "tone",
                lambda: check_tone(
                    services.settings,
                    services.engine,
                    services.embeddings,
                    body=body,
                    tone=requested_tone(services.engine, draft_id),
                    draft_id=draft_id,
                ),
            )
        _show_description(draft_id, st.session_state.get(_key(draft_id, "description")))
        _show_tags(draft_id, st.session_state.get(_key(draft_id, "tags")))
        _show_tone(draft_id, st.session_state.get(_key(draft_id, "tone")))


def _show_description(draft_id: int, found: Suggestion | None) -> None:
    if found is None:
        return
    st.markdown(f"**Description** · {found.method}")
    now, new = st.columns(2)
    now.caption("Current")
    now.write(found.current or "(empty)")
    new.caption(f"Suggested ({len(found.suggested)} characters)")
    new.write(found.suggested or "(nothing to suggest)")
    for note in found.notes:
        st.caption(note)
    accept, dismiss = st.columns([1, 4])
    accept.button(
        "Accept description",
        key=_key(draft_id, "accept_description"),
        disabled=not found.suggested or not found.differs,
        on_click=_accept_description,
        args=(draft_id, found.suggested),
    )
    dismiss.button(
        "Dismiss", key=_key(draft_id, "dismiss_description"), on_click=_dismiss, args=(draft_id, "description")
    )


def _show_tags(draft_id: int, found: Suggestion | None) -> None:
    if found is None:
        return
    current = parse_tags(st.session_state.get(draft_form.key(draft_id, "tags"), ""))
    st.markdown(f"**Tags** · {found.method}")
    now, new = st.columns(2)
    now.caption("Current")
    now.write(", ".join(current) or "(none)")
    new.caption("Suggested (click one to add it)")
    if not found.suggested:
        new.write("(nothing to suggest)")
    chips = new.columns(max(1, len(found.suggested)))
    for column, tag in zip(chips, found.suggested, strict=False):
        column.button(
            f"+ {tag}",
            key=_key(draft_id, f"add_tag_{tag}"),
            disabled=tag in current or len(current) >= MAX_TAGS,
            on_click=_add_tag,
            args=(draft_id, tag),
        )
    accept, dismiss = st.columns([1, 4])
    accept.button(
        "Use these tags",
        key=_key(draft_id, "accept_tags"),
        disabled=not found.suggested or found.suggested == current,
        on_click=_accept_tags,
        args=(draft_id, found.suggested),
    )
    dismiss.button("Dismiss", key=_key(draft_id, "dismiss_tags"), on_click=_dismiss, args=(draft_id, "tags"))


def _show_tone(draft_id: int, found: ToneReport | None) -> None:
    if found is None:
        return
    st.markdown(f"**Tone** · requested: *{found.requested}* · {found.method}")
    if not found.sections:
        st.caption("No prose to check yet.")
    for section in found.sections:
        share = round(section.on_tone_share * 100)
        st.markdown(f"*{section.heading}* — {share}% of {section.sentences} sentences keep the tone")
        for item in section.off:
            st.caption(f":orange[reads as {item.reads_as}] — {item.sentence}")
    st.button("Dismiss", key=_key(draft_id, "dismiss_tone"), on_click=_dismiss, args=(draft_id, "tone"))


# --------------------------------------------------------------------------- Sources page
def source_summary(collection, source) -> None:
    """ "Summarize this source": a button and the summary (stored for this session only)."""
    key = f"assist.source.{source.id}"
    if st.button("Summarize this source", key=f"summarize_{source.id}", icon=":material/summarize:"):
        try:
            settings = resources.settings()
            services = editor_services(settings, resources.engine(), resources.embeddings(), with_generator=False)
            with st.spinner("Summarizing…"):
                st.session_state[key] = summarize_source(
                    services.settings,
                    services.engine,
                    services.embeddings,
                    chroma_name=collection.chroma_name,
                    source_key=source.source_key,
                    source_name=source.name,
                    collection_id=collection.id,
                )
        except EditorialError as exc:
            resources.show_error(exc)
    summary = st.session_state.get(key)
    if summary is not None:
        with st.container(border=True):
            st.caption(f"What this source covers · {summary.method}")
            st.write(summary.text)
