"""Batch INSERTs on the DB-API connection a session holds: SQL rendered once, rows as value lists.

The group-commit writer stores every table's rows of a batch with :func:`insert_rows`. Going through
SQLAlchemy Core (``conn.execute(insert(table), rows)``) cost the web process about 40 % of its CPU
(issue 17: statement compilation and cache look-ups, ``construct_params``, a result object, per
batch and per table); here the statement of a table and a set of columns is rendered ONCE per
dialect from the SQLAlchemy :class:`~sqlalchemy.Table` (cached; on PostgreSQL once per row count
too), each row becomes a list in the column order, and the driver runs it in the same transaction
(the same unit of work: nothing about the callers changes). Any table's rows fit: a new table
needs no new code here.

Values are converted by the columns' OWN bind processors (``TypeEngine._cached_bind_processor``,
what SQLAlchemy's compiled statement applies: ``UTCDateTime``, JSON, LargeBinary, Boolean, ...),
so the rows read back exactly as before (``tests/integration/test_batch_insert.py`` compares a batch
written both ways, every column of every table, ids included, on both backends). Columns missing
from the rows follow SQLAlchemy's ``executemany`` rules: a scalar Python ``default`` is used, any
other column is left out of the statement (its server default, or NULL).

* PostgreSQL: ONE multi-row statement per table per call (round trips and statements as with
  SQLAlchemy's insertmanyvalues), ids in the order of the rows by SQLAlchemy's own method (see
  :meth:`_Plan.postgres_sql`).
* SQLite: one C-level ``executemany`` (no round trips in process). Ids are assigned by the writer:
  its transaction began with ``BEGIN IMMEDIATE`` under the writer queue's ``flock``
  (``adapters/db.py``), so no other connection can insert until it commits, and ``max(id) + 1 ...``
  read inside it are exactly the ids SQLite itself would give (our tables' ids are ``INTEGER
  PRIMARY KEY`` without ``AUTOINCREMENT``: SQLite's rule is ``max(rowid) + 1``). One indexed
  ``SELECT max(id)`` per table per call; the primary key still refuses a duplicate should that
  assumption ever break (never a silent overwrite). SQLite's ``executemany`` cannot return rows,
  and ``lastrowid`` per row would mean a Python-level ``execute`` per row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import String, Table
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError


class _Plan:
    """One table's INSERT for one set of columns on one dialect: the SQL, how a row dict becomes
    its values (column order, defaults, bind processors)."""

    __slots__ = (
        "table",
        "head",
        "sql",
        "marks",
        "get",
        "processors",
        "defaults",
        "by_count",
        "returning",
        "columns",
    )

    def __init__(self, dialect: Dialect, table: Table, keys: tuple[str, ...], returning: bool) -> None:
        with_id = returning and dialect.name == "sqlite"
        given = [table.c[k] for k in keys]  # KeyError: a key that is not a column, as SQLAlchemy
        defaults = [c for c in table.c if c.key not in keys and c.default is not None and c.default.is_scalar]
        columns = ([table.c.id] if with_id else []) + given + defaults
        q = dialect.identifier_preparer
        self.table = q.format_table(table)
        self.head = f"INSERT INTO {self.table} ({', '.join(q.format_column(c) for c in columns)})"
        # SQLite: one row's statement for executemany (the id first when the writer assigns it).
        self.sql = f"{self.head} VALUES ({', '.join(['?'] * len(columns))})"
        # PostgreSQL: one row's placeholders of a multi-row VALUES list, cast to the column's type
        # where the server could not infer it from a NULL in a sub-select (as SQLAlchemy renders
        # its bind casts); strings stay uncast (a cast to VARCHAR(n) would truncate silently).
        self.marks = "(" + ", ".join(
            "%s" if isinstance(c.type, String) else f"%s::{_cast(dialect, c)}" for c in columns
        )
        self.by_count: dict[int, str] = {}  # PostgreSQL's statement for n rows
        getter = itemgetter(*keys)
        self.get: Callable[[dict[str, Any]], tuple[Any, ...]] = (
            (lambda r: (getter(r),)) if len(keys) == 1 else getter
        )
        self.processors = tuple(  # positions in the row's values, before an id is put in front
            (i, p)
            for i, c in enumerate(given + defaults)
            if (p := c.type._cached_bind_processor(dialect)) is not None
        )
        self.defaults = tuple(c.default.arg for c in defaults)  # type: ignore[union-attr]
        self.returning = returning and not with_id
        self.columns = len(columns)

    def postgres_sql(self, n: int) -> str:
        """``n`` rows in ONE statement. With RETURNING, SQLAlchemy's own form for ids in the order
        of the rows (its insertmanyvalues with ``sort_by_parameter_order`` on PostgreSQL): the rows
        numbered in a VALUES list and inserted ``ORDER BY`` that number, so the serial's ``nextval``
        runs in row order and the ids, sorted, are the rows' in order."""
        sql = self.by_count.get(n)
        if sql is None:
            if not self.returning:
                sql = f"{self.head} VALUES " + ", ".join([self.marks + ")"] * n)
            else:
                names = ", ".join(f"p{i}" for i in range(self.columns))
                values = ", ".join(f"{self.marks}, {i})" for i in range(n))
                sql = (
                    f"{self.head} SELECT {names} FROM (VALUES {values}) AS imp ({names}, sen) "
                    f"ORDER BY sen RETURNING id"
                )
            self.by_count[n] = sql
        return sql


