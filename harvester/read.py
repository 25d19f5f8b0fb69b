"""Reading the catalog out: read-only SQL, and rows streamed to JSON Lines, CSV or Parquet.

Rows stream from the database a batch at a time (a server-side cursor on PostgreSQL), so an
export of millions of rows holds one batch in memory. CSV cells that a spreadsheet would run as
a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) are prefixed with
``'``, as OWASP recommends; numbers are left alone.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import Engine, MetaData, select, text
from sqlalchemy.exc import SQLAlchemyError

from .errors import CatalogError, ConfigError
from .store import dialect
from .store.engine import create_catalog_engine, database_reason, describe, open_catalog

BATCH = 5_000
PARQUET_BATCH = 1_000  # rows per row group: pyarrow's copies of a batch are what an export's memory is made of
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
READING = re.compile(r"\s*(select|with|values|table)\b", re.IGNORECASE)


class QueryRefused(CatalogError):
    """The SQL tried to change the catalog, or failed; nothing was changed."""

    exit_code = 2


def read_only_catalog(url: str) -> Engine:
    """The catalog at ``url`` (which must exist and be current), opened so that it refuses writes."""
    open_catalog(url, upgrade=False).dispose()  # a clear error for a missing or outdated catalog
    engine = create_catalog_engine(url)
    dialect.read_only(engine)
    return engine


def rows(engine: Engine, table_or_query: str) -> tuple[list[str], Iterator[tuple]]:
    """Column names and a stream of rows, for a table (or view) name or a SELECT.

    A table's JSON columns come back parsed on every backend; a query's values are as the
    database gives them.
    """
    metadata = MetaData()
    name = table_or_query.strip()
    try:
        if name.isidentifier():
            metadata.reflect(engine, only=[name], views=True)
    except SQLAlchemyError:
        pass
    is_table = name in metadata.tables
    statement = select(metadata.tables[name]) if is_table else text(table_or_query)
    # a server-side cursor can only run a query; anything else is run as it is, and refused
    streamed = is_table or READING.match(table_or_query) is not None
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

    return list(result.keys()), stream()


def _refused(engine: Engine, exc: SQLAlchemyError) -> QueryRefused:
    reason = database_reason(exc)
    if "readonly" in reason or "read-only" in reason or "query_only" in reason:
        return QueryRefused(f"catalog {describe(engine)!r} is open read-only here; nothing was changed ({reason})")
    return QueryRefused(f"the query failed on catalog {describe(engine)!r}: {reason}")


def plain(value: Any) -> Any:
    """A value as JSON has it: times in ISO 8601 UTC (SQLite hands them back without a zone)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return value


def write_jsonl(columns: list[str], stream: Iterator[tuple], out: IO[str]) -> int:
    count = 0
    for row in stream:
        out.write(json.dumps(dict(zip(columns, map(plain, row), strict=True)), ensure_ascii=False) + "\n")
        count += 1
    return count


def csv_cell(value: Any) -> Any:
    """A CSV cell: JSON for nested values, and text that starts like a formula defused."""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    value = plain(value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(columns: list[str], stream: Iterator[tuple], out: IO[str]) -> int:
    writer = csv.writer(out)
    writer.writerow(columns)
    count = 0
    for row in stream:
        writer.writerow([csv_cell(value) for value in row])
        count += 1
    return count


def write_parquet(columns: list[str], stream: Iterator[tuple], path: str) -> int:
    """Parquet through pyarrow, a row group per 1,000 rows; the schema comes from the first batch
    (a column with no value in it is text), nested values are stored as JSON text."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError("Parquet needs pyarrow: pip install 'hf-harvester[parquet]'") from None
    writer = None
    count = 0
    try:
        for batch in _batches(stream, PARQUET_BATCH):
            data = {name: [_parquet_value(row[i]) for row in batch] for i, name in enumerate(columns)}
            if writer is None:
                schema = pa.schema([(name, _arrow_type(pa, values)) for name, values in data.items()])
                writer = pq.ParquetWriter(path, schema)
            writer.write_table(pa.table(data, schema=writer.schema))
            count += len(batch)
        if writer is None:  # no rows: still a valid file with the columns
            pq.write_table(pa.table({name: pa.array([], pa.string()) for name in columns}), path)
    finally:
        if writer is not None:
            writer.close()
    return count


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
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def _arrow_type(pa, values: list[Any]):
    sample = next((value for value in values if value is not None), None)
    if sample is None:
        return pa.string()
    if isinstance(sample, datetime):
        return pa.timestamp("us", tz="UTC")
    return pa.array([sample]).type
