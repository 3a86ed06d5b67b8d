"""Serve Editorial Desk: ``streamlit run serve.py`` (the Makefile's ``make run`` does this).

The pages are ``streamlit_app.py``; this file adds the session-cookie routes of
``editorial.web`` beside them through Streamlit's ASGI app (``st.App``), because a
page script cannot send an HTTP ``Set-Cookie`` itself.
"""

import streamlit as st

from editorial.web import session_routes

app = st.App("streamlit_app.py", routes=session_routes())
