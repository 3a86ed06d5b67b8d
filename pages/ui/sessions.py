"""The browser side of login sessions: read the cookie, and ask the browser to store or delete it.

The cookie is HttpOnly: page JavaScript can neither read nor write it. After a login the page
posts a one-time ticket to ``/api/session/claim`` (served by ``serve.py``), whose answer sets
the cookie; logging out posts to ``/api/session/logout``, which deletes it. Both posts run in a
tiny ``st.components.v2`` component (no iframe, no cookie value in the page).

A post that succeeds triggers no rerun: a rerun requested by a component while the person
is already clicking through to another page carries the old page and sends them back there.
Only a failure reports back, to be logged.
"""

from __future__ import annotations

import logging
import secrets
import time

import streamlit as st

from editorial import sessions
from editorial.web import CLAIM_PATH, LOGOUT_PATH
from pages.ui import resources
from pages.ui.state import Keys

log = logging.getLogger(__name__)

_POST_JS = """
export default function (component) {
    const { data, setTriggerValue } = component;
    if (!data || !data.url) { return; }
    window.__editorialPosted = window.__editorialPosted || new Set();
    const once = data.url + "|" + (data.ticket || "") + "|" + (data.nonce || "");
    if (window.__editorialPosted.has(once)) { return; }
    window.__editorialPosted.add(once);
    fetch(window.location.origin + data.url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ticket: data.ticket || "" }),
    }).then(r => { if (r.status !== 204) { setTriggerValue("done", r.status); } })
      .catch(() => setTriggerValue("done", 0));
}
"""

_poster = st.components.v2.component("editorial_session_post", js=_POST_JS)


def cookie_session_id() -> str | None:
    """The session id from this browser's signed cookie (None when absent or not valid)."""
    value = st.context.cookies.get(sessions.COOKIE_NAME)
    return sessions.session_id_from_cookie(resources.settings(), value)


def ask_for_cookie(ticket: str) -> None:
    """Have the browser trade ``ticket`` for the session cookie on the next render."""
    st.session_state.pop(Keys.FORGET_COOKIE, None)
    st.session_state[Keys.CLAIM_TICKET] = (ticket, time.monotonic())


def ask_to_forget_cookie() -> None:
    """Have the browser delete the session cookie on the next render."""
    st.session_state[Keys.FORGET_COOKIE] = secrets.token_hex(8)


def _status(key: str):
    result = st.session_state.get(key)
    return result.get("done") if isinstance(result, dict) else getattr(result, "done", None)


def _claimed() -> None:
    status = _status("session_claim")
    log.warning("the browser could not store the session cookie (HTTP %s); is the app served by serve.py?", status)
    st.session_state.pop(Keys.CLAIM_TICKET, None)


def _forgotten() -> None:
    log.warning("the browser could not delete the session cookie (HTTP %s)", _status("session_forget"))
    st.session_state.pop(Keys.FORGET_COOKIE, None)


def sync_cookie() -> None:
    """Render the pending cookie request (store after a login, delete after a logout), if any."""
    ticket, issued = st.session_state.get(Keys.CLAIM_TICKET) or ("", 0.0)
    if ticket and time.monotonic() - issued > sessions.CLAIM_SECONDS:  # spent or expired: stop rendering it
        st.session_state.pop(Keys.CLAIM_TICKET, None)
        ticket = ""
    if ticket:
        _poster(key="session_claim", data={"url": CLAIM_PATH, "ticket": ticket}, height=0, on_done_change=_claimed)
    elif st.session_state.get(Keys.FORGET_COOKIE):
        _poster(
            key="session_forget",
            data={"url": LOGOUT_PATH, "nonce": st.session_state[Keys.FORGET_COOKIE]},
            height=0,
            on_done_change=_forgotten,
        )
