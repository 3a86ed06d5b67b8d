"""``users add|list|set-role|disable|enable|passwd``, and the ``--as USER`` login shared by other commands.

Commands that change anything authenticate the acting user: the password comes from the
``EDITORIAL_PASSWORD`` environment variable or is asked on the terminal. The first account
(an admin) can be added without ``--as``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys

from sqlmodel import Session

from db.crud import users as users_crud
from db.models import Role, User
from db.session import session_scope
from editorial.auth import add_user, authenticate, change_password, set_disabled, set_role
from editorial.datastore import open_database
from editorial.errors import EditorialError
from editorial.settings import get_settings

PASSWORD_ENV = "EDITORIAL_PASSWORD"
ROLES = [role.value for role in Role]


class CliInputError(EditorialError):
    """A password could not be read (no terminal, mismatch)."""


def _ask(prompt: str) -> str:
    if not sys.stdin.isatty():
        raise CliInputError(f"No terminal to ask for a password; set {PASSWORD_ENV} or pass --password-stdin.")
    return getpass.getpass(prompt)


def actor_password(username: str) -> str:
    """The acting user's password, from ``EDITORIAL_PASSWORD`` or the terminal."""
    return os.environ.get(PASSWORD_ENV) or _ask(f"Password for {username}: ")


def login_actor(session: Session, username: str) -> User:
    """Authenticate ``--as USER`` (failed attempts count and slow down like in the app)."""
    return authenticate(session=session, username=username, password=actor_password(username))


def new_password(args: argparse.Namespace, username: str) -> str:
    """The new password: one line of stdin with ``--password-stdin``, else asked twice."""
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\r\n")
    first = _ask(f"New password for {username}: ")
    if first != _ask("Repeat it: "):
        raise CliInputError("The two passwords differ.")
    return first


def _session():
    return session_scope(open_database(get_settings()))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``users`` command and its sub-commands."""
    users = subparsers.add_parser("users", help="manage accounts (add, list, set-role, disable, enable, passwd)")
    sub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")

    add = sub.add_parser("add", help="add an account (the first one, an admin, needs no --as)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default=Role.EDITOR.value)
    add.add_argument("--as", dest="actor", help="the admin doing it")
    add.add_argument("--password-stdin", action="store_true", help="read the new password from standard input")
    add.set_defaults(handler=add_command)

    listing = sub.add_parser("list", help="list accounts")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=list_command)

    role_parser = sub.add_parser("set-role", help="change an account's role")
    role_parser.add_argument("name")
    role_parser.add_argument("role", choices=ROLES)
    role_parser.add_argument("--as", dest="actor", required=True)
    role_parser.set_defaults(handler=set_role_command)

    for name, disabled in (("disable", True), ("enable", False)):
        command = sub.add_parser(name, help=f"{name} an account")
        command.add_argument("name")
        command.add_argument("--as", dest="actor", required=True)
        command.set_defaults(handler=disable_command, disabled=disabled)

    passwd = sub.add_parser("passwd", help="set a password (your own, or anyone's as admin)")
    passwd.add_argument("name")
    passwd.add_argument("--as", dest="actor", required=True)
    passwd.add_argument("--password-stdin", action="store_true")
    passwd.set_defaults(handler=passwd_command)


def _user(session: Session, name: str) -> User:
    user = users_crud.get_user_by_name(session=session, username=name)
    if user is None:
        raise CliInputError(f"There is no user {name}.")
    return user


def add_command(args: argparse.Namespace) -> int:
    """Add an account."""
    with _session() as session:
        actor = None
        if users_crud.count_users(session=session) > 0:
            if not args.actor:
                raise CliInputError("Accounts exist already: say which admin adds this one with --as NAME.")
            actor = login_actor(session, args.actor)
        user = add_user(
            session=session, actor=actor, username=args.name, password=new_password(args, args.name), role=args.role
        )
        print(f"added {user.username} ({user.role.value})")
    return 0


def list_command(args: argparse.Namespace) -> int:
    """Print accounts, one per line (or JSON)."""
    with _session() as session:
        rows = [
            {
                "id": user.id,
                "username": user.username,
                "role": Role(user.role).value,
                "disabled": user.disabled,
                "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
            }
            for user in users_crud.list_users(session=session)
        ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            state = "disabled" if row["disabled"] else "active"
            print(f"{row['id']:>4}  {row['username']:<24} {row['role']:<9} {state}")
    return 0


def set_role_command(args: argparse.Namespace) -> int:
    """Change a role."""
    with _session() as session:
        actor = login_actor(session, args.actor)
        user = set_role(session=session, actor=actor, user_id=_user(session, args.name).id, role=args.role)
        print(f"{user.username} is now {user.role.value}")
    return 0


def disable_command(args: argparse.Namespace) -> int:
    """Disable or enable an account."""
    with _session() as session:
        actor = login_actor(session, args.actor)
        user = set_disabled(session=session, actor=actor, user_id=_user(session, args.name).id, disabled=args.disabled)
        print(f"{user.username} is {'disabled' if user.disabled else 'enabled'}")
    return 0


def passwd_command(args: argparse.Namespace) -> int:
    """Set a password."""
    with _session() as session:
        actor = login_actor(session, args.actor)
        user = _user(session, args.name)
        change_password(session=session, actor=actor, user_id=user.id, password=new_password(args, user.username))
        print(f"password of {user.username} changed")
    return 0
