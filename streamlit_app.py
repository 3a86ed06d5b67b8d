"""Editorial Desk: page config, navigation and the shared resources. Pages live in pages/."""

import streamlit as st

from editorial.errors import EditorialError
from pages.ui import auth, resources, sessions

st.set_page_config(page_title="Editorial Desk", page_icon=":material/edit_note:", layout="wide")

try:
    resources.engine()  # prepares the data folder and migrates the database once
except EditorialError as exc:
    resources.show_error(exc)
    st.stop()

user = auth.current_user()
sessions.sync_cookie()  # store the cookie after a login, delete it after a logout
if user is None:  # every page but login needs a session
    st.navigation(auth.login_pages()).run()
    st.stop()

auth.sidebar_account(user)
sections, specs = auth.page_objects(user.role)
page = st.navigation(sections)
auth.refuse_if_forbidden(user, specs.get(page.url_path))
page.run()
