"""The change log: what each page's transaction changed, written in that same transaction, and
read back in order for `harvester changes`.

A page's changes are inserted while the transaction holds the change-log lock (see
``dialect.lock_change_log``), so ``seq`` grows in commit order on every backend: a consumer
that reads ``seq > last`` never misses an event that commits later with a smaller ``seq``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, select

from .bulk import BulkInsert
from .clock import utc, utc_if_time
from .dialect import lock_change_log
from .schema import changes

CHANGE_TYPES = ("insert", "update", "rename", "delete", "undelete")


class ChangeLog:
    """The changes of one page's transaction, collected as they are made, written at the end."""

    def __init__(self, kind: str, *, run_id: int | None, now: datetime) -> None:
        self.kind = kind
        self.run_id = run_id
        self.now = now
        self.rows: list[dict[str, Any]] = []

    def add(self, change: str, hub_id: str, repo_id: str, *, fields: list[str] | None = None,
            previous_id: str | None = None) -> None:
        self.rows.append({"run_id": self.run_id, "kind": self.kind, "hub_id": hub_id, "repo_id": repo_id,
                          "change": change, "fields": fields, "previous_id": previous_id, "changed_at": self.now})

    def write(self, conn: Connection) -> None:
        if self.rows:
            lock_change_log(conn)
            _change_insert(conn.dialect).run(conn, self.rows)
            self.rows = []


def log_each(conn: Connection, kind: str, change: str, repos: Iterable[tuple[str, str]], *,
             run_id: int | None, now: datetime) -> None:
    """Log ``change`` for each ``(repo id, hub_id)`` of ``repos``, in their order, in ``conn``'s transaction."""
    log = ChangeLog(kind, run_id=run_id, now=now)
    for repo_id, hub_id in repos:
        log.add(change, hub_id, repo_id)
    log.write(conn)


@lru_cache(maxsize=4)
def _change_insert(dialect: Dialect) -> BulkInsert:
    columns = ("run_id", "kind", "hub_id", "repo_id", "change", "fields", "previous_id", "changed_at")
    return BulkInsert.compile(changes.insert(), changes, columns, dialect)


def differing(old: dict[str, Any], new: dict[str, Any], names: Sequence[str]) -> list[str]:
    """The names whose values differ (times compared as UTC instants, whatever the driver returns)."""
    return [name for name in names if utc_if_time(old[name]) != utc_if_time(new[name])]


def read_changes(engine: Engine, *, since: int, kinds: Collection[str] | None = None, limit: int | None = None,
                 batch: int = 5_000) -> Iterator[dict[str, Any]]:
    """Changes with ``seq > since`` (of ``kinds``, or all), oldest first, a batch of rows in memory at a time.

    Each batch is read on a connection of its own, returned before the batch is yielded: a slow
    consumer holds no snapshot and no lock.
    """
    left = limit
    while left is None or left > 0:
        query = select(changes).where(changes.c.seq > since).order_by(changes.c.seq)
        if kinds is not None:
            query = query.where(changes.c.kind.in_(list(kinds)))
        size = batch if left is None else min(batch, left)
        with engine.connect() as conn:
            rows = [dict(row) for row in conn.execute(query.limit(size)).mappings()]
        for row in rows:
            row["changed_at"] = utc(row["changed_at"])
            yield row
        if len(rows) < size:
            return
        since = rows[-1]["seq"]
        left = None if left is None else left - len(rows)
