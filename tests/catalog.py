"""A catalog under test, on SQLite or PostgreSQL, read back the same way on both."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, TextClause, bindparam, create_engine, text


def sqlite_shaped(value: Any) -> Any:
    """A value as Python's sqlite3 module returns it from a harvester catalog, whatever the backend:
    UTC times as 'YYYY-MM-DD HH:MM:SS.ffffff', booleans as 0/1, JSON as its text."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _statement(sql: str, params: dict[str, Any]) -> TextClause:
    """``text(sql)``, where a list, tuple or set parameter expands for ``IN :name``."""
    many = [bindparam(k, expanding=True) for k, v in params.items() if isinstance(v, list | tuple | set)]
    return text(sql).bindparams(*many)


def _values(params: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, list | tuple | set) else v for k, v in params.items()}


class Catalog:
    """A catalog's SQLAlchemy URL, its file (SQLite only), and ``rows`` for reading it back."""

    def __init__(self, url: str, path: Path | None = None) -> None:
        self.url = url
        self.path = path
        self._engine: Engine | None = None

    @classmethod
    def sqlite(cls, path: Path) -> Catalog:
        return cls(f"sqlite:///{path}", path)

    @property
    def backend(self) -> str:
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"

    def __str__(self) -> str:  # what `--db` and $HARVESTER_DB take
        return self.url

    def rows(self, sql: str, **params: Any) -> list[tuple]:
        """``sql`` (portable SQL with :named parameters), each value shaped by ``sqlite_shaped``."""
        return [tuple(row.values()) for row in self.records(sql, **params)]

    def records(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        """Like ``rows``, as dicts by column name."""
        with self._connected().connect() as conn:
            result = conn.execute(_statement(sql, params), _values(params))
            return [{k: sqlite_shaped(v) for k, v in row.items()} for row in result.mappings()]

    def execute(self, sql: str, **params: Any) -> None:
        """Run one writing statement and commit it (tests that tamper with a catalog)."""
        with self._connected().begin() as conn:
            conn.execute(_statement(sql, params), _values(params))

    def holds(self, secret: str) -> bool:
        """Whether ``secret`` is anywhere in the catalog: the SQLite files' bytes (WAL and shared
        memory too), or every row of every table as text on PostgreSQL."""
        if self.path is not None:
            files = [self.path, *(self.path.with_name(self.path.name + s) for s in ("-wal", "-shm", "-journal"))]
            # a string split by NUL bytes in a page would hide from a plain search
            return any(secret.encode() in f.read_bytes().replace(b"\x00", b"") for f in files if f.exists())
        tables = [t for (t,) in self.rows("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return any(secret in text_ for t in tables for (text_,) in self.rows(f'SELECT t::text FROM "{t}" t'))

    def exists(self) -> bool:
        """Whether the catalog has been created (the schema's version table exists)."""
        if self.path is not None:
            return self.path.exists()
        return self.has_table("alembic_version")

    def has_table(self, name: str) -> bool:
        """Whether the catalog has the table ``name`` (a SQLite file not yet made is not created)."""
        if self.path is not None and not self.path.exists():
            return False
        sql = ("SELECT count(*) FROM sqlite_master WHERE name = :name" if self.path is not None else
               "SELECT count(*) FROM information_schema.tables WHERE table_name = :name")
        return self.rows(sql, name=name) == [(1,)]

    def _connected(self) -> Engine:
        if self._engine is None:
            self._engine = create_engine(self.url, connect_args={"timeout": 5} if self.path else {})
        return self._engine

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
