"""The page transaction: pages stored in one transaction, each with its walk's checkpoint and
the run's counters, committed together every few pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from ..state import RunStats, WalkState
from .clock import catalog_time, wall_clock
from .dialect import lock_change_log
from .locks import renew_for_page
from .repos import sweep_deleted
from .runs import save_run_stats
from .state import save_state

PAGES_PER_COMMIT = 10  # at most; a SIGKILL loses these, and the page fetched ahead


class PageBatch:
    """Pages stored in one transaction and committed together.

    Each page writes its walk's checkpoint and the run's counters with its rows, so whatever
    commits, the cursor covers exactly the rows committed with it; a crash loses the pages not
    yet committed, which the next run fetches again. ``stats`` is advanced only by a commit.
    Leaving the context commits the pages in hand, or rolls them back after an error. The batch
    is `due` to commit once it holds ``every`` pages.
    """

    def __init__(self, engine: Engine, stats: RunStats, *, run_id: int, every: int = PAGES_PER_COMMIT) -> None:
        self.engine = engine
        self.stats = stats
        self.run_id = run_id
        self.every = every
        self.pending = replace(stats)  # the run's counts with the pages in hand
        self._conn: Connection | None = None

    @property
    def pages(self) -> int:
        """Pages in hand, not committed yet."""
        return self.pending.pages - self.stats.pages

    @property
    def due(self) -> bool:
        """Whether the batch holds ``every`` pages (or more), and should commit."""
        return self.pages >= self.every

    def __enter__(self) -> PageBatch:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: Any) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.rollback()

    def store(self, write: Callable[[Connection, RunStats, datetime], None], *, state: WalkState | None,
              sweep_since: datetime | None, rejected: int = 0) -> None:
        """Write one page at ``catalog_time``: ``write`` advances the counts it is given.

        ``rejected`` items were seen but not stored: they count as seen and as rejected. ``state``
        is the walk's checkpoint (the details lane has none: its work list is the catalog itself).
        """
        conn = self._transaction()
        after = self.pending
        after.take_as_they_happen(self.stats)
        now = catalog_time(conn, state)
        renew_for_page(conn, self.run_id, wall_clock())  # a lock's expiry is this machine's business, by its clock
        write(conn, after, now)
        after.rows_seen += rejected
        after.rows_rejected += rejected
        if state is not None and sweep_since is not None:
            after.rows_deleted += sweep_deleted(conn, state.kind, since=sweep_since, now=now, run_id=self.run_id)
        after.pages += 1
        if state is not None:
            save_state(conn, state, now=now)
        save_run_stats(conn, self.run_id, after)

    def store_work(self, write_repos: Callable[[Connection, datetime], int], count: int, *, rejected: int) -> None:
        """Store one batch of a work-list lane (details, cards), which has no walk state:
        ``write_repos`` writes the batch's ``count`` repos and returns how many changed."""

        def write(conn: Connection, after: RunStats, now: datetime) -> None:
            changed = write_repos(conn, now) if count else 0
            after.rows_seen += count
            after.rows_updated += changed
            after.rows_unchanged += count - changed

        self.store(write, state=None, sweep_since=None, rejected=rejected)

    def commit(self) -> None:
        """Commit the pages in hand, if any, and count them in ``stats``."""
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        try:
            conn.commit()
        finally:
            conn.close()
        self.stats.take_stored(self.pending)
        self.pending = replace(self.stats)

    def rollback(self) -> None:
        """Give up the pages in hand."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()  # rolls back
        self.pending = replace(self.stats)

    def _transaction(self) -> Connection:
        if self._conn is None:
            self._conn = self.engine.connect()
            try:
                # Before any row lock: two lanes' pages then queue for the change log in one order,
                # never each holding what the other waits for (PostgreSQL; SQLite has one writer anyway).
                lock_change_log(self._conn)
            except BaseException:
                self.rollback()
                raise
        return self._conn
