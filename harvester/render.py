"""Output writers: the status report as text, JSON or OpenMetrics, and the change feed as JSON Lines
or CSV. Pure: each takes what a `Catalog` method returned and a file to write to."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import IO, Any, overload

from .errors import ConfigError

STATUS_FORMATS = ("text", "json", "openmetrics")
CHANGE_FORMATS = ("jsonl", "csv")
CHANGE_COLUMNS = ("seq", "run_id", "kind", "hub_id", "repo_id", "change", "fields", "previous_id", "changed_at")
RUN_STATUSES = ("running", "ok", "failed", "interrupted", "abandoned")
ROW_OUTCOMES = ("inserted", "updated", "unchanged", "rejected", "renamed", "deleted")


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``count`` with thousands separators and the noun in the right number: "1 page", "2,000 pages"."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"


def summary(run: dict[str, Any]) -> str:
    """A run record as one line: scope, id, status, mode, whether the walk ended, pages, requests, rows."""
    from .lanes import outcome

    walk = outcome(run["mode"], run["complete"])
    outcomes = [f"{run['rows_' + name]:,} {name}" for name in ("inserted", "updated", "unchanged", "rejected")]
    outcomes += [f"{run['rows_' + name]:,} {name}" for name in ("renamed", "deleted") if run["rows_" + name]]
    return (f"{run['scope']}: run {run['id']} {run['status']} ({run['mode']}, {walk}): {plural(run['pages'], 'page')}, "
            f"{plural(run['requests'], 'request')}, {plural(run['retries'], 'retry', 'retries')}; "
            f"{plural(run['rows_seen'], 'row')} read: {', '.join(outcomes)}"
            + (f"; {plural(run['samples_taken'], 'sample')}" if run["samples_taken"] else ""))


# --- status ---------------------------------------------------------------------------------------

def status(report: list[dict[str, Any]], format_: str, out: IO[str], *, now: datetime | None = None) -> None:
    """Write `Catalog.status()`'s report as ``text``, ``json`` or ``openmetrics``."""
    now = now or datetime.now(UTC)
    if format_ == "json":
        out.write(json.dumps(report) + "\n")
    elif format_ == "openmetrics":
        out.write(openmetrics(report, now=now))
    elif format_ == "text":
        out.write("\n".join(status_lines(report, now)) + "\n")
    else:
        raise ConfigError(f"status format must be one of {', '.join(STATUS_FORMATS)}, not {format_!r}")


def status_lines(report: list[dict[str, Any]], now: datetime) -> list[str]:
    """The status report as lines that fit 80 columns: each scope, then each kind's staleness."""
    if not report:
        return ["no syncs yet: run `harvester sync`"]
    lines = [line for scope in report for line in _scope_lines(scope, now)]
    kinds = [scope for scope in report if "lap" in scope]
    if kinds:
        lines.append("\nEvery live row was read from the Hub within one lap:")
        lines.extend(line for scope in kinds for line in _staleness_lines(scope, now))
    return lines


def _since(timestamp: str | None, now: datetime) -> str:
    return "never" if timestamp is None else _ago(round((now - datetime.fromisoformat(timestamp)).total_seconds()))


def _scope_lines(scope: dict[str, Any], now: datetime) -> list[str]:
    """One scope as a short block that fits 80 columns: its last run, then its state."""
    run = scope["last_run"]
    lines = [scope["scope"]]
    if run is not None:
        walk = summary(run).split(": ", 2)[1]  # "run 12 ok (incremental, walk complete)"
        lines.append(f"  last {walk}, started {_since(run['started_at'], now)}")
        lines.append(f"  {plural(run['pages'], 'page')}, {plural(run['requests'], 'request')}, "
                     f"{plural(run['rows_seen'], 'row')} read:")
        lines.append(f"    {run['rows_inserted']:,} inserted, {run['rows_updated']:,} updated, "
                     f"{run['rows_unchanged']:,} unchanged")
    state = [f"last success {_since(scope['last_success_at'], now)}"]
    if scope["watermark"]:
        state.append(f"watermark {scope['watermark'][:16].replace('T', ' ')}")
    if scope["unfinished_walk"]:
        state.append(f"walk under way ({plural(scope['walk_pages'], 'page')} done)")
    lines.append("  " + ", ".join(state))
    lines.extend(f"  {line}" for line in _holder(scope["locked_by"]))
    return lines


