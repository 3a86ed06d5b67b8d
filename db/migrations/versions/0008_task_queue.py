"""task queue: run control columns, queued ingests

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("live_text", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False, server_default="")
        )
    op.create_table(
        "ingest_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", name="ingesttaskstatus"),
            nullable=False,
        ),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(["collection_id"], ["source_collection.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ingest_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingest_task_collection_id"), ["collection_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ingest_task_status"), ["status"], unique=False)
    op.create_table(
        "ingest_task_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("force", sa.Boolean(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["ingest_task.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ingest_task_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingest_task_file_task_id"), ["task_id"], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("ingest_task_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_task_file_task_id"))
    op.drop_table("ingest_task_file")
    with op.batch_alter_table("ingest_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_task_status"))
        batch_op.drop_index(batch_op.f("ix_ingest_task_collection_id"))
    op.drop_table("ingest_task")
    sa.Enum(name="ingesttaskstatus").drop(op.get_bind(), checkfirst=True)
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.drop_column("worker")
        batch_op.drop_column("live_text")
        batch_op.drop_column("cancel_requested")
