"""Editor: Markdown with a live (escaped) preview, dev.to front matter, revisions, timeline, export and publish."""

import streamlit as st

from db.crud import drafts as drafts_crud
from db.models import DraftStatus, RevisionOrigin
from db.session import session_scope
from editorial import reviews
from editorial.devto import DevtoClient, api_key_source, publish_draft
from editorial.drafts import DraftConflict, delete_draft, restore_revision, save_revision
from editorial.errors import EditorialError
from editorial.export import prepare_exports, record_exports
from editorial.frontmatter import normalize_front_matter, parse_post, unknown_keys, validate_front_matter
from editorial.grounding import store as grounding_store
from editorial.links import DRAFT
from editorial.revisions import revision_text, side_by_side_html, unified_diff
from editorial.text import count_words, read_time_minutes
from editorial.workflow import EXPORTABLE, Action, available_transitions, can, save_effect, status_label
from pages.ui import assist_panel, auth, draft_form, editor_comforts, grounding_panel, links, resources
from pages.ui.state import Keys

user = auth.require(Action.VIEW)
engine = resources.engine()

# ----------------------------------------------------------------------------- which draft
with session_scope(engine) as session:
    recent = drafts_crud.list_drafts(session=session, limit=100)
choices = {row.id: f"#{row.id} {row.title or '(untitled)'} — {status_label(row.status)}" for row in recent}
linked = links.requested(DRAFT)  # a new ?draft= link wins over the session's last pick
if linked is not None:
    with session_scope(engine) as session:
        found = drafts_crud.get_draft(session=session, draft_id=linked) is not None
    if found:
        st.session_state[Keys.DRAFT_ID] = linked
        st.session_state.pop("editor_pick", None)
    else:
        st.error(f"Draft #{linked} does not exist (it may have been deleted).", icon=":material/block:")
selected = st.session_state.get(Keys.DRAFT_ID)
if selected is not None and selected not in choices:
    with session_scope(engine) as session:
        extra = drafts_crud.get_draft(session=session, draft_id=selected)
    if extra is not None:
        choices = {extra.id: f"#{extra.id} {extra.title} — {status_label(extra.status)}", **choices}
if not choices:
    st.title("Editor")
    st.info("No drafts yet: create one on the Drafts page, or write one from a plan.")
    st.stop()
ids = list(choices)
draft_id = st.sidebar.selectbox(
    "Draft", ids, index=ids.index(selected) if selected in ids else 0, format_func=choices.get, key="editor_pick"
)
st.session_state[Keys.DRAFT_ID] = draft_id
links.show(DRAFT, draft_id)

with session_scope(engine) as session:
    draft = reviews.load_draft(session=session, draft_id=draft_id)
    current = drafts_crud.current_revision(session=session, draft=draft)
    history = drafts_crud.list_revisions(session=session, draft_id=draft_id)
    events = reviews.timeline(session=session, draft_id=draft_id)
    stored_report = grounding_store.current_report(session=session, draft=draft)
    shares = grounding_store.supported_shares(session=session, draft_id=draft_id)
by_number = {revision.number: revision for revision in history}
conflict_key = draft_form.key(draft_id, "conflict")
draft_form.restore_if_dropped(draft_id)
draft_form.apply_pending_load(draft_id)
kept = editor_comforts.kept(draft_id)
if kept is not None and draft_form.key(draft_id, "body") not in st.session_state:  # after a reload or in a new tab
    draft_form.load(draft_id, kept.front_matter, kept.body, kept.base)
    st.session_state[draft_form.key(draft_id, "kept_notice")] = kept.base


def _typed_matches(revision) -> bool:
    return revision is not None and (
        normalize_front_matter(draft_form.front_matter(draft_id)) == normalize_front_matter(revision.front_matter)
        and draft_form.body(draft_id) == revision.body
    )


base = draft_form.base_version(draft_id)
stale = base != draft.version and current is not None and not st.session_state.get(conflict_key)
if stale and (base is None or _typed_matches(by_number.get(base))):  # nothing typed here: follow the newest
    draft_form.load_revision(draft_id, current)
    base = current.number
assist_panel.apply_pending_insert(draft_id)  # an answer copied from Ask (saved only through Save)

