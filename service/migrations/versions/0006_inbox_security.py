"""inbox security: a security level per service edition, server-side inbox sessions

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("owner_services") as batch:
        batch.add_column(sa.Column("security_level", sa.Integer(), nullable=False, server_default="3"))
    op.create_table(
        "inbox_sessions",
        # SHA-256 of the session id the browser holds (the id itself is never stored)
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("pid", sa.String(length=11), nullable=False),
        sa.Column("sign_in_mode", sa.String(length=20), nullable=False),
        sa.Column("security_level", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_inbox_sessions_expires_at", "inbox_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_sessions_expires_at", "inbox_sessions")
    op.drop_table("inbox_sessions")
    with op.batch_alter_table("owner_services") as batch:
        batch.drop_column("security_level")
