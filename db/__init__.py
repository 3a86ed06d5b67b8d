"""Persistence: SQLModel tables, engine/session, Alembic migrations and CRUD."""
