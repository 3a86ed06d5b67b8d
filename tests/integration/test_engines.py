"""The team engines themselves: a blank PostgreSQL database migrates to the models, and the CLI's ``doctor``
works against PostgreSQL and a Chroma server (real servers, started by the fixtures in :mod:`tests.engines`)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from db.migrate import current_revision, head_revision, upgrade
from db.session import make_engine
from tests.conftest import REPO_ROOT


def test_a_blank_postgresql_database_migrates_to_exactly_the_models(postgres_server):
    engine = make_engine(postgres_server.create_database(f"blank_{uuid.uuid4().hex[:12]}"))
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert set(inspect(engine).get_table_names()) - {"alembic_version"} >= set(SQLModel.metadata.tables)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = [d for d in compare_metadata(context, SQLModel.metadata) if "upsertion_record" not in str(d)]
        assert diff == []
        upgrade(engine)  # idempotent
    finally:
        engine.dispose()


def test_cli_doctor_uses_postgresql_and_the_chroma_server(postgres_server, chroma_server, tmp_path):
    env = {
        **os.environ,
        "EDITORIAL_DATA_DIR": str(tmp_path / "data"),
        "EDITORIAL_DATABASE_URL": postgres_server.create_database(f"doctor_{uuid.uuid4().hex[:12]}"),
        "EDITORIAL_CHROMA_HOST": "127.0.0.1",
        "EDITORIAL_CHROMA_PORT": str(chroma_server.port),
    }
    init = subprocess.run(
        [sys.executable, "-m", "editorial", "init", "--skip-models"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert init.returncode == 0, init.stderr
    doctor = subprocess.run(
        [sys.executable, "-m", "editorial", "doctor", "--no-models"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    out = doctor.stdout
    assert "postgresql" in out.lower(), out
    assert f"127.0.0.1:{chroma_server.port}" in out, out
    assert doctor.returncode == 0, out
    checks = [line for line in out.splitlines() if line.startswith(("ok ", "FAIL"))]
    assert len(checks) >= 7 and all(line.startswith("ok ") for line in checks), out
