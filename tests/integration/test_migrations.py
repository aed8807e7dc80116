"""The Alembic migrations create exactly the schema the ORM declares (no drift), on SQLite and
PostgreSQL, and form one line of revisions (one head)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from service.adapters.migrate import alembic_config, upgrade
from service.adapters.orm import Base
from tests.support.harness import fresh_database


def _drift(url: str) -> list[object]:
    upgrade(url)
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return list(compare_metadata(MigrationContext.configure(c), Base.metadata))
    finally:
        engine.dispose()


def test_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, script.get_heads()


def test_sqlite_schema_matches_the_orm(tmp_path: Path) -> None:
    assert _drift(f"sqlite:///{tmp_path}/m.db") == []


def test_postgresql_schema_matches_the_orm(postgres_url: str) -> None:
    url = fresh_database(postgres_url, "migration_check")
    try:
        assert _drift(url) == []
    finally:
        admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text("DROP DATABASE IF EXISTS migration_check"))
        admin.dispose()


pytestmark = pytest.mark.filterwarnings("ignore")


def test_0009_gives_each_pending_notification_its_send_job(tmp_path: Path) -> None:
    """Data carried over: a pending message with an address becomes a ``notification`` job with its
    attempts, due time and last error; a message waiting for KRR or already final gets none."""
    url = f"sqlite:///{tmp_path}/n.db"
    config = alembic_config(url)
    command.upgrade(config, "0008")
    engine = create_engine(url)
    due = "2026-12-01 12:00:00.000000"
    try:
        with engine.begin() as c:
            for i, (channel, state, text_) in enumerate(
                [("Email", "pending", "451 try later"), (None, "pending", ""), ("SMS", "sent", "sent to x")],
                start=1,
            ):
                c.execute(
                    text(
                        "INSERT INTO notifications (id, correspondence_id, notification_index, endpoint_index,"
                        " transport_type, channel, recipient, language_code, text_tokens, message_id, state,"
                        " status_text, attempts, next_attempt_at, claimed_by, claimed_until, created_at)"
                        " VALUES (:id, 1, 0, 0, 'Email', :channel, 'a@x.no', '1044', '[]', :mid, :state,"
                        " :text, 2, :due, 'old-worker', :due, :due)"
                    ),
                    {"id": i, "channel": channel, "mid": f"m{i}", "state": state, "text": text_, "due": due},
                )
        command.upgrade(config, "head")
        with engine.connect() as c:
            jobs = c.execute(
                text("SELECT kind, reference, status, attempts, run_after, last_error FROM jobs")
            ).all()
            claims = c.execute(text("SELECT id, claimed_by FROM notifications ORDER BY id")).all()
        assert [tuple(j) for j in jobs] == [("notification", "1", "todo", 2, due, "451 try later")]
        assert [tuple(r) for r in claims] == [(1, None), (2, "old-worker"), (3, None)]
        command.downgrade(config, "0008")
        with engine.connect() as c:
            assert c.execute(text("SELECT COUNT(*) FROM jobs")).scalar() == 0
    finally:
        engine.dispose()


def _0010_case(url: str) -> None:
    config = alembic_config(url)
    command.upgrade(config, "0009")
    engine = create_engine(url)
    due, deadline = datetime(2026, 12, 1, 12, 0, tzinfo=UTC), datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    try:
        with engine.begin() as c:
            c.execute(
                text(
                    "INSERT INTO service_owners (id, system_user_code, name, organisation_number, created_at)"
                    " VALUES (1, 'MIG', 'Etat', '910646192', :t)"
                ),
                {"t": due},
            )
            rows = [  # (job_state, status, attempts, next_attempt_at, last_error, claimed_by)
                ("pending", "Unknown", 2, due, "503 from the vendor", "old-worker"),
                ("awaiting_receipt", "Sent_Meldingsformidler", 1, deadline, None, None),
                ("done", "Delivered_EndUser", 1, None, None, None),
                (None, "Reserved", 0, None, None, None),
            ]
            for i, (state, status, attempts, nxt, error, by) in enumerate(rows, start=1):
                c.execute(
                    text(
                        "INSERT INTO receipts (id, owner_id, system_user_code, external_shipment_reference,"
                        ' status_code, text, history, last_changed, "references")'
                        " VALUES (:i, 1, 'MIG', :ref, 'OK', '', '', :t, '[]')"
                    ),
                    {"i": i, "ref": f"mig-{i}", "t": due},
                )
                c.execute(
                    text(
                        "INSERT INTO forwardings (id, receipt_id, owner_id, system_user_code,"
                        " external_shipment_reference, service_code, service_edition, reportee, sdp_setting,"
                        " backup_altinn, options, message_id, conversation_id, status, created_at,"
                        " last_changed, job_state, attempts, next_attempt_at, claimed_by, claim_token,"
                        " last_error) VALUES (:i, :i, 1, 'MIG', :ref, '4503', 1, '01018010018', 'ForwardOnly',"
                        " :f, '{}', :mid, 'conv', :status, :t, :t, :state, :attempts, :nxt, :by, :tok, :err)"
                    ),
                    {
                        "i": i,
                        "ref": f"mig-{i}",
                        "f": False,
                        "mid": f"mid-{i}",
                        "status": status,
                        "t": due,
                        "state": state,
                        "attempts": attempts,
                        "nxt": nxt,
                        "by": by,
                        "tok": "tok" if by else None,
                        "err": error,
                    },
                )
        command.upgrade(config, "0010")
        with engine.connect() as c:
            jobs = c.execute(
                text(
                    "SELECT kind, reference, status, attempts, run_after, last_error, claimed_by FROM jobs"
                    " ORDER BY reference"
                )
            ).all()
            columns = {col["name"] for col in inspect(c).get_columns("forwardings")}
        got = [(k, r, s, n, _utc(t), e, b) for k, r, s, n, t, e, b in jobs]
        assert got == [
            ("deliver", "mid-1", "todo", 2, due, "503 from the vendor", None),  # pending: due, retries go on
            ("deliver", "mid-2", "todo", 0, deadline, None, None),  # awaiting: runs at the receipt deadline
        ]
        assert not columns & {"job_state", "next_attempt_at", "claimed_by", "claimed_until", "claim_token"}
        assert {"attempts", "last_error", "status"} <= columns
        command.downgrade(config, "0009")
        with engine.connect() as c:
            back = c.execute(text("SELECT id, job_state, next_attempt_at FROM forwardings ORDER BY id")).all()
            assert c.execute(text("SELECT COUNT(*) FROM jobs")).scalar() == 0
        assert [(i, s, _utc(n)) for i, s, n in back] == [
            (1, "pending", due),
            (2, "awaiting_receipt", deadline),
            (3, "done", None),
            (4, None, None),
        ]
    finally:
        engine.dispose()


def _utc(value: object) -> object:
    """SQLite gives the stored text back, PostgreSQL an aware datetime: compare as aware datetimes."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def test_0010_gives_each_unfinished_forwarding_its_deliver_job_sqlite(tmp_path: Path) -> None:
    """Data carried over: a pending forwarding becomes a ``deliver`` job due when its next attempt
    was, with its attempts and last error; one awaiting its receipt a job at the receipt deadline;
    final ones none; the forwardings' claim and schedule columns go (and come back on downgrade)."""
    _0010_case(f"sqlite:///{tmp_path}/f.db")


def test_0010_gives_each_unfinished_forwarding_its_deliver_job_postgresql(postgres_url: str) -> None:
    url = fresh_database(postgres_url, "migration_0010")
    try:
        _0010_case(url)
    finally:
        admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text("DROP DATABASE IF EXISTS migration_0010"))
        admin.dispose()
