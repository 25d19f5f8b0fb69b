"""The walk engine: pages fetched one ahead, planned by a lane, stored a batch per transaction.

`Walker.walk` follows a cursor until the walk ends, the page budget is spent or a stop is asked.
`walk_listing` adds what the listing walk needs around it: a full or resumed walk takes long,
and rows modified meanwhile move above its cursor, so once it finishes the same run catches up
with an incremental walk down to where it began; a full walk's deletions wait for a catch-up
that fits in one page (`WalkState.sweep_due`). Either way a run that ends well leaves the
catalog current as of its own start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from .errors import Interrupted
from .hub.pages import MAX_PAGE_SIZE, HubClient, Page
from .hub.walker import PageWalk
from .state import OVERLAP, RunStats, WalkState
from .stopping import abort_flag
from .store.transactions import PAGES_PER_COMMIT, PageBatch

if TYPE_CHECKING:
    from .lanes import PagePlanner

SETTLING_WALKS = 3  # at most, per run; a sweep still pending waits for the next run
# How long a bulk load waits for the next page before it commits what it holds: the Hub answers
# a page in about a second; a slower one (a retry, a 429's wait) is not waited for holding a write.
LOAD_WAIT = 2.0


@dataclass
class Walker:
    """What every walk of one run shares: the catalog, the Hub, the run's record and its stop."""

    engine: Engine
    client: HubClient
    run_id: int
    stats: RunStats
    stop: threading.Event | None = None
    on_page: Callable[[RunStats], None] | None = None
    pages_per_commit: int = PAGES_PER_COMMIT
    loading: bool = False  # a bulk load (`store.loading`): commit every ``pages_per_commit`` pages at the Hub's pace

    @property
    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def batch(self) -> PageBatch:
        """A transaction for the run's next pages."""
        return PageBatch(self.engine, self.stats, run_id=self.run_id, every=self.pages_per_commit)

    def committed(self) -> None:
        """Tell the progress display about a commit."""
        if self.on_page is not None:
            self.on_page(self.stats)

    def walk(self, state: WalkState, plan: PagePlanner, *, max_pages: int | None,
             ends_within_page: bool = False, allowance: Callable[[], int | None] | None = None) -> WalkState:
        """Walk from ``state.cursor`` until the walk ends, ``max_pages`` are stored, ``allowance``
        (the requests the run may still make, None: no bound) leaves no request, or a stop is asked.

        Once a page shows that the walk goes on, the next one is fetched while this one is stored.
        Pages are committed together while the next one is already in hand, up to
        ``pages_per_commit``: a commit is a tenth of a page's CPU, and one per page rewrote the same
        index pages to disk again and again. Whenever the walk would wait for the Hub, what is in
        hand is committed first, so no transaction is held open across a wait; except that a bulk
        load (``loading``) waits up to `LOAD_WAIT` for the next page holding its pages: a commit
        per page at the Hub's pace rewrote every leaf of the random-key indexes it keeps once per
        page. A stop, a fetch error or the page budget commits too. A crash loses at most the
        uncommitted pages.
        ``ends_within_page``: the items of a page may end the walk (a count), so nothing is
        fetched ahead before they are read.
        """
        with (PageWalk(self.client, state.cursor, page_size=state.page_size or MAX_PAGE_SIZE,
                       abort=abort_flag(self.stop)) as pages,
              self.batch() as batch):
            page = pages.next_page()
            while page is not None:
                budget_left = ((max_pages is None or batch.pending.pages + 1 < max_pages)
                               and (allowance is None or allowance() != 0))
                if (_goes_on_whatever_it_holds(page, state) and not ends_within_page and budget_left
                        and not self.stopping):
                    pages.fetch_ahead()  # before mapping the page, so that the Hub's latency hides that too
                try:
                    planned = plan(page, state, batch.pending)
                except Exception:
                    batch.commit()  # the pages in hand are good; only this one could not be read
                    raise
                last = not planned.state.unfinished or not budget_left
                if not last and not self.stopping:
                    pages.fetch_ahead()
                planned.store(batch)
                state = planned.state
                if last or self.stopping or batch.due or not pages.arrived(within=LOAD_WAIT * self.loading):
                    batch.commit()
                    self.committed()
                if last:
                    break
                if self.stopping:
                    batch.commit()
                    raise Interrupted("stopped after the last committed page")
                try:
                    page = pages.next_page()
                except BaseException:
                    batch.commit()  # the pages in hand are good; only the fetch failed
                    raise
        return state

    def may_walk_again(self, state: WalkState, max_pages: int | None) -> bool:
        return not state.unfinished and (max_pages is None or self.stats.pages < max_pages)


def _goes_on_whatever_it_holds(page: Page, state: WalkState) -> bool:
    """Whether the walk surely goes on past ``page`` before its items are read: it has a next
    page, and no watermark (an incremental walk) may end it here."""
    return page.next_url is not None and state.stop_before is None


Begin = Callable[..., WalkState]  # (state, mode, *, page_size=None, overlap=OVERLAP) -> a walk from the top


def walk_listing(walker: Walker, state: WalkState, mode: str, *, begin: Begin, plan: PagePlanner,
                 max_pages: int | None) -> WalkState:
    """The listing walk in ``mode`` (full, incremental or resume), then the catch-up walk a full
    or resumed walk needs, and the settling walks a pending deletion sweep waits for."""

    def walk(s: WalkState) -> WalkState:
        return walker.walk(s, plan, max_pages=max_pages)

    def catch_up(s: WalkState, overlap: timedelta = OVERLAP) -> WalkState:
        # A page size a 504 shrank stays shrunk for the rest of the run.
        return walk(begin(s, "incremental", page_size=s.page_size, overlap=overlap))

    if mode == "incremental" and state.sweep_pending:
        # A pending sweep waits on a walk that fits in one page (see `WalkState.sweep_due`); the
        # walk down to the watermark, without the overlap, is the shortest, so it goes first.
        state = catch_up(state, timedelta(0))
        if not walker.may_walk_again(state, max_pages):
            return state
    if mode != "resume":
        state = begin(state, mode)
    # Rows modified during a full walk (or while a walk was interrupted) moved above its
    # cursor: catch up with them.
    needs_catch_up = state.mode == "full" or (mode == "resume" and state.mode == "incremental")
    state = walk(state)
    if needs_catch_up and walker.may_walk_again(state, max_pages):
        state = catch_up(state)
    # A catch-up of several pages proves no deletion (see `WalkState.sweep_due`). A row unseen
    # since the full walk began was modified after the last finished walk began, so it sits
    # above that walk's top, the watermark: walk down to there, no further, until one such walk
    # fits in one page and sweeps. (Without the overlap, a repo that surfaces in the Hub's index
    # late, below that top, after dodging every walk so far, could still be marked deleted.)
    for _ in range(SETTLING_WALKS):
        if not (state.sweep_pending and walker.may_walk_again(state, max_pages)):
            break
        state = catch_up(state, timedelta(0))
    return state
