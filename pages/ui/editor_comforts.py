"""Editor comforts: Ctrl/Cmd+S saves, confirmation dialogs, and typed text that outlives a failed save or a reload.

Unsaved text is kept per login session and draft in this server process (not in the page), so a
failed save, a reload or a second tab of the same browser finds it again until it is saved.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from pages.ui.state import Keys

MAX_KEPT = 200

_SAVE_JS = """
export default function (component) {
    const { setTriggerValue } = component;
    const handler = (event) => {
        if ((event.ctrlKey || event.metaKey) && !event.altKey && (event.key === "s" || event.key === "S")) {
            event.preventDefault();
            const active = document.activeElement;
            if (active && typeof active.blur === "function") { active.blur(); }  // commit the typed text
            setTimeout(() => setTriggerValue("save", Date.now()), 60);
        }
    };
    window.__editorialSave && document.removeEventListener("keydown", window.__editorialSave);
    window.__editorialSave = handler;
    document.addEventListener("keydown", handler);
    return () => document.removeEventListener("keydown", handler);
}
"""

_shortcut = st.components.v2.component("editorial_keyboard_save", js=_SAVE_JS)


def save_shortcut(key: str = "editor_shortcut") -> bool:
    """Listen for Ctrl/Cmd+S in the page; True on the run that the shortcut caused."""
    result = _shortcut(key=key, height=0, on_save_change=lambda: None)
    return bool(getattr(result, "save", None))


# --------------------------------------------------------------------------- kept text
@dataclass(frozen=True)
class KeptText:
    """Typed, unsaved text of one draft."""

    front_matter: dict
    body: str
    base: int | None


class _Keeper:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, int], KeptText] = OrderedDict()

    def put(self, owner: str, draft_id: int, kept: KeptText) -> None:
        with self._lock:
            self._items[(owner, draft_id)] = kept
            self._items.move_to_end((owner, draft_id))
            while len(self._items) > MAX_KEPT:
                self._items.popitem(last=False)

    def get(self, owner: str, draft_id: int) -> KeptText | None:
        with self._lock:
            return self._items.get((owner, draft_id))

    def drop(self, owner: str, draft_id: int) -> None:
        with self._lock:
            self._items.pop((owner, draft_id), None)


@st.cache_resource(show_spinner=False)
def _keeper() -> _Keeper:
    return _Keeper()


def _owner() -> str | None:
    return st.session_state.get(Keys.SESSION_ID)


def keep(draft_id: int, front_matter: dict, body: str, base: int | None) -> None:
    """Remember unsaved text for this login session (a reload or another tab of the browser finds it)."""
    owner = _owner()
    if owner:
        _keeper().put(owner, draft_id, KeptText(dict(front_matter), body, base))


def forget(draft_id: int) -> None:
    """The text was saved (or thrown away): forget the kept copy."""
    owner = _owner()
    if owner:
        _keeper().drop(owner, draft_id)


def kept(draft_id: int) -> KeptText | None:
    """Unsaved text this login session left for ``draft_id``, if any."""
    owner = _owner()
    return _keeper().get(owner, draft_id) if owner else None


# --------------------------------------------------------------------------- confirmations
_PENDING = "editor.confirm"


def ask(kind: str, value: int | None = None) -> None:
    """Open the confirmation dialog ``kind`` ("delete" or "restore") on the next run."""
    st.session_state[_PENDING] = (kind, value)


def pending() -> tuple[str, int | None] | None:
    """The confirmation asked for, if any."""
    return st.session_state.get(_PENDING)


def _dismiss() -> None:
    st.session_state.pop(_PENDING, None)


def confirm(title: str, message: str, confirm_label: str, action: Callable[[], None]) -> None:
    """A modal dialog: ``action`` runs only when the person confirms; Cancel or closing it does nothing."""

    @st.dialog(title, on_dismiss=_dismiss)
    def dialog() -> None:
        st.markdown(message)
        yes, no = st.columns(2)
        if yes.button(confirm_label, type="primary", key="confirm_yes"):
            _dismiss()
            action()
            st.rerun()
        if no.button("Cancel", key="confirm_no"):
            _dismiss()
            st.rerun()

    dialog()
