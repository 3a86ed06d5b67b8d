"""The login gate: first admin, login, slow-down message, logout, and refusals by role."""

from datetime import timedelta

from sqlmodel import select
from streamlit.testing.v1 import AppTest

from db.models import LoginFailure, Role, User, utcnow
from db.session import session_scope
from editorial.auth import add_user
from editorial.datastore import open_database
from editorial.settings import get_settings
from pages.ui.state import Keys
from tests.pages.helpers import APP, login, open_page
from tests.timing import scaled


def _engine():
    return open_database(get_settings())


def _fill(at: AppTest, values: dict[str, str]) -> None:
    for key, value in values.items():
        at.text_input(key=key).set_value(value)


def _submit(at: AppTest, label: str) -> AppTest:
    next(button for button in at.button if button.label == label).click()
    return at.run()


def test_first_visit_creates_the_admin_and_logs_in():
    at = AppTest.from_file(APP, default_timeout=scaled(60)).run()
    assert not at.exception
    assert at.subheader[0].value == "Create the admin account"
    _fill(at, {"first_admin_name": "boss", "first_admin_password": "long-password", "first_admin_repeat": "other"})
    _submit(at, "Create the admin account")
    assert at.error[0].value == "The two passwords differ."
    _fill(at, {"first_admin_repeat": "long-password"})
    _submit(at, "Create the admin account")
    assert not at.exception
    assert at.session_state[Keys.ROLE] == "admin" and at.session_state[Keys.USERNAME] == "boss"
    assert at.title[0].value == "Editorial Desk"
    assert any("Logged in as **boss**" in caption.value for caption in at.caption)
    with session_scope(_engine()) as session:
        [user] = session.exec(select(User)).all()
        assert user.role is Role.ADMIN and user.password_hash.startswith("$argon2id$")
        assert "long-password" not in user.password_hash


def test_login_wrong_password_slow_down_and_logout():
    with session_scope(_engine()) as session:
        add_user(session=session, actor=None, username="ada", password="right-password", role=Role.ADMIN)
    at = AppTest.from_file(APP, default_timeout=scaled(60)).run()
    assert at.subheader[0].value == "Log in"
    for _ in range(2):
        _fill(at, {"login_name": "ada", "login_password": "wrong-password"})
        _submit(at, "Log in")
        assert at.error[0].value == "Wrong user name or password."
    _fill(at, {"login_name": "ada", "login_password": "wrong-password"})
    _submit(at, "Log in")
    assert "Next try possible in 2 s" in at.error[0].value
    with session_scope(_engine()) as session:  # a slow machine may take 2 s between runs: lengthen the lock
        failure = session.get(LoginFailure, "ada")
        assert failure.failures == 3
        failure.locked_until = utcnow() + timedelta(seconds=60)
    _fill(at, {"login_name": "ADA", "login_password": "right-password"})
    _submit(at, "Log in")
    assert "Too many failed logins for this name" in at.error[0].value  # locked: even the right password waits
    assert Keys.USER_ID not in at.session_state

    with session_scope(_engine()) as session:  # the lock expires
        session.get(LoginFailure, "ada").locked_until = None
    _fill(at, {"login_name": "ada", "login_password": "right-password"})
    _submit(at, "Log in")
    assert at.session_state[Keys.USERNAME] == "ada" and at.title[0].value == "Editorial Desk"
    assert "login_password" not in at.session_state  # the password does not linger in the session

    at.sidebar.button(key="logout").click().run()
    assert Keys.USER_ID not in at.session_state
    assert at.subheader[0].value == "Log in"


def test_every_page_needs_a_session():
    at = open_page(role=None)
    assert at.subheader[0].value in ("Create the admin account", "Log in")
    for page in ("pages/drafts.py", "pages/editor.py", "pages/review.py", "pages/users.py"):
        at = AppTest.from_file(APP, default_timeout=scaled(60)).run()
        try:
            at.switch_page(page).run()
        except ValueError:  # not even registered before login
            continue
        assert not at.exception
        assert at.warning[0].value == "Please log in." and not at.title


