"""Who may do what, and which status changes exist: the one place the review workflow is defined.

Statuses: draft → in review → changes requested ↔ in review → approved → exported / published.
Editing an approved (or exported/published) draft sends it back to review. Every function that
changes data calls :func:`require` or :func:`require_transition` with the acting user.
"""

from __future__ import annotations

from enum import StrEnum

from db.models import DraftStatus, Role, User
from editorial.errors import EditorialError


class PermissionDenied(EditorialError):
    """The acting user's role does not allow the action."""


class InvalidTransition(EditorialError):
    """The requested status change does not exist from the draft's current status."""


class Action(StrEnum):
    """Privileged actions; each role is granted a set of them in :data:`ROLE_ACTIONS`."""

    VIEW = "view"
    CREATE_DRAFT = "create draft"
    EDIT_DRAFT = "edit draft"
    SUBMIT = "submit for review"
    COMMENT = "comment"
    APPROVE = "approve"
    REQUEST_CHANGES = "request changes"
    EXPORT = "export"
    PUBLISH = "publish to dev.to"
    FORCE_EXPORT = "export without approval"
    DELETE_DRAFT = "delete draft"
    MANAGE_USERS = "manage users"
    MANAGE_SETTINGS = "manage settings"


_EDITOR = frozenset({Action.VIEW, Action.CREATE_DRAFT, Action.EDIT_DRAFT, Action.SUBMIT, Action.COMMENT})
_REVIEWER = _EDITOR | {Action.APPROVE, Action.REQUEST_CHANGES, Action.EXPORT, Action.PUBLISH}
_ADMIN = _REVIEWER | {Action.FORCE_EXPORT, Action.DELETE_DRAFT, Action.MANAGE_USERS, Action.MANAGE_SETTINGS}

ROLE_ACTIONS: dict[Role, frozenset[Action]] = {Role.EDITOR: _EDITOR, Role.REVIEWER: _REVIEWER, Role.ADMIN: _ADMIN}
"""The role matrix: each role includes everything the role below it may do."""

S = DraftStatus
TRANSITIONS: dict[tuple[DraftStatus, DraftStatus], Action] = {
    (S.DRAFT, S.IN_REVIEW): Action.SUBMIT,
    (S.CHANGES_REQUESTED, S.IN_REVIEW): Action.SUBMIT,
    (S.IN_REVIEW, S.CHANGES_REQUESTED): Action.REQUEST_CHANGES,
    (S.IN_REVIEW, S.APPROVED): Action.APPROVE,
    (S.APPROVED, S.EXPORTED): Action.EXPORT,
    (S.APPROVED, S.PUBLISHED): Action.PUBLISH,
    (S.EXPORTED, S.PUBLISHED): Action.PUBLISH,
    # Editing after approval: the edit itself moves the draft back to review.
    (S.APPROVED, S.IN_REVIEW): Action.EDIT_DRAFT,
    (S.EXPORTED, S.IN_REVIEW): Action.EDIT_DRAFT,
    (S.PUBLISHED, S.IN_REVIEW): Action.EDIT_DRAFT,
}
"""Every allowed status change and the action (hence the roles) it needs."""

REOPENED_BY_EDIT = frozenset({S.APPROVED, S.EXPORTED, S.PUBLISHED})
"""Statuses that an edit sends back to review."""

EXPORTABLE = frozenset({S.APPROVED, S.EXPORTED, S.PUBLISHED})
"""Statuses whose drafts may be exported or sent to dev.to without ``force``."""

STATUS_LABELS: dict[DraftStatus, str] = {
    S.DRAFT: "Draft",
    S.IN_REVIEW: "In review",
    S.CHANGES_REQUESTED: "Changes requested",
    S.APPROVED: "Approved",
    S.EXPORTED: "Exported",
    S.PUBLISHED: "Published",
}


def can(role: Role | str | None, action: Action) -> bool:
    """Whether ``role`` is granted ``action`` (None, an unknown role: nothing)."""
    try:
        return action in ROLE_ACTIONS[Role(role)]
    except ValueError:
        return False


def require(user: User | None, action: Action) -> User:
    """Return ``user`` if it is an active account whose role grants ``action``.

    Raises:
        PermissionDenied: No user, a disabled account, or a role without ``action``.
    """
    if user is None:
        raise PermissionDenied(f"You must be logged in to {action}.")
    if user.disabled:
        raise PermissionDenied(f"The account {user.username} is disabled.")
    if not can(user.role, action):
        raise PermissionDenied(
            f"{user.username} is {_article(user.role)} {Role(user.role).value} and may not {action}."
        )
    return user


def transition_action(from_status: DraftStatus, to_status: DraftStatus) -> Action:
    """The action a status change needs.

    Raises:
        InvalidTransition: The change is not in :data:`TRANSITIONS`.
    """
    try:
        return TRANSITIONS[(DraftStatus(from_status), DraftStatus(to_status))]
    except KeyError:
        raise InvalidTransition(
            f"A draft cannot go from {STATUS_LABELS[DraftStatus(from_status)].lower()} "
            f"to {STATUS_LABELS[DraftStatus(to_status)].lower()}."
        ) from None


def require_transition(user: User | None, from_status: DraftStatus, to_status: DraftStatus) -> Action:
    """Check that ``user`` may move a draft from ``from_status`` to ``to_status``; return the action."""
    action = transition_action(from_status, to_status)
    require(user, action)
    return action


def available_transitions(status: DraftStatus, role: Role | str | None) -> list[DraftStatus]:
    """The statuses ``role`` may move a draft to by an explicit review action (not by editing)."""
    return [
        to
        for (frm, to), action in TRANSITIONS.items()
        if frm == DraftStatus(status) and action is not Action.EDIT_DRAFT and can(role, action)
    ]


def status_label(status: DraftStatus | str) -> str:
    """A human label for a status."""
    return STATUS_LABELS[DraftStatus(status)]


def _article(role: Role | str) -> str:
    return "an" if Role(role).value[0] in "aeiou" else "a"