# ----------------------------------------------------------------------------- header and review actions
st.title(draft.title or "(untitled)")
status = DraftStatus(draft.status)
typed_fm, typed_body = draft_form.front_matter(draft_id), draft_form.body(draft_id)
words = count_words(typed_body)
info = st.columns([1.3, 1, 1, 1, 2.2], vertical_alignment="center")
info[0].markdown(f"**{status_label(status)}** · revision {draft.version}")
info[1].metric("Words", f"{words:,}")
info[2].metric("Read time", f"{read_time_minutes(words)} min")
unsaved = base is not None and (base != draft.version or not _typed_matches(by_number.get(base)))
info[3].markdown(":orange[:material/edit: unsaved changes]" if unsaved else ":green[:material/check: saved]")
if unsaved:
    editor_comforts.keep(draft_id, typed_fm, typed_body, base)
else:
    editor_comforts.forget(draft_id)
if (kept_base := st.session_state.pop(draft_form.key(draft_id, "kept_notice"), None)) is not None and unsaved:
    st.info(
        f"Your unsaved text (started from revision {kept_base}) is back. Save it, or restore a revision to drop it.",
        icon=":material/restore_page:",
    )
with info[4]:
    if DraftStatus.IN_REVIEW in available_transitions(status, user.role):
        if st.button("Submit for review", type="primary", icon=":material/send:", disabled=unsaved, key="submit"):
            try:
                with session_scope(engine) as session:
                    reviews.submit(session=session, draft_id=draft_id, actor=user)
                st.rerun()
            except EditorialError as exc:
                resources.show_error(exc)
        if unsaved:
            st.caption("Save before submitting.")
    elif status is DraftStatus.IN_REVIEW:
        st.caption("Waiting for a reviewer" + (" — see the Review page." if can(user.role, Action.APPROVE) else "."))

shown = grounding_panel.for_editor(draft_id, typed_body, current.body if current else None, stored_report)
edit_tab, check_tab, history_tab, timeline_tab, ship_tab = st.tabs(
    ["Edit", "Sources check", "History", "Timeline", "Export & publish"]
)

# ----------------------------------------------------------------------------- edit
with edit_tab:
    conflict = st.session_state.get(conflict_key)
    if conflict:
        st.error(conflict["message"], icon=":material/sync_problem:")
        theirs, mine_number = by_number.get(conflict["current"]), conflict["mine"]
        started = by_number.get(conflict["base"])
        if theirs is not None and started is not None:
            st.markdown("**What changed meanwhile** (the revision you started from → the current one)")
            st.code(
                unified_diff(
                    revision_text(started),
                    revision_text(theirs),
                    old_label=f"revision {started.number}",
                    new_label=f"revision {theirs.number}",
                )
                or "(no difference)",
                language="diff",
            )
        left, right = st.columns(2)
        if left.button(f"Load revision {conflict['current']} (your text stays in revision {mine_number})", key="c1"):
            draft_form.load_revision(draft_id, theirs)
            del st.session_state[conflict_key]
            st.rerun()
        if right.button("Keep my text and save it on top of the current revision", key="c2"):
            st.session_state[draft_form.key(draft_id, "base")] = conflict["current"]
            del st.session_state[conflict_key]
            st.rerun()

    if effect := save_effect(status):
        st.info(f"This draft is {status_label(status).lower()}: {effect}")

    with st.expander("Paste a whole post (front matter and Markdown)", icon=":material/content_paste:"):
        pasted = st.text_area("Post", height=160, key=draft_form.key(draft_id, "paste"))
        if st.button("Use the pasted post", key="use_paste"):
            try:
                fm, body = parse_post(pasted)
                draft_form.load(draft_id, fm or typed_fm, body, None)
                if dropped := unknown_keys(fm):
                    st.session_state[draft_form.key(draft_id, "dropped")] = dropped
                st.rerun()
            except EditorialError as exc:
                resources.show_error(exc)
        if dropped := st.session_state.pop(draft_form.key(draft_id, "dropped"), None):
            st.caption(f"Ignored keys dev.to does not know: {', '.join(dropped)}")

    errors = validate_front_matter(typed_fm, typed_body)
    draft_form.front_matter_form(draft_id, errors)
    assist_panel.editor_assists(
        draft_id, title=typed_fm.get("title") or draft.title, body=typed_body, front_matter=typed_fm
    )

    write, preview = st.columns(2)
    with write:
        st.text_area("Markdown", key=draft_form.key(draft_id, "body"), height=560)
        draft_form.remember(draft_id)
        if "body" in errors:
            st.caption(f":red[{errors['body']}]")
    with preview:
        grounding_panel.summary(shown)
        highlight = grounding_panel.highlight_toggle(shown, key=f"grounding_highlight_{draft_id}")
        st.caption("Preview (raw HTML is shown as text)")
        with st.container(height=560, border=True):
            grounding_panel.preview(normalize_front_matter(typed_fm), typed_body, shown, highlight=highlight)

    note_column, save_column = st.columns([4, 1], vertical_alignment="bottom")
    note = note_column.text_input("Note for this revision (optional)", key=draft_form.key(draft_id, "note"))
    shortcut = editor_comforts.save_shortcut()
    pressed = save_column.button(
        "Save", type="primary", icon=":material/save:", key="save", disabled=not unsaved, help="Ctrl/⌘+S"
    )
    if shortcut and not unsaved:
        st.toast("Nothing to save.")
    if pressed or (shortcut and unsaved):
        try:
            with session_scope(engine) as session:
                saved = save_revision(
                    session=session,
                    draft_id=draft_id,
                    base_version=base,
                    front_matter=typed_fm,
                    body=typed_body,
                    author_id=user.id,
                    note=note,
                )
            st.session_state[draft_form.key(draft_id, "base")] = saved.number
            st.session_state.pop(conflict_key, None)
            st.toast(f"Saved revision {saved.number}.")
            st.rerun()
        except DraftConflict as exc:
            st.session_state[conflict_key] = {
                "message": str(exc),
                "base": exc.base_version,
                "current": exc.current_version,
                "mine": exc.conflict_revision_number,
            }
            st.rerun()
        except EditorialError as exc:
            resources.show_error(exc)

