"""WS-Security UsernameToken nonces seen (replay check across processes and hosts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .. import orm

NONCES = cast(Table, orm.WsseNonce.__table__)


class NonceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def purge_expired(self, now: datetime) -> None:
        self.session.execute(delete(orm.WsseNonce).where(orm.WsseNonce.expires_at < now))

    def remember(self, key: str, expires_at: datetime, now: datetime) -> bool:
        """Store ``key`` unless an unexpired entry exists; False when it does (a replay). ONE
        statement, no read before it: ``INSERT ... ON CONFLICT (nonce) DO UPDATE ... WHERE`` the
        stored entry has expired, so a row is written (True) for a new or an expired nonce and none
        (False) for a live one. A concurrent insert of the same nonce waits for the other
        transaction and then finds the key (False), or on SQLite is serialised by the write lock."""
        dialect = self.session.get_bind().dialect.name
        make: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = make(NONCES).values(nonce=key, expires_at=expires_at)
        stmt = stmt.on_conflict_do_update(
            index_elements=[NONCES.c.nonce],
            set_={"expires_at": stmt.excluded.expires_at},
            where=NONCES.c.expires_at <= now,
        )
        # RETURNING, not the row count (SQLAlchemy gives -1 for a single INSERT on psycopg)
        return self.session.execute(stmt.returning(NONCES.c.nonce)).first() is not None
