"""One sync run: fetch pages, map items, upsert each page with its checkpoint, record the run.

Modes:
    full         no watermark yet, or --full: walk the whole listing, newest lastModified first.
    incremental  walk from the top and stop at the first row older than the watermark (minus an
                 overlap, see ``state.OVERLAP``).
    resume       an unfinished walk exists: continue it from its cursor.
    reconcile    --reconcile: walk ids only, in creation order, to find deleted repos cheaply.
    verify       the verification lap, after every plain sync: full items in creation order, a
                 few pages per run (``--verify-pages``), resumed run after run. It re-reads what
                 the Hub changes without a commit, and a finished lap marks unseen repos deleted.
    stats        --stats: walk the busiest repos' counters, refresh them and sample their history.
    details      --details: no walk; fetch files and heavy fields of each repo whose sha moved
                 since they were last fetched (``files_sha``), newest first.

A full or resumed walk takes long, and rows modified meanwhile move above its cursor, so once
it finishes the same run catches up with an incremental walk down to where it began. Either
way a run that ends well leaves the catalog current as of its own start.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from . import logs
from .config import MAX_PAGE_SIZE, SyncConfig
from .errors import HarvesterError, Interrupted
from .hub.pages import HubClient, Page, PageWalk, listing_url, repo_url
from .hub.retry import Pacer, RetryPolicy
from .mapping import (
    COUNTERS,
    EXPAND,
    STATS_SORT,
    MappedRow,
    RejectedItem,
    RepoDetails,
    listed,
    map_counters,
    map_details,
    map_item,
)
from .state import FUTURE_SKEW, OVERLAP, RunStats, WalkState
from .stopping import abort_flag, in_worker, wait_for
from .store.engine import catalog_error, database_reason, open_catalog
from .store.locks import ScopeLock
from .store.runs import finish_run, load_state, run_record, start_run
from .store.upsert import (
    PageBatch,
    pending_details,
    store_details_page,
    store_page,
    store_seen_page,
    store_stats_page,
)

log = logging.getLogger("harvester")
T = TypeVar("T")


def now() -> datetime:
    return datetime.now(UTC)


def _map_each(items: list[Any], mapper: Callable[[Any], tuple[str, T]]) -> tuple[dict[str, T], list[Any]]:
    """Map a page's items by repo id; a bad item, or an earlier duplicate of an id, is logged and
    returned among the rejected ones."""
    mapped: dict[str, T] = {}
    rejected = []
    for item in items:
        try:
            repo_id, value = mapper(item)
        except RejectedItem as reason:
            rejected.append(item)
            log.warning("skipped an item: %s", reason)
            continue
        if repo_id in mapped:
            rejected.append(item)
            log.warning("item %r appears twice in one page; keeping the later one", repo_id)
        mapped[repo_id] = value
    return mapped, rejected


def map_page(kind: str, items: list[Any]) -> tuple[list[MappedRow], list[Any]]:
    """Map a page of full items to rows; see ``_map_each`` for what is rejected."""
    rows, rejected = _map_each(items, lambda item: _keyed(map_item(kind, item)))
    return list(rows.values()), rejected


def _keyed(row: MappedRow) -> tuple[str, MappedRow]:
    return row.id, row


def _newest(rows: list[MappedRow], *, horizon: datetime) -> datetime | None:
    """The newest lastModified of a page that can be a watermark: none past ``horizon``."""
    dates = [modified for row in rows if (modified := row.row["last_modified"]) is not None]
    for modified in (d for d in dates if d > horizon):
        log.warning("a lastModified of %s is ahead of this machine's clock; it will not be a watermark",
                    modified.isoformat())
    return max((d for d in dates if d <= horizon), default=None)


def _below(row: MappedRow, line: datetime) -> bool:
    modified = row.row["last_modified"]
    return modified is not None and modified < line


def first_page_url(config: SyncConfig) -> str:
    # In creation order no row can move past the cursor: reconcile reads ids only, the lap full items.
    if config.reconcile:
        return listing_url(config.endpoint, config.kind, [("sort", "createdAt"), ("expand", "createdAt")])
    if config.verify:
        params = [("sort", "createdAt"), *config.scope_params, *(("expand", name) for name in EXPAND[config.kind])]
        return listing_url(config.endpoint, config.kind, params)
    if config.stats:  # the busiest first, counters only
        params = [("sort", STATS_SORT[config.kind]), *config.scope_params,
                  *(("expand", name) for name in COUNTERS[config.kind])]
        return listing_url(config.endpoint, config.kind, params)
    params = [("sort", "lastModified"), *config.scope_params, *(("expand", name) for name in EXPAND[config.kind])]
    return listing_url(config.endpoint, config.kind, params)


class PlannedPage(NamedTuple):
    """A fetched page ready to store: the walk's state after it, and the write that stores the
    page with that state as its checkpoint, in a ``PageBatch``."""

    state: WalkState
    store: Callable[[PageBatch], None]


def _plan_listing_page(page: Page, state: WalkState, stats: RunStats) -> PlannedPage:
    """Map a page of full items for upsert; an incremental walk ends at the first row it already had."""
    rows, rejected = map_page(state.kind, page.items)
    newest = None if state.in_creation_order else _newest(rows, horizon=now() + FUTURE_SKEW)
    next_url = page.next_url
    if state.stop_before is not None and any(_below(row, state.stop_before) for row in rows):
        # The walk ends on this page. Rows below its line were stored by earlier walks: marking
        # them seen would rewrite up to a page of rows all over the table for nothing.
        next_url = None
        rows = [row for row in rows if not _below(row, state.stop_before)]
    sweep_since = state.sweep_due(next_url)
    state = state.advance(next_url=next_url, page_size=page.page_size, newest=newest)
    # A rejected item's repo is still listed: it must count as seen, or a deletion sweep would take it for gone.
    return PlannedPage(state, partial(store_page, rows=rows, rejected=len(rejected), listed=listed(rejected),
                                      state=state, sweep_since=sweep_since))


def _plan_reconcile_page(page: Page, state: WalkState, stats: RunStats) -> PlannedPage:
    """Mark the repos of a page of ids as seen (by hub_id, so renamed repos count as seen; by repo
    id for an item without one)."""
    keys = listed(page.items)
    if len(keys.hub_ids) < len(page.items):
        log.warning("%d items without an _id: their repos are matched by id", len(page.items) - len(keys.hub_ids))
    sweep_since = state.sweep_due(page.next_url)
    state = state.advance(next_url=page.next_url, page_size=page.page_size, newest=None)
    return PlannedPage(state, partial(store_seen_page, listed=keys, rejected=len(page.items) - len(keys.hub_ids),
                                      state=state, sweep_since=sweep_since))


def _plan_stats_page(page: Page, state: WalkState, stats: RunStats, *, top: int) -> PlannedPage:
    """Refresh the counters of a page of the busiest repos; the walk ends after ``top`` repos
    (``stats`` counts the pages before this one, committed or not)."""
    items = page.items[: max(0, top - stats.rows_seen)]  # exactly the top repos, not the rest of a page
    counters, rejected = _map_each(items, partial(map_counters, state.kind))
    done = stats.rows_seen + len(items) >= top
    state = state.advance(next_url=None if done else page.next_url, page_size=page.page_size, newest=None)
    return PlannedPage(state, partial(store_stats_page, counters=counters, rejected=len(rejected), state=state))


PagePlanner = Callable[[Page, WalkState, RunStats], PlannedPage]


def page_planner(config: SyncConfig, state: WalkState) -> PagePlanner:
    """What a walk does with each page: upsert full items, mark ids seen, or refresh counters."""
    if state.mode == "reconcile":
        return _plan_reconcile_page
    if state.mode == "stats":
        return partial(_plan_stats_page, top=config.stats_top)
    return _plan_listing_page


def _walk(engine: Engine, client: HubClient, state: WalkState, plan: PagePlanner, *, run_id: int, stats: RunStats,
          max_pages: int | None, stop: threading.Event | None,
          on_page: Callable[[RunStats], None] | None) -> WalkState:
    """Walk from ``state.cursor`` until the walk ends, the page budget is spent, or a stop is asked.

    Once a page shows that the walk goes on, the next one is fetched while this one is stored.
    Pages are committed together while the next one is already in hand, up to
    ``PAGES_PER_COMMIT``: a commit is a tenth of a page's CPU, and one per page rewrote the same
    index pages to disk again and again. Whenever the walk would wait for the Hub, what is in
    hand is committed first, so no transaction is held open across a wait; a stop, a fetch
    error or the page budget commits it too. A crash loses at most the uncommitted pages.
    """
    with (PageWalk(client, state.cursor, page_size=state.page_size or MAX_PAGE_SIZE, abort=abort_flag(stop)) as pages,
          PageBatch(engine, stats, run_id=run_id) as batch):
        page = pages.next_page()
        while page is not None:
            budget_left = max_pages is None or batch.pending.pages + 1 < max_pages
            if _goes_on_whatever_it_holds(page, state) and budget_left and not (stop is not None and stop.is_set()):
                pages.fetch_ahead()  # before mapping the page, so that the Hub's latency hides that too
            try:
                planned = plan(page, state, batch.pending)
            except Exception:
                batch.commit()  # the pages in hand are good; only this one could not be read
                raise
            last = not planned.state.unfinished or not budget_left
            stopping = stop is not None and stop.is_set()
            if not last and not stopping:
                pages.fetch_ahead()
            planned.store(batch)
            state = planned.state
            if last or stopping or batch.pages >= PAGES_PER_COMMIT or not pages.arrived():
                batch.commit()
                if on_page is not None:
                    on_page(stats)
            if last:
                break
            if stop is not None and stop.is_set():
                batch.commit()
                raise Interrupted("stopped after the last committed page")
            try:
                page = pages.next_page()
            except BaseException:
                batch.commit()  # the pages in hand are good; only the fetch failed
                raise
    return state


PAGES_PER_COMMIT = 10  # at most; a SIGKILL loses these, and the page fetched ahead


def _goes_on_whatever_it_holds(page: Page, state: WalkState) -> bool:
    """Whether the walk surely goes on past ``page`` before its items are read: it has a next
    page, and neither a watermark (an incremental walk) nor a count (the stats lane) may end it here."""
    return page.next_url is not None and state.stop_before is None and state.mode != "stats"


DETAILS_BATCH = 100  # repos per transaction in the details lane


def fetch_details(engine: Engine, client: HubClient, config: SyncConfig, *, run_id: int, stats: RunStats,
                  stop: threading.Event | None, on_page: Callable[[RunStats], None] | None) -> bool:
    """Fetch and store the heavy fields of due repos, a batch per transaction, up to ``max_repos``.

    The work list is the catalog itself (rows whose ``files_sha`` is not their ``sha``), so an
    interrupted run loses at most one batch and the next run picks up the rest. Returns whether
    no due repo is left.
    """
    kind, budget, after = config.kind, config.max_repos, None
    while budget is None or budget > 0:
        due = pending_details(engine, kind, after=after, limit=min(DETAILS_BATCH, budget or DETAILS_BATCH))
        if not due:
            return True
        fetched = []
        for modified, repo_id in due:
            if stop is not None and stop.is_set():
                break
            url = repo_url(config.endpoint, kind, repo_id)
            fetched.append((repo_id, wait_for(in_worker(partial(client.fetch_repo, url)), abort_flag(stop))))
            after = (modified, repo_id)
        details, rejected = _map_each(fetched, partial(_map_repo_page, kind))
        with PageBatch(engine, stats, run_id=run_id) as batch:
            store_details_page(batch, kind, details, rejected=len(rejected))
        if on_page is not None:
            on_page(stats)
        if stop is not None and stop.is_set():
            raise Interrupted("stopped after the last committed batch")
        budget = None if budget is None else budget - len(fetched)
    return not pending_details(engine, kind, after=after, limit=1)


def _map_repo_page(kind: str, fetched: tuple[str, Any]) -> tuple[str, RepoDetails]:
    """A fetched repo page under the catalog's id for it (a renamed repo's page carries its new id)."""
    repo_id, item = fetched
    if item is None:
        raise RejectedItem(f"{repo_id!r} is no longer on the Hub; a full or reconcile walk will mark it deleted")
    return repo_id, map_details(kind, item)


def choose_mode(state: WalkState, config: SyncConfig, client: HubClient) -> tuple[str, WalkState]:
    """The run's mode, and the state to start from (a cursor for another host is dropped)."""
    if config.details:
        return "details", state
    if state.unfinished and not client.same_origin(state.cursor):
        log.warning("the unfinished walk was against another endpoint; starting over")
        state = replace(state, cursor=None, mode=None)
    if config.verify:  # a lap goes on from its cursor, or begins again at the top
        return "verify", state
    if state.unfinished and not config.full:
        return "resume", state
    if config.reconcile:
        return "reconcile", state
    if config.stats:
        return "stats", state
    return ("full" if config.full or state.watermark is None else "incremental"), state


