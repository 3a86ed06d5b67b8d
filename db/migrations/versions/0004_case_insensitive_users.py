"""User names are case-insensitive; failed logins are counted per typed name.

Adds ``user.username_key`` (the lowercased name, unique) and the ``login_failure`` table, and
drops the per-account counter columns. Refuses to run, naming them, when existing accounts
differ only by case: rename or disable one of each pair with an older version first.

Revision ID: 0004
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this migration."""
    connection = op.get_bind()
    clashes = connection.execute(
        sa.text(
            'SELECT lower(trim(username)) AS k, count(*) FROM "user" GROUP BY lower(trim(username)) HAVING count(*) > 1'
        )
    ).all()
    if clashes:
        names = ", ".join(
            "/".join(
                row[0]
                for row in connection.execute(
                    sa.text('SELECT username FROM "user" WHERE lower(trim(username)) = :k ORDER BY id'), {"k": key}
                )
            )
            for key, _ in clashes
        )
        raise RuntimeError(
            f"User names now ignore case, and these accounts differ only by case: {names}. "
            "Rename one of each (with the previous version of the app) and run the migration again."
        )
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("username_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    connection.execute(sa.text('UPDATE "user" SET username_key = lower(trim(username))'))
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.alter_column("username_key", existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_user_username_key"), ["username_key"])
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("locked_until")
    op.create_table(
        "login_failure",
        sa.Column("name_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name_key"),
    )
    with op.batch_alter_table("login_failure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failure_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("login_failure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failure_updated_at"))
    op.drop_table("login_failure")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("locked_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_user_username_key"), type_="unique")
        batch_op.drop_column("username_key")
