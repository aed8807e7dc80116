"""notification jobs: every pending Altinn notification message with an address gets its send job
(kind ``notification``) in the one job mechanism; the notifications' own claims are cleared

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The messages waiting to be sent (or retried) carry their attempts, due time and last error over.
    op.execute(
        sa.text(
            "INSERT INTO jobs (kind, reference, payload, status, attempts, run_after, claimed_by,"
            " claimed_until, claim_token, external_id, last_error, created_at, updated_at)"
            " SELECT 'notification', CAST(id AS VARCHAR(100)), '{}', 'todo', attempts,"
            " COALESCE(next_attempt_at, created_at), NULL, NULL, NULL, NULL, NULLIF(status_text, ''),"
            " created_at, created_at"
            " FROM notifications WHERE state = 'pending' AND channel IS NOT NULL"
        )
    )
    # A claim of the old outbox means nothing now: the job's claim (lease, fencing token) is the one.
    op.execute(
        sa.text(
            "UPDATE notifications SET claimed_by = NULL, claimed_until = NULL WHERE channel IS NOT NULL"
        )
    )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM jobs WHERE kind = 'notification'"))