# ----------------------------------------------------------------------------- sources check
with check_tab:
    grounding_panel.details(shown, key=f"grounding_sentence_{draft_id}")

# ----------------------------------------------------------------------------- history
with history_tab:
    st.dataframe(
        [
            {
                "revision": revision.number,
                "origin": RevisionOrigin(revision.origin).value,
                "based on": revision.base_number,
                "saved": revision.created_at,
                "words": revision.word_count,
                "supported": shares.get(revision.number),
                "note": revision.note,
            }
            for revision in history
        ],
        hide_index=True,
        width="stretch",
        column_config={
            "saved": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
            "supported": st.column_config.NumberColumn(format="percent", help="Share of claims its sources back"),
        },
    )
    numbers = [revision.number for revision in history]
    if len(numbers) >= 2:
        pick = st.columns([1, 1, 2])
        old = pick[0].selectbox("Compare", numbers, index=1, key="diff_old")
        new = pick[1].selectbox("with", numbers, index=0, key="diff_new")
        mode = pick[2].radio("View", ["unified", "side by side"], horizontal=True, key="diff_mode")
        old_text, new_text = revision_text(by_number[old]), revision_text(by_number[new])
        labels = {"old_label": f"revision {old}", "new_label": f"revision {new}"}
        if mode == "unified":
            st.code(unified_diff(old_text, new_text, **labels) or "(no difference)", language="diff")
        else:
            st.html(side_by_side_html(old_text, new_text, **labels))
    restore_column, restore_button = st.columns([3, 1], vertical_alignment="bottom")
    restorable = [n for n in numbers if n != draft.version] or [None]
    if st.session_state.get("restore_pick") not in restorable:  # e.g. None kept from before the first save
        st.session_state.pop("restore_pick", None)
    to_restore = restore_column.selectbox("Restore a revision (as a new revision)", restorable, key="restore_pick")
    if unsaved:
        st.caption("Save your changes before restoring a revision.")
    blocked = to_restore is None or unsaved or not can(user.role, Action.EDIT_DRAFT)
    if restore_button.button("Restore", key="restore", disabled=blocked):
        editor_comforts.ask("restore", to_restore)

    def _restore(number: int) -> None:
        try:
            with session_scope(engine) as session:
                restored = restore_revision(
                    session=session, draft_id=draft_id, number=number, base_version=draft.version, author_id=user.id
                )
            draft_form.load_on_next_run(draft_id, restored.front_matter, restored.body, restored.number)
        except EditorialError as exc:
            st.session_state[draft_form.key(draft_id, "restore_error")] = str(exc)

    if failed := st.session_state.pop(draft_form.key(draft_id, "restore_error"), None):
        st.error(failed, icon=":material/error:")

