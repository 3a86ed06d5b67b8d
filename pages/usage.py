"""Usage: every model call's tokens, by day, model, stage and draft; tokens per published word; cost; CSV."""

from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import streamlit as st

from db.crud import sources as source_crud
from db.session import session_scope
from editorial.usage import REPORT_COLUMNS, metrics_of, tokens_per_word, usage_rows
from editorial.workflow import Action as Permission
from pages.ui import auth, resources

auth.require(Permission.VIEW)
engine = resources.engine()
st.title("Usage")
st.caption(
    "Every model call is stored when it ends, with its tokens and latency. Local models report no usage, so "
    "their tokens are counted with the model's own tokenizer; they cost nothing. Set prices for remote models "
    "in Settings."
)

with session_scope(engine) as session:
    collections = {c.id: c.name for c in source_crud.list_collections(session=session)}

left, right = st.columns([2, 1])
today = date.today()
picked = left.date_input("Dates", value=(today - timedelta(days=29), today), max_value=today, key="usage_dates")
collection_id = right.selectbox(
    "Collection", [None, *collections], format_func=lambda c: "All collections" if c is None else collections[c]
)
start, end = picked if isinstance(picked, tuple | list) and len(picked) == 2 else (picked, picked)
if isinstance(start, tuple | list):  # a half-picked range
    start = end = start[0] if start else today
since = datetime.combine(start, time.min, tzinfo=UTC)
until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)

rows = usage_rows(engine, since=since, until=until, collection_id=collection_id)
if not rows:
    st.info("No model calls in this range yet. Plan or write a post, or try the model in Settings.")
    st.stop()

metrics = metrics_of(rows)
per_draft = tokens_per_word(engine, rows)
frame = pd.DataFrame(rows, columns=REPORT_COLUMNS)
drafted = [f for f in per_draft.values() if f["words"]]
overall_ratio = sum(f["tokens"] for f in drafted) / sum(f["words"] for f in drafted) if drafted else None

cols = st.columns(6)
cols[0].metric("Total tokens", f"{metrics.total_tokens:,}")
cols[1].metric("Prompt", f"{metrics.prompt_tokens:,}")
cols[2].metric("Cached prompt", f"{metrics.cached_prompt_tokens:,}")
cols[3].metric("Completion", f"{metrics.completion_tokens:,}")
cols[4].metric("Successful requests", f"{metrics.successful_requests:,}", delta=None)
cols[5].metric("Estimated cost", f"${frame['cost'].sum():,.4f}")
failed = len(rows) - metrics.successful_requests
st.caption(
    (f"Tokens per published word: **{overall_ratio:.1f}** (drafts in range) · " if overall_ratio else "")
    + f"{len(rows)} calls, {failed} failed · reference CrewAI run: 79 tokens per published word"
)

by_day = frame.groupby("day")[["prompt_tokens", "completion_tokens"]].sum()
st.subheader("Tokens per day")
st.bar_chart(by_day, stack=True)

left, right = st.columns(2)
with left:
    st.subheader("Per model")
    st.bar_chart(frame.groupby("model")[["prompt_tokens", "completion_tokens"]].sum(), stack=True, horizontal=True)
with right:
    st.subheader("Per stage")
    st.bar_chart(
        frame.groupby("stage_group")[["prompt_tokens", "completion_tokens"]].sum(), stack=True, horizontal=True
    )

st.subheader("Per draft")
if per_draft:
    titles = frame.dropna(subset=["draft_id"]).groupby("draft_id")["draft"].first()
    st.dataframe(
        [
            {
                "draft": int(draft_id),
                "title": titles.get(draft_id, ""),
                "tokens": figures["tokens"],
                "words": figures["words"],
                "tokens per word": figures["tokens_per_word"],
                "cost": round(float(frame.loc[frame["draft_id"] == draft_id, "cost"].sum()), 4),
            }
            for draft_id, figures in sorted(per_draft.items())
        ],
        hide_index=True,
        width="stretch",
    )
else:
    st.caption("No calls in this range belong to a draft.")

with st.expander("Every call"):
    st.dataframe(frame.drop(columns=["day"]), hide_index=True, width="stretch")

st.download_button(
    "Download as CSV",
    frame.to_csv(index=False).encode("utf-8"),
    file_name=f"usage-{start.isoformat()}-{end.isoformat()}.csv",
    mime="text/csv",
    icon=":material/download:",
)
