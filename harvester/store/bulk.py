"""Bulk inserts compiled once per dialect and run with the driver's executemany."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, DateTime, Dialect, Insert, Table
from sqlalchemy.types import TypeEngine


@dataclass(frozen=True)
class BulkInsert:
    """A Core statement compiled once per dialect, for executemany without per-row overhead.

    SQLAlchemy's generic parameter handling costs more per row than SQLite's insert itself, so
    rows go to the driver as tuples (or dicts, for drivers with named parameters), each value
    passed through its column type's own bind processor (JSON encoding, datetime formatting),
    exactly as SQLAlchemy would. Columns named in ``encoded`` take JSON text the caller has
    already produced, and skip the JSON encoder.
    """

    sql: str
    columns: tuple[str, ...]
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, bind processor) where one exists
    positional: bool  # qmark/format paramstyles take tuples; named ones take dicts

    @classmethod
    def compile(cls, statement: Insert, table: Table, columns: Sequence[str], dialect: Dialect, *,
                encoded: Sequence[str] = ()) -> BulkInsert:
        compiled = statement.compile(dialect=dialect, column_keys=list(columns))
        order = tuple(compiled.positiontup or columns)
        processors = ((i, bind_processor(table.c[name].type, dialect)) for i, name in enumerate(order)
                      if name not in encoded)
        return cls(compiled.string, order, tuple((i, p) for i, p in processors if p is not None),
                   compiled.positional)

    def run(self, conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
        """Insert ``rows``, dicts by column name."""
        self.run_values(conn, [tuple(map(row.__getitem__, self.columns)) for row in rows])

    def run_values(self, conn: Connection, rows: Iterable[Sequence[Any]]) -> None:
        """Insert ``rows``, each a sequence of values in the order of ``self.columns`` (the table's)."""
        if self.positional and not self.processors:  # the driver takes them as they are
            conn.exec_driver_sql(self.sql, [tuple(values) for values in rows])
        else:
            conn.exec_driver_sql(self.sql, [self._bind(values) for values in rows])

    def _bind(self, values: Sequence[Any]) -> tuple[Any, ...] | dict[str, Any]:
        if self.processors:
            values = list(values)
            for position, process in self.processors:
                values[position] = process(values[position])
        return tuple(values) if self.positional else dict(zip(self.columns, values, strict=True))


def bind_processor(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """What SQLAlchemy does to a value of ``column_type`` before the driver gets it, as a function
    (None: nothing). SQLite datetimes get the same text faster: SQLAlchemy's formatter was a
    tenth of a full crawl's CPU, and three of a row's five times are the page's time, the same
    object in every row, whose text each column's processor keeps."""
    impl = column_type.dialect_impl(dialect)
    processor = impl.bind_processor(dialect)
    if dialect.name != "sqlite" or not isinstance(column_type, DateTime) or processor is None:
        return processor
    from sqlalchemy.dialects.sqlite import DATETIME

    if getattr(impl, "_storage_format", None) != DATETIME._storage_format:  # a column with a format of its own
        return processor
    last: list[tuple[Any, str]] = [(None, "")]  # one tuple, swapped whole: safe for threads sharing it

    def sqlite_datetime(value: Any) -> Any:
        seen, text = last[0]
        if value is seen and value is not None:
            return text
        if type(value) is not datetime:  # a date, or a subclass with an isoformat of its own
            return processor(value)
        text = value.isoformat(" ", "microseconds")[:26]  # SQLAlchemy's '%Y-%m-%d %H:%M:%S.%f', no zone
        last[0] = (value, text)
        return text

    return sqlite_datetime