# ----------------------------------------------------------------------------- timeline
with timeline_tab:
    for entry in events:
        st.markdown(f"`{entry.created_at:%Y-%m-%d %H:%M}` {reviews.describe(entry)}")
    if can(user.role, Action.COMMENT):
        with st.form("comment", clear_on_submit=True):
            comment = st.text_area("Comment", height=80, key="comment_text")
            on_revision = st.selectbox(
                "About revision",
                [None, *numbers],
                format_func=lambda n: "the draft" if n is None else f"revision {n}",
                key="comment_revision",
            )
            if st.form_submit_button("Add comment"):
                try:
                    with session_scope(engine) as session:
                        reviews.add_comment(
                            session=session, draft_id=draft_id, actor=user, note=comment, revision_number=on_revision
                        )
                    st.rerun()
                except EditorialError as exc:
                    resources.show_error(exc)

# ----------------------------------------------------------------------------- export, publish, delete
with ship_tab:
    if not can(user.role, Action.EXPORT):
        st.caption("Reviewers and admins export and publish approved drafts.")
    else:
        force = False
        if status not in EXPORTABLE:
            st.caption(f"Only approved drafts are exported; this one is {status_label(status).lower()}.")
            if can(user.role, Action.FORCE_EXPORT):
                force = st.checkbox("Export anyway (admin; recorded on the timeline)", key="force_export")
        if status in EXPORTABLE or force:
            try:
                with session_scope(engine) as session:
                    post = prepare_exports(session=session, draft_ids=[draft_id], actor=user, force=force)[0]

                def _record(post=post, force=force) -> None:
                    with session_scope(engine) as session:
                        record_exports(
                            session=session, posts=[post], actor=auth.current_user(), force=force, where="download"
                        )

                st.download_button(
                    f"Download {post.filename}",
                    data=post.text,
                    file_name=post.filename,
                    mime="text/markdown",
                    on_click=_record,
                    icon=":material/download:",
                    type="primary",
                    key="download_md",
                )
            except EditorialError as exc:
                resources.show_error(exc)

    if can(user.role, Action.PUBLISH) and status in EXPORTABLE:
        st.subheader("dev.to")
        settings = resources.settings()
        source = api_key_source(settings)
        if draft.devto_url:
            st.markdown(f"On dev.to: {draft.devto_url} (article {draft.devto_id})")
        if source is None:
            st.caption("No dev.to API key: set EDITORIAL_DEVTO_API_KEY, or an admin enters one on the Users page.")
        elif st.button("Update on dev.to" if draft.devto_id else "Send to dev.to", key="devto"):
            try:
                client = DevtoClient.from_settings(settings)
                try:
                    with session_scope(engine) as session:
                        article = publish_draft(session=session, draft_id=draft_id, actor=user, client=client)
                finally:
                    client.close()
                st.toast(f"dev.to article {article.id}: {article.url}")
                st.rerun()
            except EditorialError as exc:
                resources.show_error(exc)

    if can(user.role, Action.DELETE_DRAFT):
        st.subheader("Delete")
        st.caption("Deletes this draft, its revisions and its timeline for good.")
        if st.button("Delete draft…", key="delete", icon=":material/delete:"):
            editor_comforts.ask("delete")


def _delete() -> None:
    with session_scope(engine) as session:
        delete_draft(session=session, draft_id=draft_id, actor=user)
    editor_comforts.forget(draft_id)
    st.session_state.pop(Keys.DRAFT_ID, None)
    links.show(DRAFT, None)
    st.switch_page("pages/drafts.py")


match editor_comforts.pending():
    case ("restore", number) if number in by_number:
        editor_comforts.confirm(
            "Restore a revision",
            f"Restore revision {number} as a new revision {draft.version + 1}? Nothing is lost: "
            f"revision {draft.version} stays in the history.",
            f"Restore revision {number}",
            lambda: _restore(number),
        )
    case ("delete", _) if can(user.role, Action.DELETE_DRAFT):
        editor_comforts.confirm(
            "Delete this draft",
            f"Delete **{draft.title or '(untitled)'}** with its {len(history)} revision(s) and timeline? "
            "This cannot be undone.",
            "Delete for good",
            _delete,
        )
