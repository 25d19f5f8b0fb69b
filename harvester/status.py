"""`Catalog.status()`'s report as typed, frozen records; ``as_json()`` gives what `harvester status --json` prints.

`store.status.scope_status` reads the report from the catalog as plain dicts; this module only types it,
so that code reads ``scope.failures_since_success`` and ``scope.staleness.lap.pages_left`` rather than
keys, and the JSON the CLI prints comes back from it key for key, in the same order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, overload

from .records import Run


def _time(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso is not None else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


@dataclass(frozen=True, slots=True)
class LockHolder:
    """The run holding a scope's lock: where it runs, and since and until when it holds it."""

    run_id: int | None
    host: str
    pid: int
    on_this_host: bool
    acquired_at: datetime
    expires_at: datetime

    @classmethod
    def from_json(cls, lock: dict[str, Any]) -> LockHolder:
        """The holder from the report's ``locked_by`` object."""
        return cls(lock["run_id"], lock["host"], lock["pid"], lock["on_this_host"],
                   datetime.fromisoformat(lock["acquired_at"]), datetime.fromisoformat(lock["expires_at"]))

    def as_json(self) -> dict[str, Any]:
        """The ``locked_by`` object of `harvester status --json`."""
        return {"run_id": self.run_id, "host": self.host, "pid": self.pid, "on_this_host": self.on_this_host,
                "acquired_at": self.acquired_at.isoformat(), "expires_at": self.expires_at.isoformat()}


@dataclass(frozen=True, slots=True)
class Lap:
    """Where a kind's verification lap stands (scope ``<kind>:verify``), with an estimate of what is left."""

    scope: str
    started_at: datetime | None  # None: no lap under way
    pages_done: int
    pages_left: int
    pages_per_run: int | None  # the largest of the recent lap runs; None before the first
    runs_to_finish: int | None
    last_finished_at: datetime | None
    seconds_to_finish: int | None = None  # the runs to finish at the kind's measured run interval

    @classmethod
    def from_json(cls, lap: dict[str, Any]) -> Lap:
        """The lap from the report's ``lap`` object."""
        return cls(lap["scope"], _time(lap["started_at"]), lap["pages_done"], lap["pages_left"],
                   lap["pages_per_run"], lap["runs_to_finish"], _time(lap["last_finished_at"]),
                   lap["seconds_to_finish"])

    def as_json(self) -> dict[str, Any]:
        """The ``lap`` object of `harvester status --json`."""
        return {"scope": self.scope, "started_at": _iso(self.started_at), "pages_done": self.pages_done,
                "pages_left": self.pages_left, "pages_per_run": self.pages_per_run,
                "runs_to_finish": self.runs_to_finish, "last_finished_at": _iso(self.last_finished_at),
                "seconds_to_finish": self.seconds_to_finish}


@dataclass(frozen=True, slots=True)
class Plan:
    """The Hub's rate-limit window, as the kind's last answer stated it (`RateLimit-Policy`, `RateLimit`)."""

    requests: int  # per window
    window_seconds: int
    remaining: int | None  # left in the window then
    seen_at: datetime | None

    @classmethod
    def from_json(cls, plan: dict[str, Any]) -> Plan:
        """The plan from the report's ``plan`` object."""
        return cls(plan["requests"], plan["window_seconds"], plan["remaining"], _time(plan["seen_at"]))

    def as_json(self) -> dict[str, Any]:
        """The ``plan`` object of `harvester status --json`."""
        return {"requests": self.requests, "window_seconds": self.window_seconds, "remaining": self.remaining,
                "seen_at": _iso(self.seen_at)}


@dataclass(frozen=True, slots=True)
class Staleness:
    """How stale a whole kind's live rows may be: each was read whole from a listing since
    ``oldest_verified_at`` (None while ``unverified_rows`` never were), and its lap."""

    live_rows: int
    oldest_verified_at: datetime | None
    unverified_rows: int
    lap: Lap
    plan: Plan | None = None  # None until the Hub stated one
    details_due: int = 0  # repos the details lane has yet to fetch
    details_seconds: int | None = None  # what they take at the whole window, one request a repo
    field_groups: tuple[tuple[str, datetime, int], ...] = ()  # (group, added at, live rows read whole since)
    refused_fields: tuple[tuple[str, datetime], ...] = ()  # (`expand` value the Hub refused, when)
    indexes_pending: int = 0  # indexes a first walk builds once it has loaded the kind (`store.loading`)


