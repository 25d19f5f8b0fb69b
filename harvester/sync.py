"""One run of one lane: lock, mode, walk (or work list), record; then the lap after a plain sync.

What each lane asks of the Hub and writes is in `harvester.lanes`; the page loop is
`harvester.walk`. This module opens the catalog, holds the scope's lock, records the run and
reports how it ended.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from . import logs
from .config import SyncConfig
from .errors import HarvesterError, Interrupted
from .hub.expand import Expand
from .hub.pages import HubClient
from .hub.retry import Pacer, RetryPolicy
from .kinds import KINDS, parse_groups
from .lanes import LANES, LaneSpec, Mode, follow_up, follower, read_everything
from .state import RunStats, WalkState
from .store import fields as field_store
from .store.clock import wall_clock
from .store.engine import catalog_error, database_reason, open_catalog
from .store.locks import ScopeLock
from .store.runs import finish_run, run_record, start_run
from .store.state import load_state, restart_walk
from .walk import Walker

log = logging.getLogger("harvester")


def choose_mode(spec: LaneSpec, state: WalkState, config: SyncConfig, client: HubClient) -> tuple[Mode, WalkState]:
    """The run's mode, and the state to start from (a cursor for another host is dropped)."""
    state = replace(state, creation_order=spec.creation_order)
    if spec.planner is not None and state.unfinished and not client.same_origin(state.cursor):
        log.warning("the unfinished walk was against another endpoint; starting over")
        state = replace(state, cursor=None, mode=None)
    return spec.choose_mode(state, config), state


def _record_failure(engine: Engine, run_id: int, exc: BaseException, stats: RunStats) -> None:
    """Mark the run failed or interrupted; if the catalog cannot take even that, the next run
    marks it abandoned, and the original error is what the user sees."""
    status = "interrupted" if isinstance(exc, Interrupted | KeyboardInterrupt) else "failed"
    error = (str(exc) if isinstance(exc, HarvesterError) else str(catalog_error(engine, exc))
             if isinstance(exc, SQLAlchemyError) else f"{type(exc).__name__}: {exc}")  # as the user is told it
    try:
        finish_run(engine, run_id, status=status, stats=stats, complete=False, now=wall_clock(), error=error)
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
        if read_everything(config, walk):  # it was a lap: the next one begins at the top
            restart_walk(engine, follower(config).scope)
        yield walk
        lap = follow_up(config, walk, allowance=pacer.allowance(config.budget, spent=walk["requests"]))
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
    spec = LANES[config.lane]
    if spec.field_groups:
        client.expand = walk_expand(engine, config)
    mode, state = choose_mode(spec, load_state(engine, config.scope, config.kind), config, client)
    run_id = start_run(engine, state.scope, mode, now=wall_clock(), lock_owner=lock_owner)
    walker = Walker(engine, client, run_id, stats, stop=stop, on_page=on_page, pages_per_commit=config.pages_per_commit)
    tagged = logs.current_run.set({"scope": state.scope, "run_id": run_id})
    try:
        complete = spec.run(walker, spec, config, mode, state)
    except BaseException as exc:
        _record_failure(engine, run_id, exc, stats)
        if isinstance(exc, KeyboardInterrupt):  # Python's own Ctrl-C (a caller with no StopRequest): reported alike
            aborted = Interrupted("aborted: the pages not yet committed were rolled back")
            aborted.run = _recorded_run(engine, run_id)
            raise aborted from exc
        if isinstance(exc, HarvesterError):
            exc.run = _recorded_run(engine, run_id)
        if isinstance(exc, SQLAlchemyError):  # as the user is told it, with its run record (`sync --json` prints it)
            failure = catalog_error(engine, exc)
            failure.run = _recorded_run(engine, run_id)
            raise failure from exc
        raise
    finally:
        logs.current_run.reset(tagged)
    if client.expand is not None and stats.pages:
        field_store.accepted(engine, config.kind, client.expand.values)  # asked again a day later, and answered
    finish_run(engine, run_id, status="ok", stats=stats, complete=complete, now=wall_clock())
    return run_record(engine, run_id)


def walk_expand(engine: Engine, config: SyncConfig) -> Expand:
    """What the listing walks of ``config.kind`` ask for: the fields of its chosen groups (``--fields``
    changes the choice the catalog keeps), less the values the Hub refused within a day; a value
    refused during the run is recorded at once."""
    kind, now = config.kind, wall_clock()
    chosen = None
    if config.fields is not None:
        current = field_store.stored_groups(engine, kind) or KINDS[kind].default_groups
        chosen = parse_groups(kind, config.fields, current)
    groups = field_store.choose_groups(engine, kind, chosen, now=now)
    left_out = field_store.left_out(engine, kind, now=now)
    return Expand(tuple(name for name in KINDS[kind].fields_of(tuple(groups)) if name not in left_out),
                  on_refused=lambda refused: field_store.record_refused(engine, kind, refused, now=wall_clock()))
