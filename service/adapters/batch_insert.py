"""Batch INSERTs on the DB-API connection a session holds: SQL rendered once, rows as tuples.

The group-commit writer stores every table's rows of a batch with :func:`insert_rows`. Going through
SQLAlchemy Core (``conn.execute(insert(table), rows)``) cost the web process about 40 % of its CPU
(issue 17: statement compilation and cache look-ups, ``construct_params``, a result object, per
batch and per table); here the statement of a table and a set of columns is rendered ONCE per
dialect from the SQLAlchemy :class:`~sqlalchemy.Table` (cached), each row becomes a tuple in the
column order, and the driver's ``executemany`` runs it in the same transaction (the same unit of
work: nothing about the callers changes).

Values are converted by the columns' OWN bind processors (``TypeEngine._cached_bind_processor``,
what SQLAlchemy's compiled statement applies: ``UTCDateTime``, JSON, LargeBinary, Boolean, ...),
so the rows read back exactly as before (``tests/integration/test_batch_insert.py`` compares a batch
written both ways, column by column, on both backends). Columns missing from the rows follow
SQLAlchemy's ``executemany`` rules: a scalar Python ``default`` is used, any other column is left
out of the statement (its server default, or NULL).

Ids (``returning=True``), in the order of the rows:

* PostgreSQL: ``INSERT ... RETURNING id`` with psycopg's ``executemany(..., returning=True)``: one
  result per row, in order; psycopg sends the executions pipelined (one round trip) and, after the
  engine's ``prepare_threshold``, as a server-side prepared statement (a fixed SQL text, whatever
  the batch's size, unlike a multi-row VALUES list).
* SQLite: the writer assigns them. Its transaction began with ``BEGIN IMMEDIATE`` under the
  writer queue's ``flock`` (``adapters/db.py``): no other connection can insert until it commits,
  so ``max(id) + 1 ...`` read inside it are exactly the ids SQLite itself would give (our tables'
  ids are ``INTEGER PRIMARY KEY`` without ``AUTOINCREMENT``: SQLite's rule is ``max(rowid) + 1``).
  One indexed ``SELECT max(id)`` per table per call, then one C-level ``executemany``; the primary
  key still refuses a duplicate should that assumption ever break (never a silent overwrite).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import IntegrityError

_Plan = tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]], tuple[tuple[int, Any], ...], tuple[Any, ...]]
_plans: dict[tuple[str, str, tuple[str, ...], bool], _Plan] = {}


def _plan(dialect: Dialect, table: Table, keys: tuple[str, ...], returning: bool) -> _Plan:
    """(SQL, row -> values getter, (position, bind processor) pairs, default values) of one
    statement; rendered once per (dialect, table, columns). With ``returning``, SQLite's statement
    takes the id as its first value, PostgreSQL's returns it."""
    cache_key = (dialect.name, table.name, keys, returning)
    with_id = returning and dialect.name == "sqlite"
    plan = _plans.get(cache_key)
    if plan is not None:
        return plan
    given = [table.c[k] for k in keys]  # KeyError: a key that is not a column, as SQLAlchemy refuses it
    defaults = [c for c in table.c if c.key not in keys and c.default is not None and c.default.is_scalar]
    columns = ([table.c.id] if with_id else []) + given + defaults
    q = dialect.identifier_preparer
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {q.format_table(table)} ({', '.join(q.format_column(c) for c in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    if returning and not with_id:
        sql += f" RETURNING {q.format_column(table.c.id)}"
    getter = itemgetter(*keys)
    one = len(keys) == 1
    get: Callable[[dict[str, Any]], tuple[Any, ...]] = (lambda r: (getter(r),)) if one else getter
    processors = tuple(  # positions in the row's values, before an id is put in front
        (i, p)
        for i, c in enumerate(given + defaults)
        if (p := c.type._cached_bind_processor(dialect)) is not None
    )
    plan = (sql, get, processors, tuple(c.default.arg for c in defaults))  # type: ignore[union-attr]
    _plans[cache_key] = plan
    return plan


def insert_rows(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], returning: bool = False
) -> list[int]:
    """Insert ``rows`` (dicts of column keys, all with the same keys) into ``table`` with one
    ``executemany`` on ``conn``'s DB-API connection; the new ids in the order of ``rows`` when
    ``returning`` (else ``[]``). A unique-key violation raises SQLAlchemy's ``IntegrityError``
    (so :func:`~service.adapters.db.duplicate_keys` translates it as before)."""
    if not rows:
        return []
    dialect = conn.dialect
    sqlite = dialect.name == "sqlite"
    sql, get, processors, defaults = _plan(dialect, table, tuple(rows[0]), returning)
    params: list[Any] = []
    for row in rows:
        values = [*get(row), *defaults]
        for i, process in processors:
            values[i] = process(values[i])
        params.append(values)
    cursor: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if not returning:
            cursor.executemany(sql, params)
            return []
        if sqlite:
            cursor.execute(f"SELECT max(id) FROM {dialect.identifier_preparer.format_table(table)}")
            first = (cursor.fetchone()[0] or 0) + 1
            ids = list(range(first, first + len(params)))
            for new_id, values in zip(ids, params, strict=True):
                values.insert(0, new_id)
            cursor.executemany(sql, params)
            return ids
        cursor.executemany(sql, params, returning=True)
        ids = []
        while True:
            ids.append(int(cursor.fetchone()[0]))
            if not cursor.nextset():
                break
        return ids
    except dialect.loaded_dbapi.Error as exc:
        if isinstance(exc, dialect.loaded_dbapi.IntegrityError):
            raise IntegrityError(sql, None, exc) from exc
        if dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor):
            conn.invalidate(exc)  # the pool must not hand this connection out again
        raise
    finally:
        cursor.close()