def _walk_in_creation_order(engine: Engine, client: HubClient, config: SyncConfig, state: WalkState, *,
                            run_id: int, stats: RunStats, stop: threading.Event | None,
                            on_page: Callable[[RunStats], None] | None) -> WalkState:
    """A reconcile walk, or the next ``config.max_pages`` pages of the verification lap: one
    mechanism with two page planners (ids marked seen, or full items upserted).

    A walk under way goes on from its cursor; otherwise one begins at the top. Creation time
    never changes, so no repo moves past the cursor and no catch-up is needed; a walk of a whole
    kind that ends marks the repos it did not see deleted (see ``WalkState.sweep_due``).
    """
    if not state.unfinished:
        lane = "reconcile" if config.reconcile else "verify"
        state = state.begin(lane, first_url=first_page_url(config), page_size=config.page_size, now=now())
    return _walk(engine, client, state, page_planner(config, state), run_id=run_id, stats=stats,
                 max_pages=config.max_pages, stop=stop, on_page=on_page)


def _walk_listing(engine: Engine, client: HubClient, config: SyncConfig, mode: str, state: WalkState, *,
                  run_id: int, stats: RunStats, stop: threading.Event | None,
                  on_page: Callable[[RunStats], None] | None) -> WalkState:
    """The run's walk in ``mode``, then the catch-up walk a full or resumed walk needs."""
    walk = lambda s: _walk(engine, client, s, page_planner(config, s), run_id=run_id,  # noqa: E731
                           stats=stats, max_pages=config.max_pages, stop=stop, on_page=on_page)
    settle = lambda s: walk(_catch_up(s, config, overlap=timedelta(0)))  # noqa: E731 - see the loop below
    if mode == "incremental" and state.sweep_pending:
        # A pending sweep waits on a walk that fits in one page (see `WalkState.sweep_due`); the
        # walk down to the watermark, without the overlap, is the shortest, so it goes first.
        state = settle(state)
        if not _may_walk_again(state, config, stats):
            return state
    if mode != "resume":
        state = state.begin(mode, first_url=first_page_url(config), page_size=config.page_size, now=now())
    # Rows modified during a full walk (or while a walk was interrupted) moved above its
    # cursor: catch up with them.
    catch_up = state.mode == "full" or (mode == "resume" and state.mode == "incremental")
    state = walk(state)
    if catch_up and _may_walk_again(state, config, stats):
        state = walk(_catch_up(state, config))
    # A catch-up of several pages proves no deletion (see `WalkState.sweep_due`). A row unseen
    # since the full walk began was modified after the last finished walk began, so it sits
    # above that walk's top, the watermark: walk down to there, no further, until one such walk
    # fits in one page and sweeps. (Without the overlap, a repo that surfaces in the Hub's index
    # late, below that top, after dodging every walk so far, could still be marked deleted.)
    for _ in range(SETTLING_WALKS):
        if not (state.sweep_pending and _may_walk_again(state, config, stats)):
            break
        state = settle(state)
    return state


