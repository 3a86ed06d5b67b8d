"""The app's pages in one list: ``streamlit_app.py`` builds the navigation from it, the home page links to it.

Each capability registers its page here once it works; never list a page that does not.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    """One page of the app."""

    path: str
    title: str
    icon: str
    section: str
    blurb: str
    default: bool = False


PAGES: list[PageSpec] = [
    PageSpec(
        "pages/home.py", "Home", ":material/home:", "Desk", "What Editorial Desk does, at a glance.", default=True
    ),
    PageSpec(
        "pages/settings.py",
        "Settings",
        ":material/settings:",
        "Admin",
        "Models and where they load from, data locations, database and Chroma status; try the model.",
    ),
    PageSpec(
        "pages/drafts.py",
        "Drafts",
        ":material/article:",
        "Desk",
        "Every draft with its status, author and last change; filter, open, start a new one, zip approved posts.",
    ),
    PageSpec(
        "pages/editor.py",
        "Editor",
        ":material/edit_note:",
        "Desk",
        "Markdown with a live preview, dev.to front matter, revisions and diffs, timeline, export and dev.to.",
    ),
    PageSpec(
        "pages/review.py",
        "Review",
        ":material/fact_check:",
        "Desk",
        "Drafts waiting for review: read-only preview, approve or request changes (reviewers and admins).",
    ),
    PageSpec(
        "pages/users.py",
        "Users",
        ":material/group:",
        "Admin",
        "Accounts and roles, and the dev.to API key (admins).",
    ),
    PageSpec(
        "pages/sources.py",
        "Sources",
        ":material/library_books:",
        "Desk",
        "Collections of your own material: upload files or paste text, watch them ingest, preview and search them.",
    ),
    PageSpec(
        "pages/plan_write.py",
        "Plan & Write",
        ":material/auto_awesome:",
        "Write",
        "Research a collection, edit and approve the plan, write the post with citations while it streams.",
    ),
    PageSpec(
        "pages/ask.py",
        "Ask",
        ":material/forum:",
        "Write",
        'Ask a collection a question: a short answer cited to its passages, or a clear "the sources don\'t say".',
    ),
    PageSpec(
        "pages/usage.py",
        "Usage",
        ":material/monitoring:",
        "Insights",
        "Tokens per day, model, stage and draft; tokens per published word; estimated cost; CSV download.",
    ),
]
