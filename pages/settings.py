"""Settings: active models and where they load from, data locations, database and Chroma status, try the model."""

import streamlit as st

from db.migrate import current_revision, head_revision
from editorial.embeddings import embedding_display_name
from editorial.errors import EditorialError
from editorial.llm import describe_model_source, model_display_name, spec_for
from editorial.vectorstore import chroma_location, get_chroma_client
from pages.ui import resources

st.title("Settings")
settings = resources.settings()

st.subheader("Models")
rows = []
for role in ("default", "planner", "writer"):
    spec = spec_for(settings, role)
    rows.append(
        {"role": role, "backend": spec.backend, "model": model_display_name(spec),
         "loads from": describe_model_source(settings, role)}
    )
rows.append(
    {"role": "embeddings", "backend": "sentence-transformers", "model": embedding_display_name(settings),
     "loads from": settings.embedding_model}
)
st.dataframe(rows, hide_index=True, use_container_width=True)
st.caption(
    f"Hugging Face hub: {'offline (HF_HUB_OFFLINE=1)' if settings.hf_hub_offline else 'online'} · "
    f"max new tokens {settings.max_new_tokens} · temperature {settings.temperature} · dtype {settings.torch_dtype}. "
    "Change these with EDITORIAL_* environment variables or a .env file (see the README)."
)

st.subheader("Data")
engine = resources.engine()
current, head = current_revision(engine), head_revision()
st.markdown(
    f"- **Data folder:** `{settings.resolved_data_dir}`\n"
    f"- **Database:** `{engine.url.render_as_string(hide_password=True)}` — migration `{current}`"
    + (" (latest)" if current == head else f" (latest is `{head}`)")
)
try:
    client = get_chroma_client(settings)
    st.markdown(f"- **Chroma:** `{chroma_location(settings)}` — {len(client.list_collections())} collection(s)")
except EditorialError as exc:
    st.markdown(f"- **Chroma:** `{chroma_location(settings)}`")
    resources.show_error(exc)

st.subheader("Try the model")
with st.form("try-model"):
    prompt = st.text_area("Prompt", value="In two sentences, what makes a technical blog post useful?")
    submitted = st.form_submit_button("Generate", type="primary")
if submitted and prompt.strip():
    try:
        model = resources.chat_model("default")
        with st.chat_message("assistant"):
            st.write_stream(chunk.content for chunk in model.stream(prompt, max_new_tokens=120))
    except EditorialError as exc:
        resources.show_error(exc)
