"""inbox: service editions that need the citizen's confirmation

Revision ID: 0004
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("owner_services") as batch:
        batch.add_column(
            sa.Column("requires_confirmation", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("owner_services") as batch:
        batch.drop_column("requires_confirmation")
