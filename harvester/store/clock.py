"""The catalog's time: what each page is stamped with, and datetimes as UTC whatever the driver returns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from ..errors import ClockSkew
from ..state import WalkState
from .schema import sync_state

# How far ahead of this machine's clock the catalog's last page may be: clocks kept by NTP differ
# by far less; past this, one machine's clock is wrong, and stamping every later page with its
# time would hide deletions and keep locks for as long.
CLOCK_TOLERANCE = timedelta(minutes=10)


def utc(value: datetime | None) -> datetime | None:
    """Datetimes read back from SQLite are naive; the catalog stores UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def utc_if_time(value: Any) -> Any:
    """A value read back from the catalog, as `utc` when it is a datetime, else as it is."""
    return utc(value) if isinstance(value, datetime) else value


def wall_clock() -> datetime:
    return datetime.now(UTC)


def catalog_time(conn: Connection, state: WalkState | None) -> datetime:
    """This page's time: this machine's clock, but never earlier than a page committed before it
    nor than the start of the walk it belongs to.

    Deletion sweeps compare ``last_seen_at`` with the time a walk began, so those times must
    follow commit order: a clock stepped back (NTP), or another host's clock behind this one's
    on a shared catalog, must not make a repo seen after a walk began look seen before it.
    Every walk's page writes ``sync_state.updated_at``, so its largest value is the last page's
    time. Called under the change-log lock, which orders the pages of every writer.
    """
    wall = wall_clock()
    last = utc(conn.execute(select(func.max(sync_state.c.updated_at))).scalar())
    if last is not None and last - wall > CLOCK_TOLERANCE:
        raise ClockSkew(f"the catalog's last page is dated {last.isoformat(timespec='seconds')}, "
                        f"{_duration(last - wall)} ahead of this machine's clock: a machine that writes this catalog "
                        "has a wrong clock. Fix it (NTP); if the catalog's date is the wrong one, `harvester state "
                        "reset` forgets it (the next run walks everything)")
    return max(t for t in (wall, last, state.started_at if state is not None else None) if t is not None)


def _duration(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    return f"{seconds / 86_400:.1f} days" if seconds >= 86_400 else f"{seconds / 60:.0f} minutes"
