"""Alembic environment: the URL comes from the caller (``innbyggerpost migrate``) or settings."""

from __future__ import annotations

import os

from alembic import context

from service.adapters.orm import Base
from service.bootstrap import bootstrap
from service.config import load

config = context.config
url = config.get_main_option("sqlalchemy.url") or load().database_url


def run_migrations_online() -> None:
    container = bootstrap(load({**os.environ, "INNBYGGERPOST_DATABASE_URL": url}), check_database=False)
    engine = container.engine
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
