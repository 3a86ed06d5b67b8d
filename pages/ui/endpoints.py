"""Model endpoint widgets: the per-run picker (Plan & Write) and the admin's endpoint list (Settings)."""

from __future__ import annotations

import streamlit as st

from editorial.chain.models import STAGE_ROLES
from editorial.endpoints import REMOTE_BACKENDS, delete_endpoint, list_endpoints, save_endpoint
from editorial.errors import EditorialError
from editorial.keys import has_endpoint_key
from pages.ui import resources

SAVED = "Saved setting"
RUN_CHOICES = "pw_run_endpoints"
"""Session key: this run's endpoint name per stage."""


def choice_key(role: str) -> str:
    """The session key holding a stage's chosen endpoint name for this run."""
    return f"pw_{role}_endpoint"


def run_endpoint_picker(engine) -> dict[str, str | None]:
    """One select box per stage over the endpoints an admin configured; returns ``{role: name or None}``."""
    names = [SAVED, *[endpoint.name for endpoint in list_endpoints(engine)]]
    st.caption("Pick among the endpoints an admin configured (Settings page).")
    cols = st.columns(len(STAGE_ROLES))
    picked = {}
    for col, role in zip(cols, STAGE_ROLES, strict=True):
        name = col.selectbox(f"{role.capitalize()} model", names, key=choice_key(role))
        picked[role] = None if name == SAVED else name
    return picked


def endpoint_admin(settings, engine, user) -> None:
    """The Settings page's list of endpoints, with a form to add one and a button to remove one."""
    st.subheader("Model endpoints")
    st.caption(
        "Endpoints that every user may pick for a run. A key entered here is stored in the data folder "
        "(secrets/endpoint_keys.json, mode 0600) and sent only to this endpoint's URL; requests follow no redirects."
    )
    endpoints = [e for e in list_endpoints(engine) if e.base_url]
    if endpoints:
        st.dataframe(
            [
                {"name": e.name, "backend": e.backend, "model": e.model, "base URL": e.base_url,
                 "key": "set" if has_endpoint_key(settings, e.base_url) else "none"}
                for e in endpoints
            ],
            hide_index=True,
            width="stretch",
        )  # fmt: skip
    with st.form("endpoint-add", clear_on_submit=True):
        cols = st.columns([2, 2, 2, 3, 2])
        name = cols[0].text_input("Name", key="ep_name")
        backend = cols[1].selectbox("Backend", REMOTE_BACKENDS, key="ep_backend")
        model = cols[2].text_input("Model", key="ep_model")
        url = cols[3].text_input("Base URL", key="ep_url")
        key = cols[4].text_input("API key (optional)", type="password", key="ep_key")
        if st.form_submit_button("Save endpoint"):
            try:
                save_endpoint(
                    settings, engine, actor=user, name=name, backend=backend, model=model, base_url=url, api_key=key
                )
                st.success(f"Endpoint saved: {name.strip()}")
            except EditorialError as exc:
                resources.show_error(exc)
    if endpoints:
        cols = st.columns([3, 1])
        gone = cols[0].selectbox("Remove an endpoint", ["", *[e.name for e in endpoints]], key="ep_remove")
        if gone and cols[1].button("Remove", key="ep_remove_button"):
            delete_endpoint(settings, engine, actor=user, name=gone)
            st.rerun()
