"""jobs: one durable job table for outbound work (the Altinn copy first); owner services' Altinn 3 resource

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "reference", name="uq_jobs_kind_reference"),
    )
    op.create_index("ix_jobs_due", "jobs", ["status", "run_after"])
    op.create_index("ix_jobs_external", "jobs", ["kind", "external_id"])
    op.create_index("ix_jobs_claim", "jobs", ["claimed_by", "claim_token"])
    with op.batch_alter_table("owner_services") as batch:
        batch.add_column(sa.Column("altinn3_resource_id", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("owner_services") as batch:
        batch.drop_column("altinn3_resource_id")
    op.drop_index("ix_jobs_claim", table_name="jobs")
    op.drop_index("ix_jobs_external", table_name="jobs")
    op.drop_index("ix_jobs_due", table_name="jobs")
    op.drop_table("jobs")
