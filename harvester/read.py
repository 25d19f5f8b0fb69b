"""Reading the catalog out: read-only SQL, rows as pyarrow Tables and Parquet, and files replaced on success.

Rows stream from the database a batch at a time (a server-side cursor on PostgreSQL), so an
export of millions of rows holds one batch in memory. The text writers (JSON Lines, CSV, ...) are in
`render`; Parquet is here, beside the conversion to Arrow that it shares with ``query(as_="arrow")``.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import IO, Any, NamedTuple

from sqlalchemy import JSON, Engine, MetaData, TypeDecorator, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import TypeEngine

from .errors import CatalogError, ConfigError, MissingExtra, QueryRefused
from .render import json_text, plain, write_rows
from .store import dialect
from .store.engine import catalog_error, create_catalog_engine, damaged, database_reason, describe, open_catalog

BATCH = 5_000
PARQUET_BATCH = 1_000  # rows per row group: pyarrow's copies of a batch are what an export's memory is made of
READING = ("select", "with", "values", "table")  # statements a server-side cursor can stream
# Bare words that are statements, not tables: refused as statements rather than "no such table".
STATEMENT_WORDS = ("vacuum", "analyze", "reindex", "begin", "commit", "rollback", "end", "checkpoint")
LEADING = re.compile(r"[\s;]*(?:--[^\n]*(?:\n|$)|/\*.*?\*/)", re.DOTALL)  # space, semicolons, comments
KEYWORD = re.compile(r"[\s;]*([A-Za-z_]+)")


def read_only_catalog(url: str) -> Engine:
    """The catalog at ``url`` (which must exist and be current), opened so that it refuses writes."""
    open_catalog(url, upgrade=False).dispose()  # a clear error for a missing or outdated catalog
    engine = create_catalog_engine(url)
    dialect.read_only(engine)
    return engine


class Rows(NamedTuple):
    """What an export streams: column names, the SQL types a table declares for them (None for a
    query's columns, whose types only their values tell), and the rows."""

    columns: list[str]
    types: list[TypeEngine[Any] | None]
    stream: Iterator[tuple]


def rows(engine: Engine, table_or_query: str) -> Rows:
    """Column names, types and a stream of rows, for a table (or view) name or a SELECT.

    A table's JSON columns come back parsed on every backend; a query's values are as the
    database gives them.
    """
    metadata = MetaData()
    name = table_or_query.strip()
    keyword = first_keyword(table_or_query)
    bare = name.isidentifier() and keyword not in STATEMENT_WORDS
    try:
        if bare:
            metadata.reflect(engine, only=[name], views=True)
    except SQLAlchemyError:
        pass
    table = metadata.tables.get(name)
    if table is None and bare:
        raise QueryRefused(f"catalog {describe(engine)!r} has no table or view named {name!r}: give a table "
                           "name (models, datasets, spaces, changes, ...) or a SELECT")
    runs = dialect.query_statements(engine.dialect, READING)
    if table is None and keyword not in runs:
        raise QueryRefused(f"catalog {describe(engine)!r} is open read-only here: {keyword.upper() or 'that'} is "
                           f"refused before it runs ({', '.join(word.upper() for word in runs)} run); nothing "
                           "was changed")
    statement = select(table) if table is not None else text(table_or_query)
    # a server-side cursor can only run a query; anything else is run as it is, and refused
    streamed = table is not None or keyword in READING
    conn = engine.connect()
    try:
        options = {"yield_per": BATCH} if streamed else {}  # yield_per implies a server-side cursor
        result = conn.execution_options(**options).execute(statement)
    except SQLAlchemyError as exc:
        conn.close()
        raise _refused(engine, exc) from None
    if not result.returns_rows:
        conn.close()
        raise QueryRefused("the statement returns no rows: give a table name or a SELECT")

    def stream() -> Iterator[tuple]:
        try:
            yield from (tuple(row) for row in result)
        except SQLAlchemyError as exc:
            raise _refused(engine, exc) from None
        finally:
            conn.close()

    columns = list(result.keys())
    types = [table.c[column].type for column in columns] if table is not None else [None] * len(columns)
    return Rows(columns, types, stream())


def first_keyword(sql: str) -> str:
    """The statement's first word, lower-cased, after any blank space and comments ('' if none)."""
    position = 0
    while (comment := LEADING.match(sql, position)) is not None and comment.end() > position:
        position = comment.end()
    word = KEYWORD.match(sql, position)
    return word.group(1).lower() if word else ""


def _refused(engine: Engine, exc: SQLAlchemyError) -> CatalogError:
    """The SQL's failure (exit code 2), or a damaged file's, which is no fault of the SQL (exit code 1, as
    every command has it)."""
    reason = database_reason(exc)
    if damaged(reason):
        return catalog_error(engine, exc, "read")
    if "readonly" in reason or "read-only" in reason or "query_only" in reason or "not authorized" in reason:
        return QueryRefused(f"catalog {describe(engine)!r} is open read-only here; nothing was changed ({reason})")
    return QueryRefused(f"the query failed on catalog {describe(engine)!r}: {reason}")


def write_export(result: Rows, format_: str, path: str | None, out: IO[str]) -> int:
    """``result``'s rows written as ``format_`` to the file at ``path`` (replaced only once they all are),
    or without a path to ``out``; how many rows were written."""
    if path is None:
        return write_rows(format_, result.columns, result.stream, out)
    with replaced_on_success(path) as temporary:
        if format_ == "parquet":
            return write_parquet(result, temporary)
        with open(temporary, "w", newline="", encoding="utf-8") as file:
            return write_rows(format_, result.columns, result.stream, file)


@contextmanager
def replaced_on_success(path: str) -> Iterator[str]:
    """Where to write an export to ``path``: a temporary file beside it that takes its place only
    if the block succeeds, so a failed export leaves no partial file that reads as a whole one.

    Only for a new file or a plain one: a symlink or a device (``/dev/stdout``, a named pipe) is
    written in place, since replacing it would write somewhere else.
    """
    if os.path.lexists(path) and (os.path.islink(path) or not os.path.isfile(path)):
        yield path
        return
    directory = os.path.dirname(os.path.abspath(path))
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".part",
                                                 dir=directory)
    except OSError as exc:
        raise ConfigError(f"cannot write {path!r}: {exc.strerror}") from None
    os.close(descriptor)
    try:
        os.chmod(temporary, stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else 0o666 & ~_umask())
        yield temporary
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_parquet(result: Rows, path: str) -> int:
    """Parquet through pyarrow, a row group per 1,000 rows; nested values are stored as JSON text.

    A table's column types come from its declaration. A query's come from its first batch (a
    column with no value there is text, and later values are written as text).
    """
    pa = _pyarrow("Parquet")
    import pyarrow.parquet as pq

    writer = None
    count = 0
    try:
        for table in arrow_batches(result, pa):
            if writer is None and not table.num_rows:  # no rows: still a valid file with the columns
                pq.write_table(table, path)
                break
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
            count += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return count


