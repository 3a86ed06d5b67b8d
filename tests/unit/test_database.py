import sqlite3
from datetime import datetime

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from db.crud.app_settings import all_app_settings, get_app_setting, set_app_setting
from db.crud.stats import count_rows
from db.migrate import current_revision, head_revision
from db.models import Draft, Revision, Role, User
from db.session import session_scope
from editorial.datastore import open_database
from editorial.errors import DataFolderError


def test_blank_database_migrates_to_the_model_schema(engine):
    assert current_revision(engine) == head_revision()
    inspector = inspect(engine)
    tables = set(inspector.get_table_names()) - {"alembic_version"}
    assert tables == set(SQLModel.metadata.tables)
    for name, table in SQLModel.metadata.tables.items():
        columns = {column["name"] for column in inspector.get_columns(name)}
        assert columns == {column.name for column in table.columns}, name


def test_migrations_match_the_models_exactly(engine):
    """Autogenerate finds nothing to do: no model change without a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = [d for d in compare_metadata(context, SQLModel.metadata) if "upsertion_record" not in str(d)]
    assert diff == []


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_mode_with_foreign_keys(engine, settings):
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    path = settings.resolved_database_url.split("///", 1)[1]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_foreign_keys_are_enforced(engine):
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(Revision(draft_id=999, number=1, body="orphan"))


def test_deleting_a_draft_cascades_to_revisions(engine):
    with session_scope(engine) as session:
        draft = Draft(title="t")
        session.add(draft)
        session.flush()
        session.add(Revision(draft_id=draft.id, number=1, body="x"))
    with session_scope(engine) as session:
        session.delete(session.get(Draft, draft.id))
    with session_scope(engine) as session:
        assert session.get(Revision, 1) is None


def test_timestamps_are_timezone_aware(engine):
    with session_scope(engine) as session:
        session.add(User(username="ann", password_hash="x", role=Role.ADMIN))
    with session_scope(engine) as session:
        user = session.get(User, 1)
        assert isinstance(user.created_at, datetime) and user.created_at.tzinfo is not None
        assert user.role is Role.ADMIN


def test_app_settings_round_trip(session):
    assert get_app_setting(session=session, key="writer", default="none") == "none"
    set_app_setting(session=session, key="writer", value={"backend": "openai"})
    set_app_setting(session=session, key="writer", value={"backend": "embedded"})
    assert get_app_setting(session=session, key="writer") == {"backend": "embedded"}
    assert all_app_settings(session=session) == {"writer": {"backend": "embedded"}}


def test_counts_start_at_zero(session):
    assert count_rows(session=session) == {"collections": 0, "sources": 0, "drafts": 0, "runs": 0}


def test_migration_is_idempotent(settings):
    from editorial.datastore import forget_migrations

    open_database(settings)
    forget_migrations()
    assert current_revision(open_database(settings)) == head_revision()


def test_unwritable_data_folder_gives_one_line(monkeypatch, tmp_path):
    from editorial.settings import Settings

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DataFolderError, match="is not writable") as info:
        open_database(Settings(data_dir=blocker / "data"))
    assert "\n" not in str(info.value)
