"""The transition table and the role matrix, exhaustively: every pair and every role × action."""

import itertools

import pytest

from db.models import DraftStatus, Role, User
from editorial.workflow import (
    ROLE_ACTIONS,
    TRANSITIONS,
    Action,
    InvalidTransition,
    PermissionDenied,
    available_transitions,
    can,
    require,
    require_transition,
    transition_action,
)

S = DraftStatus
ALLOWED = {
    (S.DRAFT, S.IN_REVIEW): Action.SUBMIT,
    (S.CHANGES_REQUESTED, S.IN_REVIEW): Action.SUBMIT,
    (S.IN_REVIEW, S.CHANGES_REQUESTED): Action.REQUEST_CHANGES,
    (S.IN_REVIEW, S.APPROVED): Action.APPROVE,
    (S.APPROVED, S.EXPORTED): Action.EXPORT,
    (S.APPROVED, S.PUBLISHED): Action.PUBLISH,
    (S.EXPORTED, S.PUBLISHED): Action.PUBLISH,
    (S.APPROVED, S.IN_REVIEW): Action.EDIT_DRAFT,
    (S.EXPORTED, S.IN_REVIEW): Action.EDIT_DRAFT,
    (S.PUBLISHED, S.IN_REVIEW): Action.EDIT_DRAFT,
}

EDITOR_ACTIONS = {Action.VIEW, Action.CREATE_DRAFT, Action.EDIT_DRAFT, Action.SUBMIT, Action.COMMENT}
REVIEWER_ACTIONS = EDITOR_ACTIONS | {Action.APPROVE, Action.REQUEST_CHANGES, Action.EXPORT, Action.PUBLISH}
ADMIN_ACTIONS = set(Action)
EXPECTED = {Role.EDITOR: EDITOR_ACTIONS, Role.REVIEWER: REVIEWER_ACTIONS, Role.ADMIN: ADMIN_ACTIONS}


def user(role: Role, disabled: bool = False) -> User:
    return User(id=1, username=f"{role.value}-user", role=role, password_hash="x", disabled=disabled)


def test_the_table_is_exactly_the_documented_one():
    assert TRANSITIONS == ALLOWED


@pytest.mark.parametrize(("frm", "to"), list(itertools.product(DraftStatus, DraftStatus)))
def test_every_status_pair_is_allowed_or_refused(frm, to):
    if (frm, to) in ALLOWED:
        assert transition_action(frm, to) is ALLOWED[(frm, to)]
    else:
        with pytest.raises(InvalidTransition, match="cannot go from"):
            transition_action(frm, to)


@pytest.mark.parametrize(("role", "action"), list(itertools.product(Role, Action)))
def test_role_matrix(role, action):
    allowed = action in EXPECTED[role]
    assert can(role, action) is allowed
    if allowed:
        assert require(user(role), action).role is role
    else:
        with pytest.raises(PermissionDenied, match=f"may not {action}"):
            require(user(role), action)


def test_roles_are_nested():
    assert ROLE_ACTIONS[Role.EDITOR] < ROLE_ACTIONS[Role.REVIEWER] < ROLE_ACTIONS[Role.ADMIN]


@pytest.mark.parametrize("action", list(Action))
def test_disabled_and_anonymous_users_may_do_nothing(action):
    with pytest.raises(PermissionDenied, match="disabled"):
        require(user(Role.ADMIN, disabled=True), action)
    with pytest.raises(PermissionDenied, match="logged in"):
        require(None, action)
    assert not can(None, action)
    assert not can("superuser", action)


@pytest.mark.parametrize(("frm", "to"), list(ALLOWED))
@pytest.mark.parametrize("role", list(Role))
def test_every_transition_for_every_role(frm, to, role):
    needed = ALLOWED[(frm, to)]
    if needed in EXPECTED[role]:
        assert require_transition(user(role), frm, to) is needed
    else:
        with pytest.raises(PermissionDenied):
            require_transition(user(role), frm, to)


def test_available_transitions_hide_what_a_role_cannot_do_and_edit_reopenings():
    assert available_transitions(S.IN_REVIEW, Role.EDITOR) == []
    assert set(available_transitions(S.IN_REVIEW, Role.REVIEWER)) == {S.CHANGES_REQUESTED, S.APPROVED}
    assert available_transitions(S.DRAFT, Role.EDITOR) == [S.IN_REVIEW]
    assert S.IN_REVIEW not in available_transitions(S.APPROVED, Role.ADMIN)
    assert available_transitions(S.EXPORTED, Role.EDITOR) == []
