"""Ask your sources: questions over a collection, answered from its passages, every sentence verified."""

import streamlit as st

from editorial import collections as colls
from editorial.assists import conversations
from editorial.assists.ask import AskCallbacks, ask
from editorial.assists.services import ask_services
from editorial.errors import EditorialError
from editorial.workflow import Action
from pages.ui import assist_panel, auth, resources
from pages.ui.state import Keys

user = auth.require(Action.VIEW)
settings, engine = resources.settings(), resources.engine()
st.title("Ask your sources")

collections = {c.id: c for c in colls.list_collections(engine)}
if not collections:
    st.info("No collections yet: add sources on the Sources page first.")
    st.stop()
ids = list(collections)
chosen = st.session_state.get(Keys.COLLECTION_ID)
collection_id = st.selectbox(
    "Collection",
    ids,
    index=ids.index(chosen) if chosen in ids else 0,
    format_func=lambda i: collections[i].name,
    key="ask_collection",
)
st.session_state[Keys.COLLECTION_ID] = collection_id
collection = collections[collection_id]
conversation = conversations.conversation_id(engine, user_id=user.id, collection_id=collection_id)
stored = conversations.turns(engine, conversation=conversation)
draft_id = st.session_state.get(Keys.DRAFT_ID)
st.caption(
    "Answers come only from this collection; a sentence its passages do not support is never shown as an answer."
)


def show_answer(turn) -> None:
    """An answer, its passages on demand, its tokens, and the copy-to-draft button."""
    if turn.declined:
        st.info(turn.answer, icon=":material/help:")
    else:
        st.markdown(turn.answer)
    cited = turn.as_answer().cited
    if turn.passages:
        with st.expander(f"Passages ({len(turn.passages)}; cited: {', '.join(map(str, cited)) or 'none'})"):
            for n, passage in turn.passages.items():
                mark = "**cited** · " if n in cited else ""
                st.markdown(f"[{n}] {mark}{passage.label()}")
                st.text(passage.text)
    tokens = turn.prompt_tokens + turn.completion_tokens
    st.caption(f"{turn.method} · {tokens} tokens · {turn.latency_ms / 1000:.1f} s")
    if not turn.declined:
        if draft_id is None:
            st.caption("Open a draft in the Editor to copy answers into it.")
        elif st.button("Copy into the draft in the Editor", key=f"copy_{turn.id}", icon=":material/note_add:"):
            assist_panel.queue_insert(draft_id, turn.as_answer().with_citation())
            st.switch_page("pages/editor.py")


for turn in stored:
    st.chat_message("user").write(turn.question)
    with st.chat_message("assistant"):
        show_answer(turn)

if stored and st.button("Start over", key="ask_clear", icon=":material/restart_alt:"):
    conversations.clear(engine, conversation=conversation)
    st.rerun()

question = st.chat_input(f"Ask {collection.name} a question", max_chars=1000, key="ask_input")
if question:
    st.chat_message("user").write(question)
    with st.chat_message("assistant"):
        shown = st.empty()
        accepted: list[str] = []

        def on_sentence(text: str) -> None:
            accepted.append(text)
            shown.markdown(" ".join(accepted))

        try:
            services = ask_services(
                settings,
                engine,
                resources.embeddings(),
                chroma_name=collection.chroma_name,
                collection_id=collection.id,
                model_for=resources.chat_model_for,
            )
            with st.spinner("Reading the sources and checking each sentence…"):
                answer = ask(services, question, conversations.history(stored), AskCallbacks(on_sentence=on_sentence))
            conversations.store(engine, conversation=conversation, answer=answer)
            st.rerun()
        except EditorialError as exc:
            resources.show_error(exc)
