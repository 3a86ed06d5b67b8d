"""Who may do what, and which status changes exist: the one place the review workflow is defined.

Statuses: draft → in review → changes requested ↔ in review → approved → exported / published.
Editing an approved (or exported/published) draft sends it back to review; saving a draft that is
in review keeps it in review and puts the save on the timeline, and an approval must name the
revision the reviewer saw (:func:`require_current_revision`), so a revision nobody reviewed is never
approved. Deleting a collection or a source is for its owner, reviewers and admins
(:func:`require_delete_collection`, :func:`require_delete_source`). Every function that changes
data calls one of these checks with the acting user.
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
    DELETE_ANY_SOURCES = "delete collections and sources added by others"
    MANAGE_USERS = "manage users"
    MANAGE_SETTINGS = "manage settings"


_EDITOR = frozenset({Action.VIEW, Action.CREATE_DRAFT, Action.EDIT_DRAFT, Action.SUBMIT, Action.COMMENT})
_REVIEWER = _EDITOR | {
    Action.APPROVE,
    Action.REQUEST_CHANGES,
    Action.EXPORT,
    Action.PUBLISH,
    Action.DELETE_ANY_SOURCES,
}
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
    # Saving: after approval the save moves the draft back to review; during review it stays there.
    (S.IN_REVIEW, S.IN_REVIEW): Action.EDIT_DRAFT,
    (S.APPROVED, S.IN_REVIEW): Action.EDIT_DRAFT,
    (S.EXPORTED, S.IN_REVIEW): Action.EDIT_DRAFT,
    (S.PUBLISHED, S.IN_REVIEW): Action.EDIT_DRAFT,
}
"""Every allowed status change and the action (hence the roles) it needs."""

REOPENED_BY_EDIT = frozenset({S.APPROVED, S.EXPORTED, S.PUBLISHED})
"""Statuses that an edit sends back to review."""

RECORDED_SAVES = REOPENED_BY_EDIT | {S.IN_REVIEW}
"""Statuses in which a save is written on the timeline (the reviewer must see the new revision)."""

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


class StaleReview(EditorialError):
    """The reviewer acted on a revision that is no longer the draft's current one."""


def status_after_save(status: DraftStatus | str) -> DraftStatus:
    """The status a draft has after a new revision is saved: approved, exported and published go back to review."""
    status = DraftStatus(status)
    return S.IN_REVIEW if status in REOPENED_BY_EDIT else status


_REOPENED_TEXTS = ("Edited after approval: needs a new review.", "saving a change sends it back to review.")
_SAVE_TEXTS: dict[DraftStatus, tuple[str, str]] = {
    **dict.fromkeys(REOPENED_BY_EDIT, _REOPENED_TEXTS),
    S.IN_REVIEW: (
        "Edited during review: an approval must name this revision (or a later one).",
        "saving a change is recorded on its timeline, and a reviewer must approve the new revision.",
    ),
}
"""For each status in :data:`RECORDED_SAVES`: (the timeline note of a save, what the editor reads before saving)."""


def save_note(status: DraftStatus | str) -> str:
    """The timeline note for a save made while the draft was ``status`` (empty when a save is not recorded)."""
    return _SAVE_TEXTS.get(DraftStatus(status), ("", ""))[0]


def save_effect(status: DraftStatus | str) -> str:
    """What saving a change does to a draft that is ``status``, for the editor to read before saving."""
    return _SAVE_TEXTS.get(DraftStatus(status), ("", ""))[1]


def require_current_revision(*, draft_id: int, seen: int | None, current: int, action: str) -> None:
    """Refuse a review action on a revision other than the current one.

    Raises:
        StaleReview: ``seen`` is missing or differs from ``current``.
    """
    if seen is None:
        raise StaleReview(f"Say which revision of draft {draft_id} you reviewed before you {action} it.")
    if seen != current:
        raise StaleReview(
            f"Draft {draft_id} changed while you reviewed it: you saw revision {seen}, the current one is "
            f"revision {current}. Review revision {current} before you {action} it."
        )


def _require_owner(user: User | None, owner_ids: tuple[int | None, ...], what: str, owners: str) -> User:
    require(user, Action.VIEW)
    if any(owner_id is not None and owner_id == user.id for owner_id in owner_ids):
        return user
    if can(user.role, Action.DELETE_ANY_SOURCES):
        return user
    raise PermissionDenied(f"{user.username} may not delete {what}: only {owners}, reviewers and admins may.")


def require_delete_collection(user: User | None, *, name: str, owner_id: int | None) -> User:
    """Allow deleting a collection to its creator, reviewers and admins.

    Raises:
        PermissionDenied: Anyone else (and disabled accounts).
    """
    return _require_owner(user, (owner_id,), f"the collection '{name}'", "the editor who created it")


def require_delete_source(
    user: User | None, *, name: str, added_by_id: int | None, collection_owner_id: int | None
) -> User:
    """Allow deleting a source to whoever added it, the collection's creator, reviewers and admins.

    Raises:
        PermissionDenied: Anyone else (and disabled accounts).
    """
    owners = "the editor who added it, the collection's creator"
    return _require_owner(user, (added_by_id, collection_owner_id), f"'{name}'", owners)


def status_label(status: DraftStatus | str) -> str:
    """A human label for a status."""
    return STATUS_LABELS[DraftStatus(status)]


def _article(role: Role | str) -> str:
    return "an" if Role(role).value[0] in "aeiou" else "a"
