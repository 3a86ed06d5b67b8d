"""Log in; on the very first visit (no account yet), create the admin account."""

import streamlit as st

from db.session import session_scope
from editorial.auth import add_user, authenticate, needs_first_admin
from editorial.errors import EditorialError
from pages.ui import auth, resources

st.title("Editorial Desk")
auth.session_notice()

with session_scope(resources.engine()) as session:
    first_visit = needs_first_admin(session=session)

if first_visit:
    st.subheader("Create the admin account")
    st.caption("No account exists yet. The first account is the admin: it adds editors and reviewers.")
    with st.form("first-admin"):
        username = st.text_input("User name", key="first_admin_name")
        password = st.text_input("Password (at least 8 characters)", type="password", key="first_admin_password")
        repeat = st.text_input("Repeat the password", type="password", key="first_admin_repeat")
        submitted = st.form_submit_button("Create the admin account", type="primary")
    if submitted:
        if password != repeat:
            st.error("The two passwords differ.")
        else:
            try:
                with session_scope(resources.engine()) as session:
                    user = add_user(session=session, actor=None, username=username, password=password, role="admin")
                auth.log_in(user)
                for key in ("first_admin_password", "first_admin_repeat"):
                    st.session_state.pop(key, None)
                st.rerun()
            except EditorialError as exc:
                resources.show_error(exc)
else:
    st.subheader("Log in")
    with st.form("login"):
        username = st.text_input("User name", key="login_name")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        try:
            with session_scope(resources.engine()) as session:
                user = authenticate(session=session, username=username, password=password)
            auth.log_in(user)
            st.session_state.pop("login_password", None)
            st.rerun()
        except EditorialError as exc:
            resources.show_error(exc)