def _cast(dialect: Dialect, column: Any) -> str:
    return str(dialect.type_compiler_instance.process(column.type.dialect_impl(dialect)))


_plans: dict[tuple[str, str, tuple[str, ...], bool], _Plan] = {}


def _plan(dialect: Dialect, table: Table, keys: tuple[str, ...], returning: bool) -> _Plan:
    """The cached plan of one statement: rendered once per (dialect, table, columns)."""
    cache_key = (dialect.name, table.name, keys, returning)
    plan = _plans.get(cache_key)
    if plan is None:
        plan = _plans[cache_key] = _Plan(dialect, table, keys, returning)
    return plan


def insert_rows(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], returning: bool = False
) -> list[int]:
    """Insert ``rows`` (dicts of column keys, all with the same keys) into ``table`` with one
    statement on ``conn``'s DB-API connection; the new ids in the order of ``rows`` when
    ``returning`` (else ``[]``). Errors are SQLAlchemy's, as before: a unique-key violation is its
    ``IntegrityError`` (so :func:`~service.adapters.db.duplicate_keys` translates it as before)."""
    if not rows:
        return []
    dialect = conn.dialect
    plan = _plan(dialect, table, tuple(rows[0]), returning)
    get, processors, defaults = plan.get, plan.processors, plan.defaults
    params: list[list[Any]] = []
    for row in rows:
        values = [*get(row), *defaults]
        for i, process in processors:
            values[i] = process(values[i])
        params.append(values)
    cursor: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    sql = plan.sql
    try:
        if dialect.name != "sqlite":
            ids: list[int] = []
            step = max(1, 30_000 // plan.columns)  # PostgreSQL takes at most 65 535 parameters
            for i in range(0, len(params), step):
                chunk = params[i : i + step]
                sql = plan.postgres_sql(len(chunk))
                cursor.execute(sql, [v for values in chunk for v in values])
                if returning:
                    ids += sorted(int(r[0]) for r in cursor.fetchall())
            return ids
        if not returning:
            cursor.executemany(sql, params)
            return []
        cursor.execute(f"SELECT max(id) FROM {plan.table}")
        first = (cursor.fetchone()[0] or 0) + 1
        ids = list(range(first, first + len(params)))
        for new_id, values in zip(ids, params, strict=True):
            values.insert(0, new_id)
        cursor.executemany(sql, params)
        return ids
    except dialect.loaded_dbapi.Error as exc:
        # As SQLAlchemy's own execution would: its exception class for the DB-API error
        # (IntegrityError, OperationalError, ...; the original as ``.orig``), and a connection
        # found dead is invalidated so that the pool never hands it out again.
        lost = dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            sql, None, exc, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
        ) from exc
    finally:
        cursor.close()
