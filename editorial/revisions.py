"""Differences between revisions: unified text diff and side-by-side HTML table."""

from __future__ import annotations

import difflib

import nh3

from db.models import Revision
from editorial.frontmatter import compose_post


def revision_text(revision: Revision) -> str:
    """A revision as the post file it would export to (front matter plus body)."""
    return compose_post(dict(revision.front_matter or {}), revision.body)


def unified_diff(old: str, new: str, *, old_label: str = "old", new_label: str = "new", context: int = 3) -> str:
    """A unified diff of two texts ("" when they are equal)."""
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), fromfile=old_label, tofile=new_label, n=context, lineterm=""
    )
    return "\n".join(lines)


def side_by_side_html(old: str, new: str, *, old_label: str = "old", new_label: str = "new") -> str:
    """A side-by-side HTML table of the changed regions (texts escaped by difflib, then sanitised)."""
    table = difflib.HtmlDiff(wrapcolumn=60).make_table(
        old.splitlines(), new.splitlines(), fromdesc=old_label, todesc=new_label, context=True, numlines=2
    )
    style = (
        "<style>table.diff{font-family:monospace;font-size:0.8rem;border-collapse:collapse}"
        ".diff_add{background:#d4f8d4}.diff_chg{background:#fff3b0}.diff_sub{background:#ffd6d6}"
        "td,th{padding:0 4px;vertical-align:top}</style>"
    )
    return style + sanitize_html_table(table)


def sanitize_html_table(table: str) -> str:
    """Sanitise difflib's table keeping its classes (for colouring) and nothing executable."""
    return nh3.clean(
        table,
        tags={"table", "colgroup", "col", "thead", "tbody", "tr", "th", "td", "span", "a"},
        attributes={"table": {"class"}, "td": {"class", "nowrap"}, "th": {"class", "colspan"}, "span": {"class"}},
        url_schemes=set(),
    )
