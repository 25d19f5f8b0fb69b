"""Typed records of what syncs did: one `Run` per row of ``sync_runs``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

RunStatus = Literal["running", "ok", "failed", "interrupted", "abandoned"]


@dataclass(frozen=True, slots=True)
class Run:
    """One sync run, as ``sync_runs`` records it, its columns in order (times in ISO 8601 UTC, as
    ``harvester sync --json`` prints them)."""

    id: int
    scope: str
    started_at: str
    finished_at: str | None
    mode: str  # `lanes.Mode`: full, incremental, resume, verify, reconcile, stats or details
    status: RunStatus
    complete: bool  # the walk ended (the lap: the lap ended; details: no repo left due)
    pages: int
    requests: int
    retries: int
    rows_seen: int
    rows_inserted: int
    rows_updated: int
    rows_unchanged: int
    rows_rejected: int
    rows_renamed: int
    rows_deleted: int
    samples_taken: int
    error: str | None
    quota_limit: int | None = None  # the Hub's window as its last answer stated it (NULL: unsaid)
    quota_window: int | None = None
    quota_remaining: int | None = None
    budget_spent: bool = False  # it stopped because it had spent its share of the window (--budget)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Run:
        """A run from `store.runs.run_record`'s dict."""
        return cls(**{name: record[name] for name in cls.__dataclass_fields__})

    def as_dict(self) -> dict[str, Any]:
        """The run as ``harvester sync --json`` prints it."""
        return asdict(self)
