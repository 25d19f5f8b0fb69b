"""The status report as OpenMetrics text, for Prometheus (`harvester status --format openmetrics`).

A pure writer over `Catalog.status()`, built with prometheus-client (the ``[metrics]`` extra), ending
in ``# EOF``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .errors import MissingExtra

if TYPE_CHECKING:
    from .status import Status

RUN_STATUSES = ("running", "ok", "failed", "interrupted", "abandoned")
ROW_OUTCOMES = ("inserted", "updated", "unchanged", "rejected", "renamed", "deleted")


def openmetrics(report: Status, *, now: datetime) -> str:
    """The status report in the OpenMetrics text format (prometheus-client's exposition), ending in ``# EOF``.

    Every family is a gauge, the run status one per state (``status`` label, 1 for the current
    one): node_exporter's textfile collector reads the Prometheus text format, which knows no
    stateset or info type, and reads the rest of OpenMetrics as it is.
    """
    try:
        from prometheus_client import CollectorRegistry
        from prometheus_client.openmetrics.exposition import generate_latest
    except ImportError:
        raise MissingExtra("OpenMetrics needs prometheus-client", "metrics") from None
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_StatusCollector(report, now))
    return generate_latest(registry).decode()


def _timestamp(moment: datetime | str | None) -> float | None:
    """A time of the report (a run record's are ISO 8601 text) as a Unix time; None stays None."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.timestamp() if moment else None


def _age(moment: datetime | str | None, now: float) -> float | None:
    """Seconds from ``moment`` to ``now`` (never negative: clocks of other hosts), None if unknown."""
    then = _timestamp(moment)
    return None if then is None else max(0.0, now - then)


class _StatusCollector:
    """A prometheus-client collector over one status report: families built once per exposition."""

    def __init__(self, report: Status, now: datetime) -> None:
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
            label = {"scope": scope.scope}
            run = scope.last_run
            sample("harvester_last_success_timestamp_seconds", "When the scope's last successful run ended.",
                   label, _timestamp(scope.last_success_at), "seconds")
            sample("harvester_failures_since_success", "Runs that failed or were abandoned since the last success.",
                   label, scope.failures_since_success)
            sample("harvester_walk_unfinished", "1 while a walk is under way (resumed by the next run).",
                   label, int(scope.unfinished_walk))
            sample("harvester_walk_pages", "Pages done of the walk under way.", label, scope.walk_pages)
            lock = scope.locked_by
            sample("harvester_locked", "1 while a run holds the scope's lock.", label, int(lock is not None))
            if lock is not None:
                sample("harvester_lock_holder_age_seconds", "How long the lock's holder has held it.", label,
                       _age(lock.acquired_at, now), "seconds")
            if run is not None:
                for state in RUN_STATUSES:
                    sample("harvester_last_run_status", "The last run's status: 1 for the current one.",
                           {**label, "status": state}, int(run.status == state))
                started, finished = _timestamp(run.started_at), _timestamp(run.finished_at)
                sample("harvester_last_run_start_timestamp_seconds", "When the last run started.", label,
                       started, "seconds")
                sample("harvester_last_run_duration_seconds", "How long the last run took (so far, if running).",
                       label, _age(run.started_at, finished if finished is not None else now), "seconds")
                sample("harvester_last_run_pages", "Pages the last run stored.", label, run.pages)
                sample("harvester_last_run_requests", "Requests the last run made.", label, run.requests)
                sample("harvester_last_run_retries", "Retries the last run made.", label, run.retries)
                sample("harvester_last_run_rows_read", "Rows the last run read.", label, run.rows_seen)
                for outcome in ROW_OUTCOMES:
                    sample("harvester_last_run_rows", "Rows of the last run, by outcome.",
                           {**label, "outcome": outcome}, getattr(run, f"rows_{outcome}"))
            if scope.staleness is not None:  # a whole kind: its staleness bound and its verification lap
                staleness, lap = scope.staleness, scope.staleness.lap
                sample("harvester_live_rows", "Repos of the kind that exist.", label, staleness.live_rows)
                sample("harvester_unverified_rows", "Live rows never read whole from a listing.", label,
                       staleness.unverified_rows)
                sample("harvester_oldest_verified_age_seconds",
                       "The staleness bound: every live row was read from the Hub within this long.", label,
                       _age(staleness.oldest_verified_at, now), "seconds")
                sample("harvester_lap_pages_done", "Pages done of the verification lap under way.", label,
                       lap.pages_done)
                sample("harvester_lap_pages_left", "Estimated pages left of the verification lap.", label,
                       lap.pages_left)
                sample("harvester_lap_runs_to_finish", "Estimated runs left to finish the lap.", label,
                       lap.runs_to_finish)
                sample("harvester_last_lap_finished_timestamp_seconds", "When the last whole lap finished.", label,
                       _timestamp(lap.last_finished_at), "seconds")
                sample("harvester_indexes_pending", "Indexes the kind's first walk builds once it has loaded it.",
                       label, staleness.indexes_pending)
        yield from families.values()
