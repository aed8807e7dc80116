"""Lists of keys in one statement: ``column = ANY(:array)`` on PostgreSQL, ``IN (...)`` elsewhere.

On PostgreSQL a list of keys is ONE array parameter: one statement text whatever the count (the
server's plan cache and SQLAlchemy's statement cache keep it), served by the same btree index as
``IN``. SQLite takes up to 32 766 parameters a statement; lists are cut at ``SQLITE_CHUNK``.
So a status history of 10 000 references costs a handful of queries on either database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

SQLITE_CHUNK = 10000
_ARRAY: dict[type, ARRAY[Any]] = {int: ARRAY(Integer), str: ARRAY(String)}


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def chunks(session: Session, values: Sequence[Any]) -> list[Sequence[Any]]:
    """``values`` in as few pieces as the database takes in one statement (never an empty piece)."""
    if not values:
        return []
    if _postgres(session):
        return [values]
    return [values[i : i + SQLITE_CHUNK] for i in range(0, len(values), SQLITE_CHUNK)]


def among(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values`` (a non-empty piece from :func:`chunks`)."""
    if _postgres(session):
        return column == any_(bindparam(None, list(values), type_=_ARRAY[type(values[0])]))
    return column.in_(values)
