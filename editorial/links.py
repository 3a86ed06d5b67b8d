"""Links to things: the query parameters that name a draft, run, plan or collection, and who may open a run.

Every page that shows one of these keeps its id in the address (``/Editor?draft=12``), so a
reload, a bookmark or a link sent to a colleague opens the same thing, for anyone allowed to see it.
"""

from __future__ import annotations

from db.models import Role, Run, User

DRAFT = "draft"
RUN = "run"
PLAN = "plan"
COLLECTION = "collection"

_MAX_DIGITS = 12


def parse_id(raw: object) -> int | None:
    """A positive id from a query-parameter value; None for anything else (bounded: at most 12 digits)."""
    text = str(raw or "").strip()
    if not text or len(text) > _MAX_DIGITS or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value > 0 else None


def may_see_run(user: User, run: Run) -> bool:
    """Editors see their own runs; reviewers and admins see everyone's."""
    return Role(user.role) in (Role.REVIEWER, Role.ADMIN) or run.started_by_id == user.id


def run_refusal(user: User, run: Run | None, run_id: int) -> str:
    """'' if ``user`` may open the run, else the one line that says why not."""
    if run is None:
        return f"Run #{run_id} does not exist."
    if not may_see_run(user, run):
        return f"Run #{run_id} belongs to another editor; only its author, reviewers and admins can open it."
    return ""
