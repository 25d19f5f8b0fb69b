"""`Catalog.status()`'s report as text for people (`harvester status`): each scope's last run (why it
failed, and how many runs failed since the last success), its state and lock, then each kind's staleness;
every line within 80 columns."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from .render import fit, headline, plural

if TYPE_CHECKING:
    from .status import LockHolder, ScopeStatus, Staleness, Status

WIDTH = 80  # columns every line fits: a terminal's default, and a mail from cron


def status_lines(report: Status, now: datetime) -> list[str]:
    """The status report as lines that fit 80 columns: each scope, then each kind's staleness."""
    if not report:
        return ["no syncs yet: run `harvester sync`"]
    lines = [line for scope in report for line in _scope_lines(scope, now)]
    if report.kinds():
        lines.append("\nEvery live row was read from the Hub within one lap:")
        lines.extend(line for scope in report if scope.staleness
                     for line in _staleness_lines(scope.scope, scope.staleness, now))
    return lines


def _since(moment: datetime | str | None, now: datetime) -> str:
    """How long ago ``moment`` was (a run record's times are ISO 8601 text), or "never"."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return "never" if moment is None else _ago(round((now - moment).total_seconds()))


def _scope_lines(scope: ScopeStatus, now: datetime) -> list[str]:
    """One scope as a short block that fits 80 columns: its last run and why it failed, then its state."""
    run = scope.last_run
    lines = [scope.scope]
    if run is not None:
        last, started = f"  last {headline(run)}", f"started {_since(run.started_at, now)}"
        fits = len(last) + len(started) + 2 <= WIDTH  # a details run's outcome is long: then two lines
        lines += [f"{last}, {started}"] if fits else [fit(last, WIDTH), f"  {started}"]
        if run.error:  # the one line the user saw, cut to fit (a stored error may predate one-line errors)
            lines.append(fit(f"  error: {' '.join(run.error.split())}", WIDTH))
        lines.append(f"  {plural(run.pages, 'page')}, {plural(run.requests, 'request')}, "
                     f"{plural(run.rows_seen, 'row')} read:")
        lines.append(f"    {run.rows_inserted:,} inserted, {run.rows_updated:,} updated, "
                     f"{run.rows_unchanged:,} unchanged")
    state = [f"last success {_since(scope.last_success_at, now)}"]
    if scope.watermark:
        state.append(f"watermark {scope.watermark:%Y-%m-%d %H:%M}")
    if scope.unfinished_walk:
        state.append(f"walk under way ({plural(scope.walk_pages, 'page')} done)")
    lines.append("  " + ", ".join(state))
    if scope.failures_since_success:
        lines.append(f"  {plural(scope.failures_since_success, 'run')} failed or abandoned since the last success")
    lines.extend(f"  {line}" for line in _holder(scope.locked_by))
    return lines


def _staleness_lines(kind: str, staleness: Staleness, now: datetime) -> list[str]:
    """Per kind: the staleness bound achieved, and where the verification lap stands."""
    lap = staleness.lap
    oldest = (f"oldest verified {_since(staleness.oldest_verified_at, now)}" if staleness.oldest_verified_at
              else f"{plural(staleness.unverified_rows, 'row')} never verified")
    progress = (f"lap: {plural(lap.pages_done, 'page')} done, about {lap.pages_left:,} left"
                if lap.started_at else f"lap: none under way, about {plural(lap.pages_left, 'page')}")
    if lap.runs_to_finish is not None:
        progress += f" (about {plural(lap.runs_to_finish, 'run')} at {lap.pages_per_run:,} a run)"
    lines = [f"  {kind}: {plural(staleness.live_rows, 'live row')}, {oldest}", f"    {progress}"]
    if lap.seconds_to_finish is not None:
        lines.append(f"    lap ends in about {_duration(lap.seconds_to_finish)} at the runs' pace")
    lines.append(f"    last lap finished {_since(lap.last_finished_at, now)}")
    if staleness.plan is not None:
        plan = staleness.plan
        lines.append(f"    Hub quota: {plan.requests:,} requests per {_duration(plan.window_seconds)}")
    if staleness.details_due:
        cost = f", about {_duration(staleness.details_seconds)} of the whole quota" if staleness.details_seconds else ""
        lines.append(f"    details: {plural(staleness.details_due, 'repo')} due{cost}")
    if staleness.indexes_pending:
        lines.append(f"    {plural(staleness.indexes_pending, 'index', 'indexes')} pending: built when the first walk "
                     "ends (queries are slower meanwhile, never wrong)")
    return [*lines, *_field_lines(staleness, now)]


def _field_lines(staleness: Staleness, now: datetime) -> list[str]:
    """The field groups the walks ask for, each with the share of live rows that hold it, and
    the fields the Hub refused."""
    live = staleness.live_rows
    groups = ", ".join(group for group, _, _ in staleness.field_groups)
    lines = [fit(f"    fields: {groups}", WIDTH)] if groups else []
    lines += [f"    filling in: {group} {100 * read // max(live, 1)}% (added {_since(added, now)})"
              for group, added, read in staleness.field_groups if read < live]
    if staleness.refused_fields:
        refused = ", ".join(f"{field} ({_since(at, now)})" for field, at in staleness.refused_fields)
        lines.append(fit(f"    refused by the Hub, asked again a day later: {refused}", WIDTH))
    return lines


def _duration(seconds: int) -> str:
    """``3 h``, ``12 min``, ``40 s``: a length of time in its largest whole unit."""
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _holder(lock: LockHolder | None) -> list[str]:
    """Who holds a scope's lock, in lines short enough for 80 columns (a host name can be long)."""
    if lock is None:
        return ["not locked"]
    lines = [f"locked by run {lock.run_id}, pid {lock.pid}", f"  on {lock.host}"]
    if not lock.on_this_host:
        lines.append(f"  until {lock.expires_at:%H:%M:%S} UTC")
    return lines


def _ago(seconds: int | None) -> str:
    if seconds is None:
        return "never"
    return f"{_duration(seconds)} ago"

