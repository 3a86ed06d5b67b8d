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
    require_delete_collection,
    require_delete_source,
    require_transition,
    save_effect,
    status_after_save,
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
    (S.IN_REVIEW, S.IN_REVIEW): Action.EDIT_DRAFT,
    (S.APPROVED, S.IN_REVIEW): Action.EDIT_DRAFT,
    (S.EXPORTED, S.IN_REVIEW): Action.EDIT_DRAFT,
    (S.PUBLISHED, S.IN_REVIEW): Action.EDIT_DRAFT,
}

EDITOR_ACTIONS = {Action.VIEW, Action.CREATE_DRAFT, Action.EDIT_DRAFT, Action.SUBMIT, Action.COMMENT}
REVIEWER_ACTIONS = EDITOR_ACTIONS | {
    Action.APPROVE,
    Action.REQUEST_CHANGES,
    Action.EXPORT,
    Action.PUBLISH,
    Action.DELETE_ANY_SOURCES,
}
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


@pytest.mark.parametrize("status", list(DraftStatus))
def test_what_a_save_does_to_each_status(status):
    reopened = status in (S.APPROVED, S.EXPORTED, S.PUBLISHED)
    assert status_after_save(status) is (S.IN_REVIEW if reopened else status)
    assert bool(save_effect(status)) is (reopened or status is S.IN_REVIEW)


def test_who_may_delete_collections_and_sources():
    owner, other = user(Role.EDITOR), User(id=2, username="other", role=Role.EDITOR, password_hash="x")
    for role in (Role.REVIEWER, Role.ADMIN):
        assert require_delete_collection(user(role), name="Docs", owner_id=99).role is role
        assert require_delete_source(user(role), name="a.md", added_by_id=99, collection_owner_id=99).role is role
    assert require_delete_collection(owner, name="Docs", owner_id=1) is owner
    assert require_delete_source(owner, name="a.md", added_by_id=1, collection_owner_id=None) is owner
    assert require_delete_source(owner, name="a.md", added_by_id=None, collection_owner_id=1) is owner
    with pytest.raises(PermissionDenied, match="may not delete the collection 'Docs'"):
        require_delete_collection(other, name="Docs", owner_id=1)
    with pytest.raises(PermissionDenied, match=r"may not delete 'a\.md'"):
        require_delete_source(other, name="a.md", added_by_id=1, collection_owner_id=1)
    with pytest.raises(PermissionDenied, match="disabled"):
        require_delete_collection(user(Role.ADMIN, disabled=True), name="Docs", owner_id=1)
    with pytest.raises(PermissionDenied, match="logged in"):
        require_delete_source(None, name="a.md", added_by_id=None, collection_owner_id=None)
