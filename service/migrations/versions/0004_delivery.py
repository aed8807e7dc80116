"""delivery: fencing token of a job's claim, index for lease renewal and release

Revision ID: 0004
Revises: 0003 (after the inbox, so that the revisions stay one line)
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("forwardings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_fwd_claim", ["claimed_by", "claim_token"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("forwardings", schema=None) as batch_op:
        batch_op.drop_index("ix_fwd_claim")
        batch_op.drop_column("claim_token")
