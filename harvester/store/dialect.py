"""Where SQLite and PostgreSQL differ, and nowhere else: connection settings, the upsert
statement, bulk inserts of plain rows, the lock that serialises schema upgrades, and the one that
keeps the change log in commit order.

Everything else (schema, revisions, queries, the sync) is the same code on both.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from sqlalchemy import Connection, Dialect, Engine, Insert, Table, event, func, text
from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_after_delay, wait_random

from .bulk import BulkInsert

# Measured on 200,000-model crawls (benchmarks/cost.py, CONTRIBUTING.md): a 16 MB page cache
# costs no more CPU than 32 or 64 MB (the pages it misses come from the OS's file cache), and
# keeps a sync's peak RSS near 100 MB instead of 150. A 256 MB mmap saved no CPU beyond the noise
# and counted its mapped pages in the RSS (240 MB), so there is none.
CACHE_KIB = 16_384
CHECKPOINT_PAGES = 100_000
READ_CACHE_KIB = 8_192
WAL_KEPT_BYTES = 64 * 1024 * 1024
MIGRATION_LOCK_KEY = 0x6861727665737472  # "harvestr": PostgreSQL advisory lock id for schema upgrades
CHANGE_LOG_LOCK_KEY = MIGRATION_LOCK_KEY + 1


def configure(engine: Engine, *, busy_timeout: float) -> None:
    """Per-connection settings: SQLite files get WAL, a busy timeout and foreign keys."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(busy_timeout))


