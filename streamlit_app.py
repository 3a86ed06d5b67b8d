"""Editorial Desk: page config, navigation and the shared resources. Pages live in pages/."""

import streamlit as st

from editorial.errors import EditorialError
from pages.ui import resources
from pages.ui.navigation import PAGES

st.set_page_config(page_title="Editorial Desk", page_icon=":material/edit_note:", layout="wide")

try:
    resources.engine()  # prepares the data folder and migrates the database once
except EditorialError as exc:
    resources.show_error(exc)
    st.stop()

sections: dict[str, list] = {}
for spec in PAGES:
    page = st.Page(spec.path, title=spec.title, icon=spec.icon, default=spec.default)
    sections.setdefault(spec.section, []).append(page)

st.navigation(sections).run()