SETTLING_WALKS = 3  # at most, per run; a sweep still pending waits for the next run


def _may_walk_again(state: WalkState, config: SyncConfig, stats: RunStats) -> bool:
    return not state.unfinished and (config.max_pages is None or stats.pages < config.max_pages)


def _catch_up(state: WalkState, config: SyncConfig, *, overlap: timedelta = OVERLAP) -> WalkState:
    """An incremental walk from the top down to the watermark, less ``overlap``; a page size a 504
    shrank stays shrunk for the rest of the run."""
    return state.begin("incremental", first_url=first_page_url(config), page_size=state.page_size or config.page_size,
                       now=now(), overlap=overlap)


def _record_failure(engine: Engine, run_id: int, exc: BaseException, stats: RunStats) -> None:
    """Mark the run failed or interrupted; if the catalog cannot take even that, the next run
    marks it abandoned, and the original error is what the user sees."""
    status = "interrupted" if isinstance(exc, Interrupted | KeyboardInterrupt) else "failed"
    error = (str(exc) if isinstance(exc, HarvesterError) else str(catalog_error(engine, exc))
             if isinstance(exc, SQLAlchemyError) else f"{type(exc).__name__}: {exc}")  # as the user is told it
    try:
        finish_run(engine, run_id, status=status, stats=stats, complete=False, now=now(), error=error)
    except SQLAlchemyError as secondary:
        # An interrupted run says so in one line; status and the next sync mark it abandoned.
        report = log.debug if status == "interrupted" else log.warning
        report("could not record the end of run %s (status and the next sync will mark it abandoned): %s",
               run_id, database_reason(secondary))


