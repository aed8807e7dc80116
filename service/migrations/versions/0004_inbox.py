"""inbox: service editions that need the citizen's confirmation

Revision ID: 0004
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0005"  # main: 0001 -> 0005; the lead orders the chain at merge
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
