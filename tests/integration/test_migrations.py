"""The Alembic migrations create exactly the schema the ORM declares (no drift), on SQLite and
PostgreSQL, and form one line of revisions (one head)."""

from __future__ import annotations

from pathlib import Path

import pytest
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
