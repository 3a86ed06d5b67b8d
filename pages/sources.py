"""Sources: collections, uploads with per-file progress, the source list with preview, and search."""

import math

import streamlit as st

from db.crud import sources as crud
from db.models import SourceStatus
from db.session import session_scope
from editorial import collections as colls
from editorial.errors import EditorialError
from editorial.ingest import KIND_LABELS, Action, IngestItem, delete_source, ingest_items, mark_interrupted, retry_items
from editorial.ingest.jobs import IngestJob
from editorial.jobs.ingest import QueuedIngest, submit_ingest
from editorial.links import COLLECTION
from editorial.retrieval import search, source_chunks
from editorial.workflow import Action as Permission
from pages.ui import assist_panel, auth, links, resources
from pages.ui.state import Keys

STATUS_ICONS = {
    SourceStatus.READY: "✅ ready",
    SourceStatus.INGESTING: "⏳ ingesting",
    SourceStatus.PENDING: "⏳ pending",
    SourceStatus.FAILED: "❌ failed",
}
PREVIEW_CHUNKS = 50
SHOWN_ERRORS = 20

user = auth.require(Permission.VIEW)
settings, engine = resources.settings(), resources.engine()
st.title("Sources")

try:
    interrupted = mark_interrupted(settings, engine)
except EditorialError as exc:
    resources.show_error(exc)
    interrupted = []
if interrupted:
    st.warning(
        f"{len(interrupted)} ingest(s) were interrupted and are marked failed: {', '.join(interrupted[:5])}. "
        "Retry them from the source list.",
        icon=":material/warning:",
    )


