"""The Alembic migrations create exactly the schema the ORM declares (no drift), on SQLite and
PostgreSQL, and form one line of revisions (one head)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

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
