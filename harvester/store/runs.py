"""The run history of each scope: starting, recording each page's counts, finishing, reading back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from ..state import RunStats
from .clock import utc
from .schema import sync_locks, sync_runs


def start_run(engine: Engine, scope: str, mode: str, *, now: datetime, lock_owner: str) -> int:
    """Record a new running run and tie the scope's lock to it (each page renews the lock by run
    id). Runs of this scope still marked running were killed: the lock says so; abandoned."""
    with engine.begin() as conn:
        conn.execute(update(sync_runs).where(sync_runs.c.scope == scope, sync_runs.c.status == "running")
                     .values(status="abandoned"))
        result = conn.execute(insert(sync_runs).values(scope=scope, mode=mode, status="running", started_at=now,
                                                       complete=False, **RunStats().as_dict()))
        run_id = result.inserted_primary_key[0]
        conn.execute(update(sync_locks).where(sync_locks.c.owner == lock_owner).values(run_id=run_id))
        return run_id


def save_run_stats(conn: Connection, run_id: int, stats: RunStats) -> None:
    conn.execute(update(sync_runs).where(sync_runs.c.id == run_id).values(**stats.as_dict()))


def finish_run(engine: Engine, run_id: int, *, status: str, stats: RunStats, complete: bool, now: datetime,
               error: str | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(update(sync_runs).where(sync_runs.c.id == run_id).values(
            status=status, finished_at=now, complete=complete, error=error, **stats.as_dict()))


def run_record(engine: Engine, run_id: int) -> dict[str, Any]:
    """One run as a plain dict (times in ISO 8601), for --json and summaries."""
    with engine.connect() as conn:
        row = dict(conn.execute(select(sync_runs).where(sync_runs.c.id == run_id)).mappings().one())
    return {key: utc(value).isoformat() if isinstance(value, datetime) else value for key, value in row.items()}


def rows_read_in_walk(engine: Engine, scope: str, started: datetime | None) -> int:
    """The rows the runs of ``scope`` read since a walk of it began at ``started``: those of the run
    that began it (the last one started by then) and of every later run, as each committed them."""
    first = (select(func.max(sync_runs.c.id))
             .where(sync_runs.c.scope == scope, sync_runs.c.started_at <= started).scalar_subquery())
    with engine.connect() as conn:
        return conn.execute(select(func.coalesce(func.sum(sync_runs.c.rows_seen), 0))
                            .where(sync_runs.c.scope == scope, sync_runs.c.id >= first)).scalar_one()