def human_size(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


def start_job(collection_id: int, items: list[IngestItem]) -> None:
    if settings.task_queue == "procrastinate":  # a queue worker ingests; the task row carries the progress
        try:
            task_id = submit_ingest(settings, engine, collection_id=collection_id, items=items, user_id=user.id)
        except EditorialError as exc:
            resources.show_error(exc)
            return
        st.session_state.pop(Keys.INGEST_REPORT, None)
        st.session_state[Keys.INGEST_JOB] = QueuedIngest(engine, task_id, settings)
        return
    embeddings = resources.embeddings()
    job = IngestJob(
        lambda callbacks: ingest_items(
            settings,
            engine,
            embeddings,
            collection_id=collection_id,
            items=items,
            user_id=user.id,
            callbacks=callbacks,
        ),
        total=len(items),
    )
    st.session_state.pop(Keys.INGEST_REPORT, None)
    st.session_state[Keys.INGEST_JOB] = job.start()


def job_running() -> bool:
    job = st.session_state.get(Keys.INGEST_JOB)
    return job is not None and job.snapshot().running


# --------------------------------------------------------------------------- collections
def create_collection_form(expanded_label: str) -> None:
    with st.form("create_collection", clear_on_submit=True):
        name = st.text_input(expanded_label, placeholder="e.g. Kubernetes guides, Client ACME")
        description = st.text_input("Description (optional)")
        if st.form_submit_button("Create collection", type="primary"):
            try:
                created = colls.create_collection(engine, name=name, description=description, user_id=user.id)
            except EditorialError as exc:
                resources.show_error(exc)
            else:
                st.session_state[Keys.COLLECTION_ID] = created.id
                st.session_state.pop("sources_collection", None)
                st.rerun()


collections = colls.list_collections(engine)
if not collections:
    st.info("Sources live in named collections, one per topic or client. Create the first one.")
    create_collection_form("Collection name")
    st.stop()

by_id = {c.id: c for c in collections}
if (linked := links.requested(COLLECTION)) is not None:  # a ?collection= link
    if linked in by_id:
        st.session_state[Keys.COLLECTION_ID] = linked
        st.session_state.pop("sources_collection", None)
    else:
        st.error(f"Collection #{linked} does not exist (it may have been deleted).", icon=":material/block:")
chosen = st.session_state.get(Keys.COLLECTION_ID)
collection_id = st.selectbox(
    "Collection",
    list(by_id),
    index=list(by_id).index(chosen) if chosen in by_id else 0,
    format_func=lambda cid: by_id[cid].name,
    key="sources_collection",
)
st.session_state[Keys.COLLECTION_ID] = collection_id
links.show(COLLECTION, collection_id)
collection = by_id[collection_id]
if collection.description:
    st.caption(collection.description)

with st.expander("Manage collections", icon=":material/folder_managed:"):
    create_column, rename_column, delete_column = st.columns(3)
    with create_column:
        create_collection_form("New collection")
    with rename_column, st.form("rename_collection"):
        new_name = st.text_input("Rename this collection", value=collection.name)
        if st.form_submit_button("Rename"):
            try:
                colls.rename_collection(engine, collection_id=collection.id, name=new_name)
            except EditorialError as exc:
                resources.show_error(exc)
            else:
                st.rerun()
    with delete_column:
        st.markdown(f"Delete **{collection.name}** with all its sources and chunks.")
        confirmed = st.checkbox("Yes, delete it and everything in it", key="confirm_delete_collection")
        if st.button("Delete collection", disabled=not confirmed, icon=":material/delete:"):
            try:
                removed = colls.delete_collection(settings, engine, collection_id=collection.id, actor=user)
            except EditorialError as exc:
                resources.show_error(exc)
            else:
                st.session_state.pop(Keys.COLLECTION_ID, None)
                st.session_state.pop("sources_collection", None)
                st.session_state.pop("confirm_delete_collection", None)
                st.toast(f"Deleted {collection.name} ({removed} sources).")
                st.rerun()


# --------------------------------------------------------------------------- upload progress and report
def show_report() -> None:
    saved = st.session_state.get(Keys.INGEST_REPORT)
    if saved is None:
        return
    report, error = saved
    if error:
        st.error(error, icon=":material/error:")
    if report is None:
        return
    counts = report.counts
    st.subheader("Last upload")
    for column, (label, key) in zip(
        st.columns(5),
        [
            ("Added", "added"),
            ("Updated", "updated"),
            ("Skipped", "skipped"),
            ("Deleted chunks", "deleted"),
            ("Failed", "failed"),
        ],
        strict=True,
    ):
        column.metric(label, counts[key])
    st.caption(report.summary())
    for outcome in report.failed[:SHOWN_ERRORS]:
        st.error(outcome.line, icon=":material/error:")
    if len(report.failed) > SHOWN_ERRORS:
        st.caption(f"… and {len(report.failed) - SHOWN_ERRORS} more failed files (all listed below).")
    with st.expander(f"Every file ({len(report.outcomes)})", expanded=len(report.outcomes) <= 10):
        st.dataframe(
            [
                {
                    "file": o.name,
                    "result": o.action.value,
                    "chunks": o.chunk_count,
                    "new": o.chunks_added,
                    "removed": o.chunks_deleted,
                    "unchanged": o.chunks_skipped,
                    "message": o.message,
                }
                for o in report.outcomes
            ],
            hide_index=True,
            use_container_width=True,
        )


@st.fragment(run_every=1.0)
def job_panel() -> None:
    job = st.session_state.get(Keys.INGEST_JOB)
    if job is None:
        return
    snapshot = job.snapshot()
    if not snapshot.running:
        st.session_state[Keys.INGEST_REPORT] = (snapshot.report, snapshot.error)
        del st.session_state[Keys.INGEST_JOB]
        st.rerun()
    st.progress(snapshot.fraction, text=f"Ingesting: {snapshot.finished} of {snapshot.total} files done")
    for progress in snapshot.active[:5]:
        st.progress(progress.fraction, text=f"{progress.name} — {progress.stage}")
    if len(snapshot.active) > 5:
        st.caption(f"… and {len(snapshot.active) - 5} more files in progress")
    failed = [o for o in snapshot.outcomes if o.action is Action.FAILED]
    for outcome in failed[-5:]:
        st.error(outcome.line, icon=":material/error:")
    st.caption("You can keep working on this page while the files are ingested.")


if Keys.INGEST_JOB in st.session_state:
    job_panel()
show_report()

add_tab, list_tab, search_tab = st.tabs(["Add sources", "Sources", "Search"])

# --------------------------------------------------------------------------- add sources
with add_tab:
    busy = job_running()
    with st.form("upload", clear_on_submit=True):
        files = st.file_uploader(
            "Files: Markdown, text, PDF, HTML or Word (.docx)",
            accept_multiple_files=True,
            max_upload_size=max(1, math.ceil(settings.max_upload_mb)),
            help=f"Up to {settings.max_upload_mb:g} MB per file. Re-uploading a file replaces only its changed parts.",
        )
        upload = st.form_submit_button("Ingest files", type="primary", disabled=busy, icon=":material/upload:")
    if upload and files:
        start_job(collection.id, [IngestItem(f.name, data=f.getvalue()) for f in files])
        st.rerun()
    elif upload:
        st.warning("Choose one or more files first.")

    with st.form("paste", clear_on_submit=True):
        title = st.text_input("Title of the pasted text", placeholder="e.g. Interview notes")
        pasted = st.text_area("Text (Markdown welcome)", height=160)
        paste = st.form_submit_button("Ingest text", disabled=busy, icon=":material/content_paste:")
    if paste:
        if not title.strip() or not pasted.strip():
            st.warning("Give the pasted text a title and some content.")
        else:
            start_job(collection.id, [IngestItem(title.strip(), data=pasted.encode("utf-8"), kind="paste")])
            st.rerun()

# --------------------------------------------------------------------------- source list and preview
with list_tab:
    with session_scope(engine) as session:
        rows = crud.list_sources_with_adder(session=session, collection_id=collection.id)
    if not rows:
        st.info("No sources in this collection yet: add some files.")
    else:
        st.dataframe(
            [
                {
                    "name": s.name,
                    "type": KIND_LABELS.get(s.kind, s.kind),
                    "size": human_size(s.size_bytes),
                    "chunks": s.chunk_count,
                    "added by": username or "—",
                    "added": s.created_at,
                    "status": STATUS_ICONS.get(s.status, s.status),
                    "problem": s.error or "",
                }
                for s, username in rows
            ],
            hide_index=True,
            use_container_width=True,
            column_config={"added": st.column_config.DatetimeColumn("added", format="YYYY-MM-DD HH:mm")},
        )
        failed_ids = [s.id for s, _ in rows if s.status == SourceStatus.FAILED]
        if failed_ids and st.button(
            f"Retry {len(failed_ids)} failed source(s)", disabled=job_running(), icon=":material/refresh:"
        ):
            try:
                start_job(collection.id, retry_items(settings, engine, source_ids=failed_ids)[collection.id])
            except EditorialError as exc:
                resources.show_error(exc)
            else:
                st.rerun()

        sources = {s.id: s for s, _ in rows}
        picked = st.selectbox(
            "Open a source", [None, *sources], format_func=lambda sid: "—" if sid is None else sources[sid].name
        )
        if picked is not None:
            source = sources[picked]
            st.markdown(
                f"**{source.name}** · {KIND_LABELS.get(source.kind, source.kind)} · {human_size(source.size_bytes)} · "
                f"{source.chunk_count} chunks · {STATUS_ICONS.get(source.status, source.status)}"
            )
            if source.error:
                st.error(source.error, icon=":material/error:")
            left, right = st.columns([1, 4])
            if left.button("Delete source", key=f"delete_{source.id}", icon=":material/delete:"):
                st.session_state["confirm_delete_source"] = source.id
            if st.session_state.get("confirm_delete_source") == source.id:
                st.warning(f"Delete **{source.name}** and its {source.chunk_count} chunks? This cannot be undone.")
                yes, no = st.columns(2)
                if yes.button("Yes, delete", type="primary", key="confirm_delete"):
                    try:
                        delete_source(settings, engine, source_id=source.id, actor=user)
                    except EditorialError as exc:
                        resources.show_error(exc)
                    else:
                        st.session_state.pop("confirm_delete_source", None)
                        st.toast(f"Deleted {source.name}.")
                        st.rerun()
                if no.button("Cancel", key="cancel_delete"):
                    st.session_state.pop("confirm_delete_source", None)
                    st.rerun()
            if source.status == SourceStatus.READY:
                assist_panel.source_summary(collection, source)
            chunks = source_chunks(settings, chroma_name=collection.chroma_name, source_key=source.source_key)
            if chunks:
                st.caption(f"Showing {min(len(chunks), PREVIEW_CHUNKS)} of {len(chunks)} chunks")
            for chunk in chunks[:PREVIEW_CHUNKS]:
                with st.container(border=True):
                    st.caption(f"#{chunk.chunk_index + 1}" + (f" · {chunk.location}" if chunk.location else ""))
                    st.text(chunk.text)

# --------------------------------------------------------------------------- search
with search_tab:
    with st.form("search"):
        query = st.text_input("Search your sources", placeholder="e.g. how long are messages kept?")
        k_column, mmr_column = st.columns(2)
        k = k_column.slider("Passages", 1, 20, 5)
        mmr = mmr_column.toggle("Diversify (MMR)", help="Prefer passages that add something new over near-repeats.")
        searched = st.form_submit_button("Search", icon=":material/search:")
    if searched and query.strip():
        try:
            passages = search(
                settings, resources.embeddings(), chroma_name=collection.chroma_name, query=query, k=k, mmr=mmr
            )
        except EditorialError as exc:
            resources.show_error(exc)
            passages = []
        if not passages:
            st.info("No passages found: add sources to this collection, or rephrase the question.")
        for rank, passage in enumerate(passages, 1):
            where = f" — {passage.location}" if passage.location else ""
            header = f"**{passage.source_name}**{where} · score {passage.score:.2f}"
            with st.container(border=True):
                if rank == 1:
                    st.success(f"Best match: {header}", icon=":material/star:")
                else:
                    st.markdown(f"{rank}. {header}")
                st.text(passage.text)
