"""What `harvester status` reports: per scope its walk, its last runs and its lock, and per kind
how stale its rows may be and where its verification lap stands.

A run recorded as running whose process is gone is shown as abandoned, and its lock as free, at
once: on this host a holder's pid is checked, elsewhere its lock's expiry. Status also records
that in the catalog where it can (a busy or read-only catalog is left as it is; the next sync
or status repairs it).
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..kinds import KINDS
from .clock import utc
from .details import details_due
from .fields import fields_status
from .locks import holder_gone, this_host
from .runs import run_record
from .schema import deferred_indexes, sync_locks, sync_runs, sync_state


def scope_status(engine: Engine, *, now: datetime, lap_suffix: str, repair: bool = True) -> list[dict[str, Any]]:
    """Per scope: its state, its last run, its last successful run and how long ago that ended,
    the runs that failed since (for monitoring), and who holds its lock if a run is going on; per
    whole kind, `staleness` (its lap's state row is "<kind>:<lap_suffix>"). ``repair``: first record
    dead runs as abandoned (`reap_dead_runs`)."""
    if repair:
        reap_dead_runs(engine)
    with engine.connect() as conn:
        last_runs = select(sync_runs.c.scope, func.max(sync_runs.c.id).label("id")).group_by(sync_runs.c.scope)
        last = {row.scope: row.id for row in conn.execute(last_runs)}
        good_runs = (select(sync_runs.c.scope, func.max(sync_runs.c.finished_at).label("at"),
                            func.max(sync_runs.c.id).label("id"))
                     .where(sync_runs.c.status == "ok").group_by(sync_runs.c.scope))
        success = {row.scope: utc(row.at) for row in conn.execute(good_runs)}
        last_ok = good_runs.subquery()
        # Failed or abandoned runs since the scope's last success (interrupted ones were asked to
        # stop, running ones have not ended): what an alert on failures in a row counts.
        failing = (select(sync_runs.c.scope, func.count().label("runs"))
                   .select_from(sync_runs.outerjoin(last_ok, last_ok.c.scope == sync_runs.c.scope))
                   .where(sync_runs.c.status.in_(("failed", "abandoned")),
                          (last_ok.c.id.is_(None)) | (sync_runs.c.id > last_ok.c.id))
                   .group_by(sync_runs.c.scope))
        failures = {row.scope: row.runs for row in conn.execute(failing)}
        states = {row["scope"]: row for row in conn.execute(select(sync_state)).mappings()}
    # Runs before locks: a run seen running, then its lock not found, has ended or died since.
    records = {scope: run_record(engine, run_id) for scope, run_id in last.items()}
    with engine.connect() as conn:
        locks = {row["scope"]: row for row in conn.execute(select(sync_locks)).mappings() if not holder_gone(row)}
    live_runs = {lock["run_id"] for lock in locks.values()}
    report = []
    for scope in sorted(set(last) | set(states)):
        state = states.get(scope)
        lock = locks.get(scope)
        run = records.get(scope)
        failed = failures.get(scope, 0)
        if run is not None and run["status"] == "running" and run["id"] not in live_runs:
            run["status"] = "abandoned"  # its process is gone (the catalog may not have been told yet)
            failed += 1
        report.append({
            "scope": scope,
            "watermark": utc(state["watermark"]).isoformat() if state and state["watermark"] else None,
            "unfinished_walk": bool(state and state["cursor"]),
            "walk_pages": state["walk_pages"] if state and state["cursor"] else 0,
            "last_run": run,
            "last_success_at": success[scope].isoformat() if scope in success else None,
            "seconds_since_success": round((now - success[scope]).total_seconds()) if scope in success else None,
            "failures_since_success": failed,
            "locked_by": {"run_id": lock["run_id"], "host": lock["host"], "pid": lock["pid"],
                          "on_this_host": lock["host"] == this_host(),
                          "acquired_at": utc(lock["acquired_at"]).isoformat(),
                          "expires_at": utc(lock["expires_at"]).isoformat()} if lock else None,
        })
        if scope in KINDS:  # a whole kind: how stale its rows may be, and where its lap stands
            with engine.connect() as conn:
                lap = f"{scope}:{lap_suffix}"
                report[-1].update(staleness(conn, scope, lap, states.get(lap)))
    return report


def reap_dead_runs(engine: Engine) -> None:
    """Free the locks whose holders were processes of this host that are gone, and mark the runs
    they held, and any run still 'running' without a lock, abandoned. (Another host's expired
    lock is only shown as free: its holder may be alive behind a skewed clock, and a sync that
    needs the lock takes it over.) Best effort: a catalog that is busy or read-only right now is
    left for the next sync or status."""
    try:
        with engine.connect() as conn:  # mostly there is nothing to do: find out without a write lock
            locks = conn.execute(select(sync_locks)).mappings().all()
            held_ids = {lock["run_id"] for lock in locks if lock["run_id"] is not None}
            running = conn.execute(select(sync_runs.c.id).where(sync_runs.c.status == "running")).scalars().all()
        if not _dead_locks(locks) and set(running) <= held_ids:
            return
        with engine.begin() as conn:
            dead = _dead_locks(conn.execute(select(sync_locks)).mappings().all())
            for lock in dead:
                conn.execute(delete(sync_locks).where(sync_locks.c.scope == lock["scope"],
                                                      sync_locks.c.owner == lock["owner"]))
            # In the same statement as the lock rows it reads: a run that starts meanwhile (its lock
            # tied to it in start_run's transaction) is never taken for one without a lock.
            held = select(sync_locks.c.run_id).where(sync_locks.c.run_id.is_not(None))
            conn.execute(update(sync_runs).where(sync_runs.c.status == "running", sync_runs.c.id.not_in(held))
                         .values(status="abandoned"))
    except SQLAlchemyError:
        pass


def _dead_locks(locks: list[Any]) -> list[Any]:
    """The locks held by processes of this host that are gone."""
    return [lock for lock in locks if lock["host"] == this_host() and holder_gone(lock)]


LAP_HISTORY = 5  # recent lap runs whose largest page count is taken as the budget per run


def staleness(conn: Connection, kind: str, scope: str, lap: Any) -> dict[str, Any]:
    """How stale a kind's live rows may be (``oldest_verified_at``: every live row was read whole
    from a listing since then; ``unverified_rows`` never were since revision 0011), and the
    progress of its verification lap (``scope``, whose state is ``lap``), with an estimate of what is left."""
    table = KINDS[kind].repos
    live = table.c.deleted_at.is_(None)
    # one scan of the live rows: how many, how stale, and how many the details lane has yet to fetch
    rows, oldest, unverified, due = conn.execute(select(
        func.count(), func.min(table.c.verified_at), func.count().filter(table.c.verified_at.is_(None)),
        func.count().filter(and_(*details_due(kind)))).where(live)).one()
    recent = conn.execute(select(sync_runs.c.id, sync_runs.c.started_at, sync_runs.c.pages, sync_runs.c.rows_seen)
                          .where(sync_runs.c.scope == scope).order_by(sync_runs.c.id.desc())).all()
    # A full walk of the kind that finished read every repo whole: a lap too (`lanes.read_everything`).
    laps = or_(sync_runs.c.scope == scope, and_(sync_runs.c.scope == kind, sync_runs.c.mode == "full"))
    finished = conn.execute(select(func.max(sync_runs.c.finished_at)).where(
        laps, sync_runs.c.status == "ok", sync_runs.c.complete.is_(True))).scalar()
    ongoing = lap is not None and lap["cursor"] is not None
    started = utc(lap["walk_started_at"]) if ongoing else None
    # The run that began this lap is the last one started before it; the lap's rows are theirs since.
    rows_done = sum(run.rows_seen for run in _since_run_before(recent, started)) if ongoing else 0
    page_size = (lap["page_size"] if lap is not None else None) or 1000
    pages_left = math.ceil(max(0, rows - rows_done) / page_size)
    per_run = max((run.pages for run in recent[:LAP_HISTORY]), default=0) or None
    runs_to_finish = math.ceil(pages_left / per_run) if per_run else None
    interval = _run_interval(conn, kind)
    plan = _plan(conn, kind, scope)
    chosen = fields_status(conn, kind)
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
            "runs_to_finish": runs_to_finish,
            "last_finished_at": utc(finished).isoformat() if finished else None,
            "seconds_to_finish": round(runs_to_finish * interval) if runs_to_finish and interval else None,
        },
        "plan": plan,
        "details_due": due,
        # at the whole window, one request a repo: what a details run with a budget of 100 % takes
        "details_seconds": round(due / plan["requests"] * plan["window_seconds"]) if plan else None,
        "field_groups": [{"group": g.group, "added_at": g.added_at.isoformat(), "rows_read": g.read}
                         for g in chosen["groups"]],
        "refused_fields": [{"field": field, "refused_at": at.isoformat()} for field, at in chosen["refused"]],
        "indexes_pending": conn.execute(select(func.count()).where(deferred_indexes.c.kind == kind)).scalar(),
    }


INTERVAL_HISTORY = 10  # recent walks of a kind whose median gap is its run interval


def _run_interval(conn: Connection, kind: str) -> float | None:
    """Seconds between the starts of a kind's recent walks (the median gap: a cron line's period)."""
    starts = [utc(started) for started in conn.execute(
        select(sync_runs.c.started_at).where(sync_runs.c.scope == kind).order_by(sync_runs.c.id.desc())
        .limit(INTERVAL_HISTORY)).scalars()]
    gaps = sorted((earlier - later).total_seconds() for earlier, later in itertools.pairwise(starts))
    return gaps[len(gaps) // 2] if gaps else None


def _plan(conn: Connection, kind: str, lap: str) -> dict[str, Any] | None:
    """The Hub's rate-limit window as the kind's last run that heard of it stated it."""
    row = conn.execute(select(sync_runs.c.quota_limit, sync_runs.c.quota_window, sync_runs.c.quota_remaining,
                              sync_runs.c.finished_at)
                       .where(sync_runs.c.scope.in_((kind, lap)), sync_runs.c.quota_limit.is_not(None),
                              sync_runs.c.quota_window.is_not(None))
                       .order_by(sync_runs.c.id.desc()).limit(1)).first()
    if row is None:
        return None
    return {"requests": row.quota_limit, "window_seconds": row.quota_window, "remaining": row.quota_remaining,
            "seen_at": utc(row.finished_at).isoformat() if row.finished_at else None}


def _since_run_before(runs: list[Any], started: datetime | None) -> list[Any]:
    """``runs`` (newest first) back to the last one that started before ``started``."""
    kept = []
    for run in runs:
        kept.append(run)
        if started is None or utc(run.started_at) <= started:
            break
    return kept
