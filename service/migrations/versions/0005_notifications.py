"""notifications outbox (Altinn e-mail/SMS notifications)

Revision ID: 0005
Revises: 0004 (main's head, 0001 -> 0005 -> 0004 -> 0002, when this branch was last rebased; the lead orders the chain at merge)
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("correspondence_id", sa.Integer(), nullable=False),
        sa.Column("notification_index", sa.Integer(), nullable=False),
        sa.Column("endpoint_index", sa.Integer(), nullable=False),
        sa.Column("reminder_of", sa.Integer(), nullable=True),
        sa.Column("transport_type", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=True),
        sa.Column("from_address", sa.String(length=320), nullable=True),
        sa.Column("notification_type", sa.String(length=100), nullable=True),
        sa.Column("language_code", sa.String(length=4), nullable=False),
        sa.Column("text_tokens", sa.JSON(), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("status_text", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["correspondence_id"], ["correspondences.id"]),
        sa.ForeignKeyConstraint(["reminder_of"], ["notifications.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_notif_job", "notifications", ["state", "next_attempt_at"])
    op.create_index("ix_notif_corr", "notifications", ["correspondence_id"])


def downgrade() -> None:
    op.drop_index("ix_notif_corr", table_name="notifications")
    op.drop_index("ix_notif_job", table_name="notifications")
    op.drop_table("notifications")
