"""The Settings page's "Assist models" section: a Hugging Face model per task, checked when saved."""

from __future__ import annotations

import streamlit as st

from editorial.assists import pipelines
from editorial.errors import EditorialError
from pages.ui import resources


def task_models_form(settings, engine) -> None:
    """One field per assist task (blank: the bundled models); Save loads each configured model once to check it."""
    st.subheader("Assist models")
    st.caption(
        "Blank uses the bundled models (embedding model, embedded writer, grounding verifier). Otherwise a Hugging "
        "Face model id in the local cache or a local folder; EDITORIAL_ASSIST_<TASK>_MODEL sets the default."
    )
    saved = pipelines.load_task_overrides(engine)
    current = pipelines.apply_task_overrides(settings, saved)
    with st.form("assist-models"):
        values = {
            task: st.text_input(
                f"{info.label} · {info.hf_task}",
                value=pipelines.configured_model(current, task),
                key=f"assist_model_{task}",
                max_chars=500,
            )
            for task, info in pipelines.TASKS.items()
        }
        if st.form_submit_button("Save assist models", type="primary"):
            failed = False
            for task, value in values.items():
                candidate = current.model_copy(update={pipelines.TASKS[task].field: value.strip()})
                try:
                    pipelines.load_task_model(candidate, task)
                except EditorialError as exc:
                    resources.show_error(exc)
                    failed = True
                    continue
                if value.strip() != pipelines.configured_model(settings, task) or task in saved:
                    pipelines.save_task_override(engine, task, value.strip() or None)
            if not failed:
                st.success("Assist models saved.")
