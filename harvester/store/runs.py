"""The run history and walk state of each scope: reading, starting, finishing, resetting."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from ..state import RunStats, WalkState
from .schema import sync_locks, sync_runs, sync_state


def utc(value: datetime | None) -> datetime | None:
    """Datetimes read back from SQLite are naive; the catalog stores UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def load_state(engine: Engine, scope: str, kind: str) -> WalkState:
    """A scope's walk state; a scope never synced gets an empty one."""
    with engine.connect() as conn:
        row = conn.execute(select(sync_state).where(sync_state.c.scope == scope)).mappings().first()
    if row is None:
        return WalkState(scope=scope, kind=kind)
    return WalkState(
        scope=scope, kind=row["kind"], cursor=row["cursor"], mode=row["walk_mode"],
        started_at=utc(row["walk_started_at"]), top=utc(row["walk_top"]), stop_before=utc(row["walk_stop_before"]),
        pages=row["walk_pages"], page_size=row["page_size"], watermark=utc(row["watermark"]),
        sweep_since=utc(row["sweep_since"]),
    )


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


def reset_state(engine: Engine, kind: str | None = None) -> int:
    """Forget cursors and watermarks (the next run walks everything); rows are kept."""
    with engine.begin() as conn:
        statement = delete(sync_state)
        if kind is not None:
            statement = statement.where(sync_state.c.kind == kind)
        return conn.execute(statement).rowcount
