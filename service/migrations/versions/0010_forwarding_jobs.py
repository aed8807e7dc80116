"""forwarding jobs: every forwarding still to be sent or awaiting its receipt gets its ``deliver`` job
(reference: its message id) in the one job mechanism; the forwardings' own outbox columns go

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OUTBOX_COLUMNS = ("job_state", "next_attempt_at", "claimed_by", "claimed_until", "claim_token")


def upgrade() -> None:
    # Pending: due when its next attempt was, with its attempts and last error (the one retry rule
    # goes on counting). Awaiting its receipt: the job runs again at the receipt deadline (the
    # forwardings' next_attempt_at), when it expires the forwarding unless a receipt came first.
    op.execute(
        sa.text(
            "INSERT INTO jobs (kind, reference, payload, status, attempts, run_after, claimed_by,"
            " claimed_until, claim_token, external_id, last_error, created_at, updated_at)"
            " SELECT 'deliver', message_id, '{}', 'todo',"
            " CASE WHEN job_state = 'pending' THEN attempts ELSE 0 END,"
            " COALESCE(next_attempt_at, last_changed), NULL, NULL, NULL, NULL,"
            " CASE WHEN job_state = 'pending' THEN last_error END, created_at, last_changed"
            " FROM forwardings WHERE job_state IN ('pending', 'awaiting_receipt')"
        )
    )
    # The forwardings' own claim, lease and schedule: a claim of the old outbox means nothing now.
    # Plain DROP COLUMN (PostgreSQL; SQLite since 3.35) once the indexes naming them are gone.
    op.drop_index("ix_fwd_claim", table_name="forwardings")
    op.drop_index("ix_fwd_job", table_name="forwardings")
    for column in OUTBOX_COLUMNS:
        op.execute(sa.text(f"ALTER TABLE forwardings DROP COLUMN {column}"))


def downgrade() -> None:
    op.add_column("forwardings", sa.Column("job_state", sa.String(length=20), nullable=True))
    op.add_column("forwardings", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("forwardings", sa.Column("claimed_by", sa.String(length=100), nullable=True))
    op.add_column("forwardings", sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("forwardings", sa.Column("claim_token", sa.String(length=32), nullable=True))
    op.execute(
        sa.text(
            "UPDATE forwardings SET job_state = CASE"
            " WHEN status = 'Unknown' THEN 'pending'"
            " WHEN status = 'Sent_Meldingsformidler' THEN 'awaiting_receipt'"
            " WHEN status IN ('Reserved', 'NoMailBox') THEN NULL ELSE 'done' END,"
            " next_attempt_at = (SELECT j.run_after FROM jobs j WHERE j.kind = 'deliver'"
            " AND j.reference = forwardings.message_id AND j.status = 'todo')"
        )
    )
    op.create_index("ix_fwd_job", "forwardings", ["job_state", "next_attempt_at"])
    op.create_index("ix_fwd_claim", "forwardings", ["claimed_by", "claim_token"])
    op.execute(sa.text("DELETE FROM jobs WHERE kind = 'deliver'"))