def _sqlite_pragmas(busy_timeout: float):
    def apply(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        _switch_to_wal(cursor, busy_timeout)  # readers never block the writer
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a crash can lose a commit, never corrupt
        cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        # A page's commit touches a random leaf of each repo-keyed index per row, and the next
        # commits touch most of them again: checkpointing every ~400 MB of WAL instead of 4 MB
        # copies each into the database once per checkpoint, not once per commit (a 200,000-model
        # crawl: 15 % faster than at 40 MB). The WAL file is cut back to 64 MB after each one.
        cursor.execute(f"PRAGMA wal_autocheckpoint={CHECKPOINT_PAGES}")
        cursor.execute(f"PRAGMA journal_size_limit={WAL_KEPT_BYTES}")
        cursor.close()

    return apply


def sqlite_open_mode(path: Path) -> Literal["write", "ro", "immutable"]:
    """How this user can open the catalog file at ``path``: ``write`` when it may write the file
    and the directory beside it, else read-only (a read-only mount, another user's catalog).

    SQLite reads a WAL file through its ``-shm``, which it creates beside the file if there is
    none. Where there is one, ``ro`` reads through it, locks and all, and sees what a writer
    commits meanwhile. Where there is none and none can be made, nothing is writing the file (a
    writer keeps one): ``immutable`` reads it without, and promises SQLite it stays as it is (a
    sync that a user who may write it starts later goes unseen until the next open).
    """
    directory = path.parent
    if os.access(path, os.W_OK) and os.access(directory, os.W_OK):
        return "write"
    return "ro" if Path(f"{path}-shm").exists() or os.access(directory, os.W_OK) else "immutable"


def sqlite_read_only_uri(path: Path) -> str | None:
    """The URI that opens ``path`` read-only when this user cannot write it (``sqlite_open_mode``);
    None when it can."""
    mode = sqlite_open_mode(path)
    if mode == "write":
        return None
    return f"file:{quote(str(path))}?{'mode=ro' if mode == 'ro' else 'immutable=1'}"


def _switch_to_wal(cursor: Any, busy_timeout: float) -> None:
    """Two processes opening a new file at once can deadlock on its rollback-journal locks while
    each switches it to WAL, and SQLite then fails one of them at once, without the busy timeout.
    That one tries again: by then the other has switched the file, and the pragma only reads it.
    A lock really held waits out the busy timeout once, not once per try."""
    retrying = Retrying(retry=retry_if_exception(lambda exc: "locked" in str(exc)), wait=wait_random(0.01, 0.1),
                        stop=stop_after_attempt(20) | stop_after_delay(busy_timeout), reraise=True)
    retrying(cursor.execute, "PRAGMA journal_mode=WAL")


def damage(conn: Connection) -> list[str]:
    """What SQLite's ``quick_check`` finds wrong in the catalog file (at most 3 problems); nothing
    for a sound file, or on PostgreSQL, which keeps its own checksums and WAL.

    quick_check reads every page of the file once and checks its structure, without the
    cross-check of every index against its table that ``integrity_check`` adds. Measured: 0.08 s
    at 20,000 models (27 MB); 4.4-4.8 s at 1,000,000 (1.37 GB, in the OS's file cache, on two
    cores busy with other work). No cheaper sign is sure: 64 KB overwritten mid-file leaves the
    header, the size and the schema as they were, and only reading the damaged pages finds it.
    """
    if conn.dialect.name != "sqlite":
        return []
    found = [row[0] for row in conn.exec_driver_sql("PRAGMA quick_check(3)")]
    return [] if found == ["ok"] else [line for text in found for line in text.splitlines() if "***" not in line]


def upsert_capable_insert(dialect: Dialect, table: Table) -> Insert:
    """``INSERT`` with the dialect's ``ON CONFLICT`` support."""
    if dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def lock_for_migration(conn: Connection) -> None:
    """Hold the catalog against other upgrades until ``conn``'s transaction ends, so that two
    processes opening a new catalog at once migrate it once, atomically.

    SQLite: an immediate transaction (the write lock, and DDL inside the transaction rather than
    autocommitted one statement at a time). PostgreSQL: a transaction-scoped advisory lock.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def lock_change_log(conn: Connection) -> None:
    """Until ``conn``'s transaction ends, no other transaction writes pages or adds to the change
    log: change numbers are handed out in commit order, and what a page reads first (the time
    of the last page, the rows it compares) is what it writes over. PostgreSQL takes a
    transaction-scoped advisory lock. SQLite has one writer at a time, but pysqlite begins a
    transaction only at the first write, so its reads would come before the lock: an immediate
    transaction takes the write lock first (waiting up to the busy timeout).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHANGE_LOG_LOCK_KEY})
    elif conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def insert_many(conn: Connection, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Insert rows of plain values (text, integers) in bulk: a page's ~7,000 tags.

    PostgreSQL: one ``INSERT ... SELECT FROM unnest()`` of an array per column. psycopg's
    executemany spends about 20 µs of Python on each row, which made tags most of a crawl into
    PostgreSQL. SQLite: the driver's executemany, which is cheaper than building the arrays.
    """
    if conn.dialect.name == "postgresql":
        arrays = ", ".join(f"CAST(:{name} AS {table.c[name].type.compile(conn.dialect)}[])" for name in columns)
        conn.execute(text(f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"),
                     {name: [row[i] for row in rows] for i, name in enumerate(columns)})
    else:
        _plain_insert(conn.dialect, table, columns).run_values(conn, rows)


@lru_cache(maxsize=32)
def _plain_insert(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> BulkInsert:
    return BulkInsert.compile(table.insert(), table, columns, dialect)


def query_statements(dialect: Dialect, reading: tuple[str, ...]) -> tuple[str, ...]:
    """The first words of the statements `harvester query` and `export` run; anything else is
    refused before it runs (the read-only connection would refuse most of it too, but too late
    for some: ATTACH creates the file it names, VACUUM INTO and COPY TO write one).

    PostgreSQL: only what a server-side cursor streams (``reading``). ``DECLARE ... CURSOR FOR``
    takes exactly one SELECT or VALUES, so nothing can ride along: no second statement, no COPY
    behind a nested comment. SQLite also runs EXPLAIN and PRAGMA: its driver runs one statement
    at a time, and the authorizer (`_reading_only`) refuses every pragma that sets something.
    """
    return reading if dialect.name == "postgresql" else (*reading, "explain", "pragma")


def read_only(engine: Engine) -> None:
    """Make every connection of ``engine`` refuse writes: SQLite's ``query_only`` pragma, and
    PostgreSQL transactions begun read-only (a query cannot switch them back once it has run)."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_read_only)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "begin", _begin_read_only)


def _sqlite_read_only(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA query_only = ON")
    # reads stream through the catalog once: a small page cache keeps an export's memory flat
    dbapi_connection.execute(f"PRAGMA cache_size=-{READ_CACHE_KIB}")
    dbapi_connection.set_authorizer(_reading_only)


# Pragmas that take an argument only to say what to describe (what SQLAlchemy's reflection runs, too).
_DESCRIBING_PRAGMAS = frozenset({
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo", "foreign_key_list",
    "foreign_key_check", "integrity_check", "quick_check", "function_list", "pragma_list", "module_list",
    "collation_list", "database_list", "compile_options",
})


def _reading_only(action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None) -> int:
    """SQLite's authorizer on a read-only connection: no ATTACH or DETACH (ATTACH creates the file
    it names), and no pragma that sets something (``query_only = OFF`` would undo the rest)."""
    import sqlite3

    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and arg2 is not None and (arg1 or "").lower() not in _DESCRIBING_PRAGMAS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _begin_read_only(conn: Connection) -> None:
    # a plain driver cursor: the connection's own may be a server-side one (stream_results)
    cursor = conn.connection.dbapi_connection.cursor()
    cursor.execute("SET TRANSACTION READ ONLY")
    cursor.close()


def search_sql(dialect: Dialect, kind: str) -> str:
    """A ranked full-text query over ``kind``'s live repos through ``<kind>_search``, taking
    ``:query`` (FTS5 syntax on SQLite, plain words on PostgreSQL) and ``:limit``; rows of id,
    likes, last_modified and row_key. A word of the id weighs most, then the summary (author,
    task, library, license, card fields), then the card's text."""
    if dialect.name == "sqlite":
        return (f"SELECT r.id, r.likes, r.last_modified, r.row_key FROM {kind}_search s "
                f"JOIN {kind} r ON r.row_key = s.rowid WHERE {kind}_search MATCH :query AND r.deleted_at IS NULL "
                f"ORDER BY bm25({kind}_search, 4.0, 1.0, 0.5), r.likes DESC LIMIT :limit")
    query = f"plainto_tsquery('simple', {_ID_WORDS.format(':query')})"  # split ids as the document is
    return (f"SELECT r.id, r.likes, r.last_modified, r.row_key FROM {kind}_search s "
            f"JOIN {kind} r ON r.row_key = s.rowid WHERE s.document @@ {query} AND r.deleted_at IS NULL "
            f"ORDER BY ts_rank(s.document, {query}) DESC, r.likes DESC LIMIT :limit")


_ID_WORDS = "translate({}, '/-_.', '    ')"


def greatest(dialect: Dialect, *values: Any) -> Any:
    """The larger of ``values`` (SQLite's max() of several arguments; PostgreSQL's max() is an aggregate)."""
    return func.greatest(*values) if dialect.name == "postgresql" else func.max(*values)


def index_search_entries(conn: Connection, kind: str, entries: list[dict[str, Any]]) -> None:
    """Write ``<kind>_search`` entries (rowid, repo_id, summary, card), whose old entries are gone.
    SQLite: FTS5 rows, the card as text. PostgreSQL: one tsvector per repo, the id weighted A, the
    summary B, the card D, upserted (a refresh in another process may index the same repo)."""
    if not entries:
        return
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"INSERT INTO {kind}_search (rowid, repo_id, summary, card) "
                          "VALUES (:rowid, :repo_id, :summary, :card)"), entries)
        return
    document = (f"setweight(to_tsvector('simple', {_ID_WORDS.format(':repo_id')}), 'A') || "
                "setweight(to_tsvector('simple', :summary), 'B') || to_tsvector('simple', :card)")
    conn.execute(text(f"INSERT INTO {kind}_search (rowid, repo_id, document) VALUES (:rowid, :repo_id, {document}) "
                      "ON CONFLICT (rowid) DO UPDATE SET repo_id = excluded.repo_id, document = excluded.document"),
                 entries)


def join_targets_named(dialect: Dialect, names: str) -> str:
    """A join of ``link_targets t`` (kind models) on each name the subquery ``names`` gives for the
    outer row, as an index lookup per name. SQLite plans ``t.name IN (names)`` so; PostgreSQL
    scans every target for each outer row that way (143 s for a 10,000-member family, against
    0.1 s) and looks them up only through a LATERAL join, which SQLite does not have."""
    if dialect.name == "postgresql":
        return f"CROSS JOIN LATERAL ({names}) named JOIN link_targets t ON t.kind = 'models' AND t.name = named.name"
    return f"JOIN link_targets t ON t.kind = 'models' AND t.name IN ({names})"
