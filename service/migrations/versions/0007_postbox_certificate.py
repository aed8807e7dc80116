"""forwardings.postbox_certificate: KRR's sertifikat of the citizen's postbox (DER), stored with the
forwarding so the delivery can encrypt the DPI document package to it

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("forwardings") as batch:
        batch.add_column(sa.Column("postbox_certificate", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("forwardings") as batch:
        batch.drop_column("postbox_certificate")
