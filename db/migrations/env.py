"""Alembic environment: SQLModel metadata, batch mode for SQLite."""

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlmodel import SQLModel

import db.models  # noqa: F401  (registers the tables)

config = context.config
target_metadata = SQLModel.metadata

# Tables owned by libraries (LangChain's record manager) are not ours to migrate.
FOREIGN_TABLES = {"upsertion_record"}


def include_object(obj, name, type_, reflected, compare_to):
    """Leave library-owned tables alone in autogenerate."""
    return not (type_ == "table" and name in FOREIGN_TABLES)


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        include_object=include_object,
        compare_type=True,
    )


def run_migrations_online() -> None:
    """Run against the connection handed over by db.migrate, or one made from the URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