def _staleness_lines(scope: dict[str, Any], now: datetime) -> list[str]:
    """Per kind: the staleness bound achieved, and where the verification lap stands."""
    lap = scope["lap"]
    oldest = (f"oldest verified {_since(scope['oldest_verified_at'], now)}" if scope["oldest_verified_at"]
              else f"{plural(scope['unverified_rows'], 'row')} never verified")
    progress = (f"lap: {plural(lap['pages_done'], 'page')} done, about {lap['pages_left']:,} left"
                if lap["started_at"] else f"lap: none under way, about {plural(lap['pages_left'], 'page')}")
    if lap["runs_to_finish"] is not None:
        progress += f" (about {plural(lap['runs_to_finish'], 'run')} at {lap['pages_per_run']:,} a run)"
    return [f"  {scope['scope']}: {plural(scope['live_rows'], 'live row')}, {oldest}", f"    {progress}",
            f"    last lap finished {_since(lap['last_finished_at'], now)}"]


def _holder(lock: dict[str, Any] | None) -> list[str]:
    """Who holds a scope's lock, in lines short enough for 80 columns (a host name can be long)."""
    if lock is None:
        return ["not locked"]
    lines = [f"locked by run {lock['run_id']}, pid {lock['pid']}", f"  on {lock['host']}"]
    if not lock["on_this_host"]:
        lines.append(f"  until {lock['expires_at'][11:19]} UTC")
    return lines


def _ago(seconds: int | None) -> str:
    if seconds is None:
        return "never"
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


# --- OpenMetrics ----------------------------------------------------------------------------------

def openmetrics(report: list[dict[str, Any]], *, now: datetime) -> str:
    """The status report in the OpenMetrics text format (prometheus-client's exposition), ending in ``# EOF``.

    Every family is a gauge, the run status one per state (``status`` label, 1 for the current
    one): node_exporter's textfile collector reads the Prometheus text format, which knows no
    stateset or info type, and reads the rest of OpenMetrics as it is.
    """
    try:
        from prometheus_client import CollectorRegistry
        from prometheus_client.openmetrics.exposition import generate_latest
    except ImportError:
        raise ConfigError("OpenMetrics needs prometheus-client: pip install 'hf-harvester[metrics]'") from None
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_StatusCollector(report, now))
    return generate_latest(registry).decode()


@overload
def _timestamp(iso: str) -> float: ...
@overload
def _timestamp(iso: str | None) -> float | None: ...


def _timestamp(iso: str | None) -> float | None:
    """An ISO 8601 time of the report as a Unix time (None stays None)."""
    return datetime.fromisoformat(iso).timestamp() if iso else None