def _recorded_run(engine: Engine, run_id: int) -> dict[str, Any] | None:
    try:
        return run_record(engine, run_id)
    except SQLAlchemyError:
        return None


def sync_kind(config: SyncConfig, *, stop: threading.Event | None = None,
              on_page: Callable[[RunStats], None] | None = None,
              pacer: Pacer | None = None) -> Iterator[dict[str, Any]]:
    """One kind as `harvester sync` refreshes it: the run ``config`` asks for, then, after a plain
    sync that ended well, the next instalment of the verification lap (a run of its own, scope
    ``<kind>:verify``, ``config.verify_pages`` pages, fewer if ``config.max_pages`` leaves fewer).
    Yields each run's record as it ends.

    The lap runs under the walk's lock as well as its own: a lap page fetched before another walk
    of the kind stored renames, and stored after them, would undo them. Both runs share
    ``pacer`` (one is made if none is given): the Hub's quota is the token's or the address's.

    Raises:
        HarvesterError: as `sync`; a failed walk is not followed by a lap.
    """
    pacer = pacer or Pacer()
    with _locked(config, stop) as (engine, lock):
        walk = _run(engine, config, lock_owner=lock.owner, stop=stop, on_page=on_page, pacer=pacer)
        yield walk
        lap = config.lap(pages_used=walk["pages"])
        if lap is not None and not (stop is not None and stop.is_set()):
            yield sync(lap, stop=stop, on_page=on_page, pacer=pacer)


