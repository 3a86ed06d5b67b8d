"""Settings: active models and where they load from, data locations, database and Chroma status, try the model."""

import streamlit as st

from db.crud import usage as usage_crud
from db.migrate import current_revision, head_revision
from db.session import session_scope
from editorial.chain.calls import limit_kwargs
from editorial.chain.models import apply_overrides, chat_target, load_overrides, preflight, save_override
from editorial.embeddings import embedding_display_name
from editorial.errors import EditorialError
from editorial.llm import describe_model_source, model_display_name, spec_for
from editorial.usage import CallContext, LedgerHandler, token_counter_for
from editorial.vectorstore import chroma_location, get_chroma_client
from editorial.workflow import Action
from pages.ui import assist_settings, auth, resources
from pages.ui import endpoints as endpoints_ui

_admin = auth.require(Action.MANAGE_SETTINGS)

st.title("Settings")
settings = resources.settings()

st.subheader("Models")
rows = []
for role in ("default", "planner", "writer"):
    spec = spec_for(settings, role)
    rows.append(
        {
            "role": role,
            "backend": spec.backend,
            "model": model_display_name(spec),
            "loads from": describe_model_source(settings, role),
        }
    )
rows.append(
    {
        "role": "embeddings",
        "backend": "sentence-transformers",
        "model": embedding_display_name(settings),
        "loads from": settings.embedding_model,
    }
)
st.dataframe(rows, hide_index=True, width="stretch")
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
        target = chat_target(settings, "default", model)
        ledger = LedgerHandler(
            resources.engine(),
            CallContext(stage="try", backend=target.backend, model=target.name),
            token_counter_for(model),
        )
        with st.chat_message("assistant"):
            chunks = model.stream(prompt, config={"callbacks": [ledger]}, **limit_kwargs(model, 120))
            st.write_stream(chunk.content for chunk in chunks)
        if ledger.recorded:
            call = ledger.recorded[-1]
            st.caption(
                f"{call['prompt_tokens']} prompt + {call['completion_tokens']} completion tokens in "
                f"{call['latency_ms'] / 1000:.1f} s (recorded on the Usage page)"
            )
    except EditorialError as exc:
        resources.show_error(exc)


# --------------------------------------------------------------------------- writing chain: models per stage, prices
st.subheader("Models per stage")
st.caption(
    "The planner makes the blueprint, the writer writes the sections; they may use different backends. "
    "Saved choices override the environment for every run (the Plan & Write page can change them per run). "
    "EDITORIAL_LLM_API_KEY is sent only to EDITORIAL_LLM_BASE_URL; other endpoints take their own key below."
)

_STAGE_BACKENDS = ["embedded", "transformers", "hf_endpoint", "openai"]
_saved = load_overrides(engine)
for _role in ("planner", "writer"):
    _spec = spec_for(settings, _role)
    _choice = _saved.get(_role) or {"backend": _spec.backend, "model": _spec.model, "base_url": _spec.base_url or ""}
    with st.form(f"stage-{_role}"):
        _cols = st.columns([2, 3, 3])
        _backend = _cols[0].selectbox(
            f"{_role.capitalize()} backend", _STAGE_BACKENDS, index=_STAGE_BACKENDS.index(_choice["backend"])
        )
        _model = _cols[1].text_input(f"{_role.capitalize()} model", value=_choice.get("model") or "")
        _url = _cols[2].text_input(f"{_role.capitalize()} base URL", value=_choice.get("base_url") or "")
        _save, _clear = st.columns(2)
        if _save.form_submit_button("Save", type="primary"):
            _new = {"backend": _backend, "model": _model.strip(), "base_url": _url.strip()}
            try:
                preflight(apply_overrides(settings, {_role: _new}), (_role,))
                save_override(engine, _role, _new)
                st.success(f"{_role.capitalize()} model saved: {_backend} {_model}".strip())
            except EditorialError as exc:
                resources.show_error(exc)
        if _clear.form_submit_button("Use the environment's setting"):
            save_override(engine, _role, None)
            st.success(f"{_role.capitalize()} follows the environment again.")

assist_settings.task_models_form(settings, engine)


endpoints_ui.endpoint_admin(settings, engine, _admin)

st.subheader("Model prices")
st.caption("Per million tokens, for the Usage page's cost estimate. Local models (embedded, transformers) cost 0.")

with session_scope(engine) as _session:
    _prices = [
        (p.model, p.prompt_per_million, p.completion_per_million) for p in usage_crud.list_prices(session=_session)
    ]
if _prices:
    st.dataframe(
        [{"model": m, "prompt $/M": p, "completion $/M": c} for m, p, c in _prices],
        hide_index=True,
        width="stretch",
    )
with st.form("model-price", clear_on_submit=True):
    _cols = st.columns([3, 2, 2])
    _price_model = _cols[0].text_input("Model name (as on the Usage page)")
    _prompt_price = _cols[1].number_input("Prompt $ per million", min_value=0.0, value=0.0, step=0.1)
    _completion_price = _cols[2].number_input("Completion $ per million", min_value=0.0, value=0.0, step=0.1)
    if st.form_submit_button("Save price") and _price_model.strip():
        with session_scope(engine) as _session:
            usage_crud.set_price(
                session=_session,
                model=_price_model.strip(),
                prompt_per_million=_prompt_price,
                completion_per_million=_completion_price,
            )
        st.success(f"Price saved for {_price_model.strip()}.")
        st.rerun()
if _prices:
    _remove = st.selectbox("Remove a price", ["", *[m for m, _p, _c in _prices]], key="price-remove")
    if _remove and st.button("Remove", key="price-remove-button"):
        with session_scope(engine) as _session:
            usage_crud.delete_price(session=_session, model=_remove)
        st.rerun()
