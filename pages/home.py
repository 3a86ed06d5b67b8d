"""Home: what the app does, how much is in it, where to go next."""

import streamlit as st

from db.crud.stats import count_rows
from db.session import session_scope
from editorial.workflow import Action
from pages.ui import auth, resources
from pages.ui.navigation import PAGES

user = auth.require(Action.VIEW)

st.title("Editorial Desk")
st.markdown(
    "Write **grounded technical blog posts** with open models. Upload your own material, "
    "let the model research it and propose a plan you can edit, have it write the post section by "
    "section with citations, then edit, review, approve and export it for dev.to — "
    "with every model call's tokens accounted for."
)

with session_scope(resources.engine()) as session:
    counts = count_rows(session=session)

columns = st.columns(4)
for column, (label, value) in zip(columns, counts.items(), strict=True):
    column.metric(label.capitalize(), value)

st.subheader("Pages")
for spec in PAGES:
    if spec.default or not auth.may_open(user.role, spec.path):
        continue
    st.page_link(spec.path, label=spec.title, icon=spec.icon)
    st.caption(spec.blurb)
