"""WS-Security UsernameToken nonces seen (replay check across processes and hosts)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from .. import orm


class NonceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def purge_expired(self, now: datetime) -> None:
        self.session.execute(delete(orm.WsseNonce).where(orm.WsseNonce.expires_at < now))

    def remember(self, key: str, expires_at: datetime, now: datetime) -> bool:
        """Store ``key`` unless an unexpired entry exists; False when it does (a replay). The unique
        key makes a concurrent insert of the same nonce fail at commit (DuplicateKey)."""
        existing = self.session.get(orm.WsseNonce, key)
        if existing is not None and existing.expires_at > now:
            return False
        if existing is not None:
            self.session.delete(existing)
            self.session.flush()
        self.session.add(orm.WsseNonce(nonce=key, expires_at=expires_at))
        return True