def sync(config: SyncConfig, *, stop: threading.Event | None = None,
         on_page: Callable[[RunStats], None] | None = None, pacer: Pacer | None = None) -> dict[str, Any]:
    """Bring the catalog up to date with one listing scope; returns the run record.

    Example:
        >>> sync(SyncConfig(db_url="sqlite:///hub.db", endpoint="https://huggingface.co"))  # doctest: +SKIP

    Raises:
        HarvesterError: the run failed or was interrupted; the catalog holds every page committed
            before it, and the next run resumes from there.
    """
    with _locked(config, stop) as (engine, lock):
        return _run(engine, config, lock_owner=lock.owner, stop=stop, on_page=on_page, pacer=pacer)


@contextmanager
def _locked(config: SyncConfig, stop: threading.Event | None) -> Iterator[tuple[Engine, ScopeLock]]:
    """The catalog, opened (and migrated), with the scope's lock held and the garbage collector
    tuned for walks; database errors as ``CatalogError``."""
    engine = open_catalog(config.db_url, busy_timeout=config.busy_timeout)
    try:
        with _few_collections(), ScopeLock(engine, config.scope, ttl=config.lock_ttl) as lock:
            lock.acquire(config.wait, stop=stop)
            yield engine, lock
    except SQLAlchemyError as exc:
        raise catalog_error(engine, exc) from exc
    finally:
        engine.dispose()


