"""The details lane: a work list, not a walk. Files and heavy fields of each repo whose sha moved.

The work list is the catalog itself (rows whose ``files_sha`` is not their ``sha``), newest first,
so an interrupted run loses at most one batch and the next run picks up the rest. Each repo is
one request to `/api/<kind>/<id>`, a model's with its Hub-computed lineage (`hub.repo_pages`
says what is asked, and how a run goes on when the Hub refuses it).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from .errors import ConfigError, Interrupted
from .hub.repo_pages import RepoPages
from .mapping import RejectedItem, RepoDetails, map_details, map_each
from .stopping import abort_flag, in_worker, wait_for
from .store import fields as field_store
from .store.clock import wall_clock
from .store.details import pending_details, store_details_page

if TYPE_CHECKING:
    from .config import SyncConfig
    from .walk import Walker

DETAILS_BATCH = 100  # repos per transaction

Allowance = Callable[[], int | None]  # the requests a run may still make (`lanes.run_allowance`); None: no bound


def fetch_details(walker: Walker, config: SyncConfig, *, allowance: Allowance = lambda: None) -> bool:
    """Fetch and store the heavy fields of due repos, ``config.details_batch`` per transaction, up
    to ``config.max_repos``, to the repos ``config.where`` selects, and while ``allowance`` (the
    requests the run may still make of the Hub's window, None: no bound) leaves one; returns
    whether no due repo is left."""
    selection = _selection(config)
    pages = _repo_pages(walker, config.kind)
    try:
        done = _fetch(walker, config, selection, pages, allowance)
    finally:
        if selection is not None:
            selection.dispose()
    if pages.asked and pages.answered:
        field_store.accepted(walker.engine, config.kind, pages.asked)  # refused a day ago, answered now
    return done


def _repo_pages(walker: Walker, kind: str) -> RepoPages:
    """The run's requests, leaving out the values the Hub refused within a day; a value refused
    during the run is recorded at once (`refused_fields`, as a listing's), for status to list."""
    engine = walker.engine
    return RepoPages(walker.client, kind, left_out=field_store.left_out(engine, kind, now=wall_clock()),
                     on_refused=lambda refused: field_store.record_refused(engine, kind, refused, now=wall_clock()))


def _selection(config: SyncConfig) -> Engine | None:
    """For ``--where``: the catalog opened read-only, where the user's expression selects the work
    list, so that it can read and nothing else (as `harvester query`); checked at once."""
    if config.where is None:
        return None
    from .read import read_only_catalog

    engine = read_only_catalog(config.db_url)
    try:
        pending_details(engine, config.kind, after=None, limit=1, where=config.where)
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise ConfigError(f"--where {config.where!r} is not a read-only SQL expression over {config.kind}: "
                          f"{reason}") from None
    return engine


def _fetch(walker: Walker, config: SyncConfig, selection: Engine | None, pages: RepoPages,
           allowance: Allowance) -> bool:
    kind, budget, after = config.kind, config.max_repos, None
    listing = selection or walker.engine

    def due_after(position: tuple | None, limit: int) -> list:
        return pending_details(listing, kind, after=position, limit=limit, where=config.where)

    while (budget is None or budget > 0) and allowance() != 0:
        due = due_after(after, min(config.details_batch, budget or config.details_batch))
        if not due:
            return True
        fetched = []
        for modified, repo_id in due:
            if walker.stopping or allowance() == 0:
                break
            fetched.append((repo_id, wait_for(in_worker(partial(pages.fetch, repo_id)), abort_flag(walker.stop))))
            after = (modified, repo_id)
        details, rejected = map_each(fetched, partial(_map_repo_page, kind))
        with walker.batch() as batch:
            store_details_page(batch, kind, details, rejected=len(rejected))
        walker.committed()
        if walker.stopping:
            raise Interrupted("stopped after the last committed batch")
        budget = None if budget is None else budget - len(fetched)
    complete = not due_after(after, 1)
    walker.stats.budget_spent = not complete and allowance() == 0
    return complete


def _map_repo_page(kind: str, fetched: tuple[str, Any]) -> tuple[str, RepoDetails]:
    """A fetched repo page under the catalog's id for it (a renamed repo's page carries its new id)."""
    repo_id, item = fetched
    if item is None:
        raise RejectedItem(f"{repo_id!r} is no longer on the Hub; a full or reconcile walk will mark it deleted")
    return repo_id, map_details(kind, item)
