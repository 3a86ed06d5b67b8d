"""Differences between revisions: unified text diff and side-by-side HTML table."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import nh3

from db.models import Revision
from editorial.frontmatter import compose_post

MAX_SIDE_BY_SIDE_LINES = 300
MAX_SIDE_BY_SIDE_CHARS = 400_000


@dataclass(frozen=True)
class DiffStats:
    """Lines added and removed from one text to another."""

    added: int
    removed: int


def revision_text(revision: Revision) -> str:
    """A revision as the post file it would export to (front matter plus body)."""
    return compose_post(dict(revision.front_matter or {}), revision.body)


def unified_diff(old: str, new: str, *, old_label: str = "old", new_label: str = "new", context: int = 3) -> str:
    """A unified diff of two texts ("" when they are equal)."""
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), fromfile=old_label, tofile=new_label, n=context, lineterm=""
    )
    return "\n".join(lines)


def diff_stats(old: str, new: str) -> DiffStats:
    """How many lines were added and removed (line matching only: linear-ish, no character-level pass)."""
    added = removed = 0
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            removed += i2 - i1
        if tag in ("replace", "insert"):
            added += j2 - j1
    return DiffStats(added, removed)


def side_by_side_html(old: str, new: str, *, old_label: str = "old", new_label: str = "new") -> str:
    """A side-by-side HTML table of the changed regions (texts escaped by difflib, then sanitised).

    The table's character-level matching is quadratic, so past :data:`MAX_SIDE_BY_SIDE_LINES` changed lines or
    :data:`MAX_SIDE_BY_SIDE_CHARS` changed characters it is replaced by one line pointing to the unified diff.
    """
    stats = diff_stats(old, new)
    changed = stats.added + stats.removed
    size = len(old) + len(new)
    if changed > MAX_SIDE_BY_SIDE_LINES or (changed and size > MAX_SIDE_BY_SIDE_CHARS):
        return (
            f"<p><em>Too many changes for the side-by-side view ({stats.added} lines added, {stats.removed} "
            "removed); the unified diff shows them all.</em></p>"
        )
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