_collector = threading.Lock()
_tuned: dict[str, Any] = {"syncs": 0, "threshold": None}  # syncs running in this process (threads may run several)


@contextmanager
def _few_collections() -> Iterator[None]:
    """The garbage collector runs a fourteenth as often while syncs run, and leaves alone what
    existed before the first: a page makes some hundred thousand short-lived objects and almost
    no cycles, and the default threshold (700) made 4,648 collections, 11 % of a 200,000-model
    crawl's CPU. (70,000 saved no more CPU and raised the peak RSS by 20 MB at 100,000 models.)
    The first sync to start tunes it, the last to end restores it."""
    with _collector:
        _tuned["syncs"] += 1
        if _tuned["syncs"] == 1:
            _tuned["threshold"] = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(10_000, *_tuned["threshold"][1:])
    try:
        yield
    finally:
        with _collector:
            _tuned["syncs"] -= 1
            if _tuned["syncs"] == 0:
                gc.set_threshold(*_tuned["threshold"])
                gc.unfreeze()


def _run(engine: Engine, config: SyncConfig, *, lock_owner: str, stop: threading.Event | None,
         on_page: Callable[[RunStats], None] | None, pacer: Pacer | None) -> dict[str, Any]:
    """The run itself, under the scope's lock."""
    stats = RunStats()
    policy = RetryPolicy(attempts=config.attempts, initial_wait=config.retry_wait, stop_event=stop)
    client = HubClient(config.endpoint, token=config.token, stats=stats, timeout=config.timeout, policy=policy,
                       pacer=pacer)
    mode, state = choose_mode(load_state(engine, config.scope, config.kind), config, client)
    run_id = start_run(engine, state.scope, mode, now=now(), lock_owner=lock_owner)
    tagged = logs.current_run.set({"scope": state.scope, "run_id": run_id})
    try:
        if mode == "details":
            complete = fetch_details(engine, client, config, run_id=run_id, stats=stats, stop=stop, on_page=on_page)
        elif config.reconcile or config.verify:
            complete = not _walk_in_creation_order(engine, client, config, state, run_id=run_id, stats=stats,
                                                   stop=stop, on_page=on_page).unfinished
        else:
            complete = not _walk_listing(engine, client, config, mode, state, run_id=run_id, stats=stats,
                                         stop=stop, on_page=on_page).unfinished
    except BaseException as exc:
        _record_failure(engine, run_id, exc, stats)
        if isinstance(exc, KeyboardInterrupt):  # Python's own Ctrl-C (a caller with no StopRequest): reported alike
            aborted = Interrupted("aborted: the pages not yet committed were rolled back")
            aborted.run = _recorded_run(engine, run_id)
            raise aborted from exc
        if isinstance(exc, HarvesterError):
            exc.run = _recorded_run(engine, run_id)
        raise
    finally:
        logs.current_run.reset(tagged)
    finish_run(engine, run_id, status="ok", stats=stats, complete=complete, now=now())
    return run_record(engine, run_id)
