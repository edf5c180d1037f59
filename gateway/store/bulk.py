"""Many rows written or looked up at once, through the DB-API cursor of the session's connection.

A first import of 100,000 offers runs a few hundred statements over millions of values. Through
SQLAlchemy, each value of an `IN (…)` list became a bound parameter object, and each row
written went through parameter construction and type processing of its own: a large share of
the importer's own time in a profile. Here the SQL text is built once per statement shape and the values go
to the driver as they are; a column whose type needs converting for this database (a datetime
on SQLite) is converted by SQLAlchemy's own processor, so what is stored is what the ORM would
have stored, and read back the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.orm import Session

CHUNK = 500  # values of one IN list (well under SQLite's and PostgreSQL's limits)


def driver_marks(connection: Connection, count: int) -> str:
    """`count` parameter placeholders for driver-level SQL (sqlite3: ?, psycopg: %s)."""
    return ", ".join(["?" if connection.dialect.paramstyle == "qmark" else "%s"] * count)


def rows_where_in(
    db: Session, select_from: str, column: str, values: Iterable[str], *, then: str = ""
) -> Iterator[tuple[Any, ...]]:
    """The rows of `select_from` (`SELECT … FROM table`) whose `column` is one of `values`.

    Looked up CHUNK values at a time; `then` (an ORDER BY) applies within each chunk."""
    wanted = sorted(set(values))
    if not wanted:
        return
    connection = db.connection()
    cursor = connection.connection.cursor()
    try:
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            marks = driver_marks(connection, len(chunk))
            cursor.execute(f"{select_from} WHERE {column} IN ({marks}) {then}", tuple(chunk))
            yield from cursor.fetchall()
    finally:
        cursor.close()


def insert_rows(db: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT every row (dicts with the same keys), in one executemany."""
    if not rows:
        return
    connection = db.connection()
    columns = list(rows[0])
    convert = _converters(connection, table, columns)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(_quoted(connection, c) for c in columns)}) "
        f"VALUES ({driver_marks(connection, len(columns))})"
    )
    connection.exec_driver_sql(sql, [convert(row) for row in rows])


def update_rows(db: Session, table: Table, key: str, rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE the row of each `row[key]` with the row's other values (dicts with the same keys)."""
    if not rows:
        return
    connection = db.connection()
    columns = [column for column in rows[0] if column != key]
    convert = _converters(connection, table, [*columns, key])
    mark = driver_marks(connection, 1)
    assignments = ", ".join(f"{_quoted(connection, c)} = {mark}" for c in columns)
    sql = f"UPDATE {table.name} SET {assignments} WHERE {_quoted(connection, key)} = {mark}"
    connection.exec_driver_sql(sql, [convert(row) for row in rows])


def _quoted(connection: Connection, column: str) -> str:
    return connection.dialect.identifier_preparer.quote(column)


def _converters(
    connection: Connection, table: Table, columns: list[str]
) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A function turning a row into the driver's tuple, in `columns` order."""
    processors: list[Callable[[Any], Any] | None] = [
        # The dialect's own type (SQLite's DATETIME), as the ORM would use: the generic one has none.
        table.c[column].type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
        for column in columns
    ]
    if not any(processors):
        return lambda row: tuple(row[column] for column in columns)
    # The rows of one statement share their datetimes (the import's "now"): each distinct value
    # is converted once.
    memo: dict[tuple[int, Any], Any] = {}

    def convert(row: dict[str, Any]) -> tuple[Any, ...]:
        out = []
        for index, (column, process) in enumerate(zip(columns, processors, strict=True)):
            value = row[column]
            if process is not None and value is not None:
                try:
                    value = memo[index, value]
                except KeyError:
                    value = memo.setdefault((index, value), process(value))
                except TypeError:  # unhashable: converted every time
                    value = process(value)
            out.append(value)
        return tuple(out)

    return convert


@contextmanager
def larger_page_cache(connection: Connection, mebibytes: int = 32) -> Iterator[None]:
    """SQLite: a larger page cache for one long write transaction, the default's afterwards.

    With SQLite's default 2 MB, a 100,000-offer import kept evicting the pages of its dozen
    indexes: dirty ones were spilled to the WAL and written there again at their next change
    (a WAL as large as the database), clean ones read back from the OS. 32 MB: 101.8 → 80.9 s.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    (before,) = connection.exec_driver_sql("PRAGMA cache_size").one()
    connection.exec_driver_sql(f"PRAGMA cache_size = {-1024 * int(mebibytes)}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")
