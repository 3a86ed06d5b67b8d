"""Keep a page's selection in its address (``?draft=12``) so reloads, bookmarks and shared links open it."""

from __future__ import annotations

import streamlit as st

from editorial.links import parse_id


def _written(name: str) -> str:
    return f"links.{name}.written"


def requested(name: str) -> int | None:
    """The id the address asks for when it changed since this session last wrote it (a new link), else None."""
    raw = st.query_params.get(name)
    if raw is None or raw == st.session_state.get(_written(name)):
        return None
    st.session_state[_written(name)] = raw
    value = parse_id(raw)
    if value is None:
        st.error(f"The link's {name} '{str(raw)[:20]}' is not a number; showing the default instead.")
    return value


def follow(name: str, widget_key: str, options: list[int]) -> int | None:
    """Point the select box ``widget_key`` at the id a new link asks for, if it is among ``options``.

    Returns the requested id when it is not among the options (the caller explains why), else None.
    """
    wanted = requested(name)
    if wanted is None:
        return None
    if wanted in options:
        st.session_state[widget_key] = wanted
        return None
    return wanted


def show(name: str, value: int | None) -> None:
    """Put the current selection into the address (or take it out)."""
    if value is None:
        st.query_params.pop(name, None)
        st.session_state.pop(_written(name), None)
        return
    st.query_params[name] = str(value)
    st.session_state[_written(name)] = str(value)
