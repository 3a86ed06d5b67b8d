"""The groundedness report on the Editor and Review pages: summary, highlighted preview, sentence inspector.

Every text shown here comes from a draft or a source, so it is escaped before it reaches Markdown, and
the preview goes through :func:`editorial.grounding.highlight.highlighted_preview` (sanitised HTML).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import streamlit as st

from editorial.grounding import store
from editorial.grounding.highlight import highlighted_preview
from editorial.grounding.schemas import GroundednessReport, SentenceCheck, SentenceStatus
from editorial.grounding.store import StoredReport
from editorial.preview import render_preview

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
STATUS_LABELS = {
    SentenceStatus.SUPPORTED: ":green[supported]",
    SentenceStatus.UNSUPPORTED: ":red[unsupported]",
    SentenceStatus.NO_CLAIM: ":gray[no claim]",
}
STATUS_MARKS = {SentenceStatus.SUPPORTED: "✓", SentenceStatus.UNSUPPORTED: "✗", SentenceStatus.NO_CLAIM: "·"}
PASSAGE_CHARS = 1200
LIST_LIMIT = 50
TERMS_LIMIT = 100


@dataclass(frozen=True)
class Shown:
    """The check shown with a text: a stored revision's report, or a check of the editor's unsaved text."""

    report: GroundednessReport
    summary: str
    saved: bool
    footer: str


def escape_markdown(text: str) -> str:
    """``text`` with every Markdown (and Streamlit directive) character escaped, on one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _short(text: str, limit: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _footer(stored: StoredReport) -> str:
    who = "the writing run" if stored.checked_by == store.WRITER else "the re-check on save"
    return (
        f"Revision {stored.revision_number} checked by {who} in {stored.elapsed_ms} ms against "
        f"{len(stored.report.passages)} source passage(s)."
    )


def for_revision(stored: StoredReport | None) -> Shown | None:
    """What to show for a stored revision (None when it has no report)."""
    if stored is None:
        return None
    return Shown(stored.report, store.summary_line(stored), True, _footer(stored))


def for_editor(draft_id: int, typed_body: str, saved_body: str | None, stored: StoredReport | None) -> Shown | None:
    """The check matching the editor's text: the stored one, or a check of the unsaved text (cached per text).

    Unsaved text is checked against the same passages, without generation and without storing anything.
    """
    if stored is None or saved_body is None or typed_body == saved_body:
        return for_revision(stored)
    cache_key = f"editor.{draft_id}.grounding"
    digest = hashlib.sha256(typed_body.encode("utf-8", "replace")).hexdigest()
    cached = st.session_state.get(cache_key)
    if cached is None or cached[0] != (digest, stored.revision_id):
        report, elapsed_ms, problem = store.check_body(typed_body, stored.report.passages)
        cached = ((digest, stored.revision_id), report, elapsed_ms, problem)
        st.session_state[cache_key] = cached
    _, report, elapsed_ms, problem = cached
    summary = store.describe(report, what="Your unsaved text", problem=problem)
    footer = f"Unsaved text checked in {elapsed_ms} ms against {len(report.passages)} source passage(s)."
    return Shown(report, summary, False, footer)


def preview(front_matter: dict, body: str, shown: Shown | None, *, highlight: bool) -> None:
    """The preview of ``body``; unsupported sentences highlighted when ``shown`` checked exactly this text."""
    if shown is not None and highlight:
        st.html(highlighted_preview(front_matter, body, shown.report.sentences))
    else:
        st.html(render_preview(front_matter, body))


def summary(shown: Shown | None) -> None:
    """One line on how much of the text its sources back (or that none stand behind it)."""
    if shown is None:
        st.caption("Sources check: this revision has not been checked.")
        return
    line = escape_markdown(shown.summary)
    if shown.report.unsupported and shown.report.passages:
        st.markdown(f":material/fact_check: :red-background[{line}]")
    else:
        st.markdown(f":material/fact_check: {line}")


def highlight_toggle(shown: Shown | None, *, key: str) -> bool:
    """Whether to highlight unsupported sentences (off by default when no sources stand behind the draft)."""
    if shown is None or not shown.report.unsupported:
        return False
    return st.toggle("Highlight unsupported sentences", value=bool(shown.report.passages), key=key)


def _passage_block(report: GroundednessReport, n: int, *, score: float | None) -> None:
    passage = report.passages.get(n)
    if passage is None:
        st.caption(f"[{n}] is not among the draft's sources.")
        return
    score_text = f" · support score {score:.2f}" if score is not None else ""
    st.markdown(f"**[{n}] {escape_markdown(passage.label() or 'source')}**{score_text}")
    text = passage.text if len(passage.text) <= PASSAGE_CHARS else passage.text[:PASSAGE_CHARS] + "…"
    st.markdown("> " + escape_markdown(text))


def sentence_inspector(report: GroundednessReport, *, key: str) -> None:
    """Pick any sentence and see its verdict and the passage behind it (source label, score, text)."""
    if not report.sentences:
        st.caption("There are no sentences to check.")
        return
    by_index = {s.index: s for s in report.sentences}
    options = list(by_index)
    first = next((s.index for s in report.sentences if s.status == SentenceStatus.UNSUPPORTED), options[0])
    if st.session_state.get(key) not in by_index:  # the text changed under a remembered choice
        st.session_state.pop(key, None)
    chosen = st.selectbox(
        "Sentence",
        options,
        index=options.index(first),
        format_func=lambda i: f"{STATUS_MARKS[by_index[i].status]} {i + 1}. {_short(by_index[i].text)}",
        key=key,
    )
    sentence: SentenceCheck = by_index[chosen]
    st.markdown(f"{STATUS_LABELS[sentence.status]} — “{escape_markdown(sentence.text)}”")
    if sentence.reason:
        st.caption(escape_markdown(sentence.reason))
    if sentence.passage_n is not None:
        _passage_block(report, sentence.passage_n, score=sentence.score)
    for n in sentence.cited:
        if n != sentence.passage_n:
            st.caption(f"Cites [{n}], which does not support it:")
            _passage_block(report, n, score=None)
    if sentence.passage_n is None and not sentence.cited:
        st.caption("No passage behind this sentence." if report.passages else "No sources behind this draft.")


def details(shown: Shown | None, *, key: str, with_summary: bool = True) -> None:
    """Summary, unsupported sentences, terms found in no source, and the sentence inspector."""
    if with_summary:
        summary(shown)
    if shown is None:
        return
    report = shown.report
    unsupported = report.unsupported
    if not report.passages and unsupported:
        st.info(
            "No sources behind this draft: it was pasted or typed rather than written from a collection, so its "
            f"{len(unsupported)} sentence(s) with a claim cannot be checked. A reviewer must acknowledge that "
            "to approve it.",
            icon=":material/info:",
        )
    elif unsupported:
        st.markdown(f"**Unsupported sentences** ({len(unsupported)})")
        for sentence in unsupported[:LIST_LIMIT]:
            reason = f" — {escape_markdown(sentence.reason)}" if sentence.reason else ""
            st.markdown(f"{sentence.index + 1}\\. :red-background[{escape_markdown(sentence.text)}]{reason}")
        if len(unsupported) > LIST_LIMIT:
            st.caption(f"… and {len(unsupported) - LIST_LIMIT} more (see the inspector below).")
    if report.unknown_terms:
        terms = " · ".join(escape_markdown(t) for t in report.unknown_terms[:TERMS_LIMIT])
        st.markdown(f"**Not found in the sources:** {terms}")
    sentence_inspector(report, key=key)
    st.caption(shown.footer)


def acknowledgement(stored: StoredReport | None, *, key: str) -> bool:
    """The reviewer's explicit acknowledgement (no checkbox, False, when nothing needs acknowledging)."""
    if not store.needs_acknowledgement(stored):
        return False
    if not stored.unsupported_count:
        label = f"Revision {stored.revision_number} was not checked whole; I approve it anyway"
    elif stored.has_sources:
        label = f"I have read the {stored.unsupported_count} unsupported sentence(s) and approve anyway"
    else:
        label = f"No sources stand behind this draft; I approve its {stored.unsupported_count} unchecked claim(s)"
    return st.checkbox(label, key=key)
