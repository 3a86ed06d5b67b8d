"""Migration 0004: user names become case-insensitive; it refuses, naming them, accounts that differ only by case."""

import pytest
from alembic import command
from sqlalchemy import text

from db.migrate import alembic_config, head_revision
from db.session import make_engine


def _migrate(engine, target: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, target)


def _add_users(engine, *names: str) -> None:
    with engine.begin() as connection:
        for name in names:
            connection.execute(
                text(
                    'INSERT INTO "user" (username, role, disabled, password_hash, failed_logins, created_at) '
                    "VALUES (:name, 'EDITOR', 0, 'x', 0, '2026-01-01 00:00:00')"
                ),
                {"name": name},
            )


def test_existing_names_get_their_lowercase_key(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    _migrate(engine, "0001")
    _add_users(engine, "Ada", "bob")
    _migrate(engine, head_revision())
    with engine.connect() as connection:
        rows = connection.execute(text('SELECT username, username_key FROM "user" ORDER BY id')).all()
    assert [tuple(row) for row in rows] == [("Ada", "ada"), ("bob", "bob")]


def test_names_that_differ_only_by_case_stop_the_migration_with_their_names(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    _migrate(engine, "0001")
    _add_users(engine, "Boss", "boss", "ed")
    with pytest.raises(RuntimeError, match="differ only by case: Boss/boss"):
        _migrate(engine, head_revision())
    with engine.connect() as connection:  # nothing was changed: the database stays at 0001 with its accounts
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"
        assert connection.execute(text('SELECT count(*) FROM "user"')).scalar() == 3