def arrow_table(result: Rows) -> Any:
    """All of ``result`` as one pyarrow Table, typed as a Parquet export is (nested values as JSON text)."""
    pa = _pyarrow("as_='arrow'")
    return pa.concat_tables(list(arrow_batches(result, pa)))


def _pyarrow(what: str) -> Any:
    try:
        import pyarrow
    except ImportError:
        raise MissingExtra(f"{what} needs pyarrow", "parquet") from None
    return pyarrow


def arrow_batches(result: Rows, pa: Any) -> Iterator[Any]:
    """``result`` as pyarrow Tables of 1,000 rows sharing one schema (one empty Table if no rows).

    A table's column types come from its declaration. A query's come from its first batch (a
    column with no value there is text, and later values are taken as text).
    """
    schema = None
    count = 0
    declared = [_declared_arrow_type(pa, sql_type) for sql_type in result.types]
    for batch in _batches(result.stream, PARQUET_BATCH):
        data = [[_parquet_value(row[i]) for row in batch] for i in range(len(result.columns))]
        if schema is None:
            types = [known or _arrow_type(pa, values) for known, values in zip(declared, data, strict=True)]
            schema = pa.schema(list(zip(result.columns, types, strict=True)))
        arrays = [_arrow_array(pa, name, values, field.type, count)
                  for name, values, field in zip(result.columns, data, schema, strict=True)]
        yield pa.Table.from_arrays(arrays, schema=schema)
        count += len(batch)
    if schema is None:
        types = [known or pa.string() for known in declared]
        yield pa.table({name: pa.array([], type_) for name, type_ in zip(result.columns, types, strict=True)})


def _batches(stream: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in stream:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _parquet_value(value: Any) -> Any:
    return json_text(value) if isinstance(value, dict | list) else value


def _declared_arrow_type(pa: Any, sql_type: TypeEngine[Any] | None) -> Any:
    """The Parquet type for a column a table declares, or None to go by its values."""
    if sql_type is None:
        return None
    if isinstance(sql_type.impl if isinstance(sql_type, TypeDecorator) else sql_type, JSON):
        return pa.string()  # JSON text, whatever the document's own type
    try:
        python_type = sql_type.python_type
    except NotImplementedError:
        return None
    return {datetime: pa.timestamp("us", tz="UTC"), bool: pa.bool_(), int: pa.int64(), float: pa.float64(),
            str: pa.string()}.get(python_type)


def _arrow_type(pa: Any, values: list[Any]) -> Any:
    sample = next((value for value in values if value is not None), None)
    if sample is None:
        return pa.string()
    if isinstance(sample, datetime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(sample, Decimal):  # PostgreSQL's numeric, sums and arithmetic on decimals among them
        return pa.float64()
    if isinstance(sample, int | float) and not isinstance(sample, bool):  # ints and floats mixed: float64
        return pa.array([value for value in values if isinstance(value, int | float)]).type
    return pa.array([sample]).type


def _arrow_array(pa: Any, column: str, values: list[Any], type_: Any, before: int) -> Any:
    """One batch of a column as its Parquet type; a query column typed as text takes any value as text."""
    if pa.types.is_string(type_):
        values = [value if value is None or isinstance(value, str) else _as_text(value) for value in values]
    try:
        if pa.types.is_floating(type_):
            values = [float(value) if isinstance(value, Decimal) else value for value in values]
        if pa.types.is_integer(type_) and any(isinstance(value, float) for value in values):
            return pa.array(values).cast(type_, safe=True)  # pa.array(values, int64) would truncate 2.5 to 2
        return pa.array(values, type_)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        raise ConfigError(f"column {column!r} does not fit Parquet type {type_} after row {before:,} ({exc}); "
                          "CAST it in the query, or export JSON Lines") from None


def _as_text(value: Any) -> str:
    value = plain(value)
    return value if isinstance(value, str) else json_text(value)