class _StatusCollector:
    """A prometheus-client collector over one status report: families built once per exposition."""

    def __init__(self, report: list[dict[str, Any]], now: datetime) -> None:
        self.report = report
        self.now = now

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        families: dict[str, GaugeMetricFamily] = {}

        def sample(name: str, doc: str, labels: dict[str, str], value: float | None, unit: str = "") -> None:
            if value is None:
                return  # unknown (never succeeded, no lock, ...): no sample rather than a made-up one
            family = families.get(name)
            if family is None:
                family = families[name] = GaugeMetricFamily(name, doc, labels=list(labels), unit=unit)
            family.add_metric(list(labels.values()), value)

        now = self.now.timestamp()
        for scope in self.report:
            label = {"scope": scope["scope"]}
            run = scope["last_run"]
            sample("harvester_last_success_timestamp_seconds", "When the scope's last successful run ended.",
                   label, _timestamp(scope["last_success_at"]), "seconds")
            sample("harvester_failures_since_success", "Runs that failed or were abandoned since the last success.",
                   label, scope.get("failures_since_success", 0))
            sample("harvester_walk_unfinished", "1 while a walk is under way (resumed by the next run).",
                   label, int(scope["unfinished_walk"]))
            sample("harvester_walk_pages", "Pages done of the walk under way.", label, scope["walk_pages"])
            lock = scope["locked_by"]
            sample("harvester_locked", "1 while a run holds the scope's lock.", label, int(lock is not None))
            if lock is not None:
                sample("harvester_lock_holder_age_seconds", "How long the lock's holder has held it.", label,
                       max(0.0, now - _timestamp(lock["acquired_at"])), "seconds")
            if run is not None:
                for state in RUN_STATUSES:
                    sample("harvester_last_run_status", "The last run's status: 1 for the current one.",
                           {**label, "status": state}, int(run["status"] == state))
                started: float = _timestamp(run["started_at"])
                finished = _timestamp(run["finished_at"])
                sample("harvester_last_run_start_timestamp_seconds", "When the last run started.", label,
                       started, "seconds")
                sample("harvester_last_run_duration_seconds", "How long the last run took (so far, if running).",
                       label, max(0.0, (finished if finished is not None else now) - started), "seconds")
                sample("harvester_last_run_pages", "Pages the last run stored.", label, run["pages"])
                sample("harvester_last_run_requests", "Requests the last run made.", label, run["requests"])
                sample("harvester_last_run_retries", "Retries the last run made.", label, run["retries"])
                sample("harvester_last_run_rows_read", "Rows the last run read.", label, run["rows_seen"])
                for outcome in ROW_OUTCOMES:
                    sample("harvester_last_run_rows", "Rows of the last run, by outcome.",
                           {**label, "outcome": outcome}, run[f"rows_{outcome}"])
            if "lap" in scope:  # a whole kind: its staleness bound and its verification lap
                lap = scope["lap"]
                sample("harvester_live_rows", "Repos of the kind that exist.", label, scope["live_rows"])
                sample("harvester_unverified_rows", "Live rows never read whole from a listing.", label,
                       scope["unverified_rows"])
                oldest = _timestamp(scope["oldest_verified_at"])
                sample("harvester_oldest_verified_age_seconds",
                       "The staleness bound: every live row was read from the Hub within this long.", label,
                       None if oldest is None else max(0.0, now - oldest), "seconds")
                sample("harvester_lap_pages_done", "Pages done of the verification lap under way.", label,
                       lap["pages_done"])
                sample("harvester_lap_pages_left", "Estimated pages left of the verification lap.", label,
                       lap["pages_left"])
                sample("harvester_lap_runs_to_finish", "Estimated runs left to finish the lap.", label,
                       lap["runs_to_finish"])
                sample("harvester_last_lap_finished_timestamp_seconds", "When the last whole lap finished.", label,
                       _timestamp(lap["last_finished_at"]), "seconds")
        yield from families.values()


# --- the change feed ------------------------------------------------------------------------------

def change_writer(format_: str, out: IO[str]) -> Callable[[dict[str, Any]], object]:
    """A function that writes one change (`Change.as_dict()`) as a JSON line, or a CSV row after a header."""
    from .read import plain

    if format_ == "jsonl":
        return lambda change: out.write(json.dumps(change, default=plain) + "\n")
    if format_ != "csv":
        raise ConfigError(f"change format must be one of {', '.join(CHANGE_FORMATS)}, not {format_!r}")
    import csv

    writer = csv.writer(out)
    writer.writerow(CHANGE_COLUMNS)
    return lambda change: writer.writerow(
        [";".join(change["fields"] or []) if name == "fields" else plain(change[name]) for name in CHANGE_COLUMNS])
