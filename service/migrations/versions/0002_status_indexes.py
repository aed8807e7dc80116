"""Indexes for the status operations' filters (GetCorrespondenceStatusDetailsV2/V3 by reportee).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_corr_service_reportee", "correspondences", ["service_code", "service_edition", "reportee"])
    op.create_index("ix_fwd_service_reportee", "forwardings", ["service_code", "service_edition", "reportee"])
    op.create_index("ix_fwd_service_created", "forwardings", ["service_code", "service_edition", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_fwd_service_created", "forwardings")
    op.drop_index("ix_fwd_service_reportee", "forwardings")
    op.drop_index("ix_corr_service_reportee", "correspondences")
