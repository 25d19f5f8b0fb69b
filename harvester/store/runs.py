"""The run history and walk state of each scope: reading, starting, finishing, resetting."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from ..state import RunStats, WalkState
from .schema import REPO_TABLES, sync_locks, sync_runs, sync_state


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


def scope_status(engine: Engine, *, now: datetime) -> list[dict[str, Any]]:
    """Per scope: its state, its last run, its last successful run and how long ago that ended
    (for monitoring), and who holds its lock if a run is going on."""
    with engine.connect() as conn:
        last_runs = select(sync_runs.c.scope, func.max(sync_runs.c.id).label("id")).group_by(sync_runs.c.scope)
        last = {row.scope: row.id for row in conn.execute(last_runs)}
        good_runs = (select(sync_runs.c.scope, func.max(sync_runs.c.finished_at).label("at"))
                     .where(sync_runs.c.status == "ok").group_by(sync_runs.c.scope))
        success = {row.scope: utc(row.at) for row in conn.execute(good_runs)}
        states = {row["scope"]: row for row in conn.execute(select(sync_state)).mappings()}
        locks = {row["scope"]: row for row in conn.execute(select(sync_locks)).mappings()}
    report = []
    for scope in sorted(set(last) | set(states)):
        state = states.get(scope)
        lock = locks.get(scope)
        report.append({
            "scope": scope,
            "watermark": utc(state["watermark"]).isoformat() if state and state["watermark"] else None,
            "unfinished_walk": bool(state and state["cursor"]),
            "walk_pages": state["walk_pages"] if state and state["cursor"] else 0,
            "last_run": run_record(engine, last[scope]) if scope in last else None,
            "last_success_at": success[scope].isoformat() if scope in success else None,
            "seconds_since_success": round((now - success[scope]).total_seconds()) if scope in success else None,
            "locked_by": {"run_id": lock["run_id"], "host": lock["host"], "pid": lock["pid"],
                          "expires_at": utc(lock["expires_at"]).isoformat()} if lock else None,
        })
        if scope in REPO_TABLES:  # a whole kind: how stale its rows may be, and where its lap stands
            with engine.connect() as conn:
                report[-1].update(staleness(conn, scope, states.get(f"{scope}:verify")))
    return report


LAP_HISTORY = 5  # recent lap runs whose largest page count is taken as the budget per run


def staleness(conn: Connection, kind: str, lap: Any) -> dict[str, Any]:
    """How stale a kind's live rows may be (``oldest_verified_at``: every live row was read whole
    from a listing since then; ``unverified_rows`` never were since revision 0011), and the
    progress of its verification lap, with an estimate of what is left."""
    table = REPO_TABLES[kind][0]
    live = table.c.deleted_at.is_(None)
    rows, oldest, unverified = conn.execute(select(
        func.count(), func.min(table.c.verified_at),
        func.count().filter(table.c.verified_at.is_(None))).where(live)).one()
    scope = f"{kind}:verify"
    recent = conn.execute(select(sync_runs.c.id, sync_runs.c.started_at, sync_runs.c.pages, sync_runs.c.rows_seen)
                          .where(sync_runs.c.scope == scope).order_by(sync_runs.c.id.desc())).all()
    finished = conn.execute(select(func.max(sync_runs.c.finished_at)).where(
        sync_runs.c.scope == scope, sync_runs.c.status == "ok", sync_runs.c.complete.is_(True))).scalar()
    ongoing = lap is not None and lap["cursor"] is not None
    started = utc(lap["walk_started_at"]) if ongoing else None
    # The run that began this lap is the last one started before it; the lap's rows are theirs since.
    rows_done = sum(run.rows_seen for run in _since_run_before(recent, started)) if ongoing else 0
    page_size = (lap["page_size"] if lap is not None else None) or 1000
    pages_left = math.ceil(max(0, rows - rows_done) / page_size)
    per_run = max((run.pages for run in recent[:LAP_HISTORY]), default=0) or None
    return {
        "live_rows": rows,
        "oldest_verified_at": utc(oldest).isoformat() if oldest is not None and not unverified else None,
        "unverified_rows": unverified,
        "lap": {
            "scope": scope,
            "started_at": started.isoformat() if started else None,
            "pages_done": lap["walk_pages"] if ongoing else 0,
            "pages_left": pages_left,
            "pages_per_run": per_run,
            "runs_to_finish": math.ceil(pages_left / per_run) if per_run else None,
            "last_finished_at": utc(finished).isoformat() if finished else None,
        },
    }


def _since_run_before(runs: list[Any], started: datetime | None) -> list[Any]:
    """``runs`` (newest first) back to the last one that started before ``started``."""
    kept = []
    for run in runs:
        kept.append(run)
        if started is None or utc(run.started_at) <= started:
            break
    return kept