@dataclass(frozen=True, slots=True)
class ScopeStatus:
    """One scope of the report: its walk, its last run and last success, failures since, its lock, and
    for a whole kind (``models``, not ``models:author=x``) its `Staleness`."""

    scope: str
    watermark: datetime | None
    unfinished_walk: bool
    walk_pages: int
    last_run: Run | None
    last_success_at: datetime | None
    seconds_since_success: int | None
    failures_since_success: int  # failed or abandoned runs since the last success
    locked_by: LockHolder | None
    staleness: Staleness | None = None

    @classmethod
    def from_json(cls, scope: dict[str, Any]) -> ScopeStatus:
        """A scope from one dict of `store.status.scope_status`."""
        staleness = None
        if "lap" in scope:
            plan = scope["plan"]
            staleness = Staleness(scope["live_rows"], _time(scope["oldest_verified_at"]), scope["unverified_rows"],
                                  Lap.from_json(scope["lap"]), Plan.from_json(plan) if plan else None,
                                  scope["details_due"], scope["details_seconds"],
                                  tuple((g["group"], _time(g["added_at"]), g["rows_read"])
                                        for g in scope.get("field_groups", ())),
                                  tuple((r["field"], _time(r["refused_at"])) for r in scope.get("refused_fields", ())),
                                  scope.get("indexes_pending", 0))
        lock, run = scope["locked_by"], scope["last_run"]
        return cls(scope["scope"], _time(scope["watermark"]), scope["unfinished_walk"], scope["walk_pages"],
                   Run.from_record(run) if run is not None else None, _time(scope["last_success_at"]),
                   scope["seconds_since_success"],
                   scope["failures_since_success"], LockHolder.from_json(lock) if lock is not None else None,
                   staleness)

    def as_json(self) -> dict[str, Any]:
        """The scope as `harvester status --json` prints it."""
        report = {"scope": self.scope, "watermark": _iso(self.watermark), "unfinished_walk": self.unfinished_walk,
                  "walk_pages": self.walk_pages,
                  "last_run": self.last_run.as_dict() if self.last_run is not None else None,
                  "last_success_at": _iso(self.last_success_at), "seconds_since_success": self.seconds_since_success,
                  "failures_since_success": self.failures_since_success,
                  "locked_by": self.locked_by.as_json() if self.locked_by is not None else None}
        if self.staleness is not None:
            report.update(live_rows=self.staleness.live_rows,
                          oldest_verified_at=_iso(self.staleness.oldest_verified_at),
                          unverified_rows=self.staleness.unverified_rows, lap=self.staleness.lap.as_json(),
                          plan=self.staleness.plan.as_json() if self.staleness.plan else None,
                          details_due=self.staleness.details_due, details_seconds=self.staleness.details_seconds,
                          field_groups=[{"group": group, "added_at": _iso(added), "rows_read": read}
                                        for group, added, read in self.staleness.field_groups],
                          refused_fields=[{"field": field, "refused_at": _iso(at)}
                                          for field, at in self.staleness.refused_fields],
                          indexes_pending=self.staleness.indexes_pending)
        return report


@dataclass(frozen=True, slots=True)
class Status(Sequence[ScopeStatus]):
    """The status report: a `ScopeStatus` per scope, sorted by scope; iterate or index it like a tuple."""

    scopes: tuple[ScopeStatus, ...]

    @classmethod
    def from_json(cls, report: list[dict[str, Any]]) -> Status:
        """The report from `store.status.scope_status` (or the JSON `harvester status --json` printed)."""
        return cls(tuple(ScopeStatus.from_json(scope) for scope in report))

    def as_json(self) -> list[dict[str, Any]]:
        """The report as `harvester status --json` prints it: a list of dicts, one per scope."""
        return [scope.as_json() for scope in self.scopes]

    def kinds(self) -> list[ScopeStatus]:
        """The scopes that are whole kinds, which have a `Staleness`."""
        return [scope for scope in self.scopes if scope.staleness is not None]

    @overload
    def __getitem__(self, index: int) -> ScopeStatus: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[ScopeStatus, ...]: ...

    def __getitem__(self, index: int | slice) -> ScopeStatus | tuple[ScopeStatus, ...]:
        return self.scopes[index]

    def __len__(self) -> int:
        return len(self.scopes)

    def __iter__(self) -> Iterator[ScopeStatus]:
        return iter(self.scopes)
