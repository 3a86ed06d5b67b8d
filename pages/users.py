"""Users (admins): accounts and roles, and the dev.to API key (kept outside the database)."""

import streamlit as st

from db.crud import users as users_crud
from db.models import Role
from db.session import session_scope
from editorial.auth import add_user, change_password, login_failures, set_disabled, set_role
from editorial.devto import api_key_source, forget_api_key, key_file, store_api_key
from editorial.errors import EditorialError
from editorial.workflow import Action
from pages.ui import auth, resources

ROLES = [role.value for role in Role]

user = auth.require(Action.MANAGE_USERS)
engine = resources.engine()
st.title("Users")

with session_scope(engine) as session:
    accounts = users_crud.list_users(session=session)
    failures = login_failures(session=session)
st.dataframe(
    [
        {
            "user": account.username,
            "role": Role(account.role).value,
            "status": "disabled" if account.disabled else "active",
            "last login": account.last_login_at,
            "failed logins": failures.get(account.username, 0),
        }
        for account in accounts
    ],
    hide_index=True,
    width="stretch",
)


def _run(change) -> None:
    try:
        with session_scope(engine) as session:
            change(session)
        st.rerun()
    except EditorialError as exc:
        resources.show_error(exc)


add_column, change_column = st.columns(2)
with add_column:
    st.subheader("Add a user")
    with st.form("add_user", clear_on_submit=True):
        name = st.text_input("User name", key="add_user_name")
        password = st.text_input("Password (at least 8 characters)", type="password", key="add_user_password")
        role = st.selectbox("Role", ROLES, key="add_user_role")
        if st.form_submit_button("Add", type="primary"):
            _run(lambda s: add_user(session=s, actor=user, username=name, password=password, role=role))

with change_column:
    st.subheader("Change a user")
    by_name = {account.username: account for account in accounts}
    target = by_name[st.selectbox("User", list(by_name), key="change_user_pick")]
    new_role = st.selectbox("Role", ROLES, index=ROLES.index(Role(target.role).value), key=f"role_{target.id}")
    if st.button("Set role", key="set_role"):
        _run(lambda s: set_role(session=s, actor=user, user_id=target.id, role=new_role))
    if st.button("Enable" if target.disabled else "Disable", key="toggle_disabled"):
        _run(lambda s: set_disabled(session=s, actor=user, user_id=target.id, disabled=not target.disabled))
    new_password = st.text_input("New password", type="password", key=f"password_{target.id}")
    if st.button("Set password", key="set_password"):
        _run(lambda s: change_password(session=s, actor=user, user_id=target.id, password=new_password))

st.subheader("dev.to API key")
settings = resources.settings()
source = api_key_source(settings)
if source == "environment":
    st.caption("The key comes from EDITORIAL_DEVTO_API_KEY; it is never written to the database.")
elif source == "key file":
    st.caption(f"A key is stored in {key_file(settings)} (readable by this account only), not in the database.")
    if st.button("Forget the stored key", key="forget_key"):
        forget_api_key(settings)
        st.rerun()
else:
    st.caption("No key yet. Create one in your dev.to settings (Extensions → DEV Community API Keys).")
if source != "environment":
    with st.form("devto_key", clear_on_submit=True):
        key = st.text_input("API key", type="password", key="devto_key_input")
        if st.form_submit_button("Store the key"):
            try:
                store_api_key(settings, key)
                st.rerun()
            except EditorialError as exc:
                resources.show_error(exc)