def test_a_disabled_account_is_logged_out_on_the_next_run():
    at = open_page(role="editor")
    assert at.title[0].value == "Editorial Desk"
    with session_scope(_engine()) as session:
        session.exec(select(User).where(User.username == "editor")).one().disabled = True
    at.run()
    assert Keys.USER_ID not in at.session_state and at.subheader[0].value == "Log in"


def test_an_editor_is_refused_admin_and_reviewer_pages():
    pages = (
        ("pages/users.py", "may not manage users"),
        ("pages/review.py", "may not approve"),
        ("pages/settings.py", "Settings is not available to you: editor is an editor and may not manage settings."),
    )
    for page, message in pages:
        at = open_page(page, role="editor")
        assert not at.exception
        assert message in at.error[0].value
        assert not at.dataframe and not at.title


def test_page_access_rules():
    from pages.ui.auth import may_open

    assert may_open(Role.EDITOR, "pages/drafts.py") and may_open(Role.EDITOR, "pages/editor.py")
    assert not may_open(Role.EDITOR, "pages/review.py") and may_open(Role.REVIEWER, "pages/review.py")
    for page in ("pages/users.py", "pages/settings.py"):
        assert not may_open(Role.EDITOR, page) and not may_open(Role.REVIEWER, page) and may_open(Role.ADMIN, page)


def test_a_role_change_ends_the_session_at_once():
    at = open_page("pages/users.py", role="admin", username="demoted")
    assert at.title[0].value == "Users"
    with session_scope(_engine()) as session:
        session.exec(select(User).where(User.username == "demoted")).one().role = Role.EDITOR
    at.run()
    assert Keys.USER_ID not in at.session_state and at.subheader[0].value == "Log in"
    assert at.info[0].value == "Your password or role changed; please log in again."


def test_an_unknown_name_gets_the_same_answers_as_a_real_one():
    with session_scope(_engine()) as session:
        add_user(session=session, actor=None, username="ada", password="right-password", role=Role.ADMIN)
    answers = {}
    for name in ("ada", "nobody"):
        at = AppTest.from_file(APP, default_timeout=scaled(60)).run()
        answers[name] = []
        for _ in range(4):
            _fill(at, {"login_name": name, "login_password": "wrong-password"})
            _submit(at, "Log in")
            answers[name].append(at.error[0].value)
    assert answers["ada"] == answers["nobody"]
    assert answers["ada"][2] == "Wrong user name or password. Next try possible in 2 s."


def test_the_first_admin_needs_a_strong_password_and_names_ignore_case():
    at = AppTest.from_file(APP, default_timeout=scaled(60)).run()
    _fill(at, {"first_admin_name": "Boss", "first_admin_password": "password1", "first_admin_repeat": "password1"})
    _submit(at, "Create the admin account")
    assert at.error[0].value.startswith("That password is too easy to guess")
    assert Keys.USER_ID not in at.session_state
    _fill(at, {"first_admin_password": "long-password", "first_admin_repeat": "long-password"})
    _submit(at, "Create the admin account")
    assert at.session_state[Keys.USERNAME] == "Boss"
    at = login(AppTest.from_file(APP, default_timeout=scaled(60)), _user("Boss")).run()
    at.switch_page("pages/users.py").run()
    at.text_input(key="add_user_name").set_value("boss")
    at.text_input(key="add_user_password").set_value("long-enough")
    next(b for b in at.button if b.label == "Add").click().run()
    assert at.error[0].value == "The user name boss is taken."
    with session_scope(_engine()) as session:
        assert [u.username for u in session.exec(select(User)).all()] == ["Boss"]


def _user(name: str) -> User:
    with session_scope(_engine()) as session:
        return session.exec(select(User).where(User.username == name)).one()
