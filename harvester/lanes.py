"""The lanes of a sync, as data: what each asks of the Hub, how it plans a page, what it writes.

A lane is one frozen `LaneSpec`; nothing outside this module tells lanes apart by name.

    listing    the listing walk, newest lastModified first, in one of three modes:
                 full         no watermark yet, or --full: the whole listing;
                 incremental  from the top down to the watermark (less ``state.OVERLAP``);
                 resume       an unfinished walk goes on from its cursor.
               A full or resumed walk then catches up with the rows that moved above its cursor.
    verify     the verification lap, after every plain sync: full items in creation order, a few
               pages per run (``--verify-pages``), resumed run after run. It re-reads what the Hub
               changes without a commit, and a finished lap marks unseen repos deleted.
    reconcile  --reconcile: ids only, in creation order, to find deleted repos cheaply.
    stats      --stats: the busiest repos' counters, refreshed, with a sample of their history.
    details    --details: no walk, a work list (`harvester.details`): files and heavy fields of
               each repo whose sha moved since they were last fetched.
    cards      --cards: a work list too (`harvester.cards`): the README of each repo ``--where``
               selects whose sha moved since it was read, in the Hub's resolvers bucket.

Adding a lane is a spec in ``LANES``, its page planner here (or a work list of its own, as
details has), and its writer in ``store/`` (CONTRIBUTING.md, "Add a lane").
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Literal, NamedTuple

from . import cards, details, walk
from .hub.pages import HubClient, Page, listing_url
from .kinds import KINDS
from .mapping import Listed, MappedRow, listed, map_counters, map_each, map_page, parse_hub_time
from .state import FUTURE_SKEW, Position, RunStats, Stretch, WalkState
from .store import loading
from .store.clock import wall_clock
from .store.counters import store_stats_page
from .store.repos import store_page, store_seen_page
from .store.runs import rows_read_in_walk
from .store.transactions import PageBatch

if TYPE_CHECKING:
    from .config import SyncConfig
    from .walk import Walker

log = logging.getLogger("harvester")

Lane = Literal["listing", "verify", "reconcile", "stats", "details", "cards"]
Mode = Literal["full", "incremental", "resume", "verify", "reconcile", "stats", "details", "cards"]

STATS_TOP = 10_000  # repos the stats lane covers unless --top says otherwise

# Pages of the verification lap per plain sync where the Hub states no quota (where it does, the
# run's --budget decides, `follow_up`). Hourly runs then re-read 2,000,000 models (2,000 pages of
# 1,000) in 167 runs, just under a week, for 12 of the 500 requests an anonymous client may make
# in 5 minutes.
VERIFY_PAGES = 12


class PlannedPage(NamedTuple):
    """A fetched page ready to store: the walk's state after it, and the write that stores the
    page with that state as its checkpoint, in a ``PageBatch``."""

    state: WalkState
    store: Callable[[PageBatch], None]


PagePlanner = Callable[[Page, WalkState, RunStats], PlannedPage]


@dataclass(frozen=True)
class LaneSpec:
    """One lane of `harvester sync`: every question the run, the CLI and status ask of it."""

    name: Lane
    flag: str | None  # the option of `harvester sync` that chooses it; None: chosen without one
    scope_suffix: str | None  # its state row is "<scope>:<suffix>" ("models:verify"); None: the scope itself
    choose_mode: Callable[[WalkState, SyncConfig], Mode]
    run: Callable[[Walker, LaneSpec, SyncConfig, Mode, WalkState], bool]  # returns whether the work is complete
    planner: Callable[[SyncConfig], PagePlanner] | None = None  # a walk's pages; None: a work list
    sort: Callable[[str], str] | None = None  # the listing's sort, per kind
    fields: Callable[[str], tuple[str, ...]] = lambda kind: ()  # the expand values it asks for, per kind
    field_groups: bool = False  # it asks for the kind's chosen field groups (`store.fields`), not just `fields`
    creation_order: bool = False  # no repo moves past its cursor; a walk of a whole kind that ends proves deletions
    ends_within_page: bool = False  # a page's items may end the walk: nothing is fetched ahead before they are read
    scope_refusal: str | None = None  # why it refuses scope filters (--author ...); None: it accepts them
    options: tuple[str, ...] = ()  # settings of `SyncConfig` that only this lane takes
    takes_full: bool = False  # --full is one of its modes
    followed_by: Lane | None = None  # the lane whose next instalment follows a plain run of this one
    # Its place in --budget's order after the walk and its lap (1: stats, 2: details; `run_allowance`).
    # None: --budget does not bound its runs (the walk is never starved; the lap's pages are its walk's run's).
    budget_rank: int | None = None
    bound: str | None = None  # the option that, given, bounds a run instead of --budget ("top")
    outcome: tuple[str, str] = ("walk complete", "walk unfinished (resumable)")  # a run's end: complete, or not

    def first_url(self, config: SyncConfig) -> str:
        """The first page of a walk of this lane."""
        assert self.sort is not None, f"{self.name} is a work list, not a walk"
        params = [("sort", self.sort(config.kind)), *config.scope_params,
                  *(("expand", name) for name in self.fields(config.kind))]
        return listing_url(config.endpoint, config.kind, params)

    def begin(self, config: SyncConfig, state: WalkState, mode: Mode, *, page_size: int | None = None,
              **walk: object) -> WalkState:
        """A walk of this lane from the top of its listing."""
        return state.begin(mode, first_url=self.first_url(config), page_size=page_size or config.page_size,
                           now=wall_clock(), creation_order=self.creation_order, **walk)

    def check(self, config: SyncConfig) -> None:
        """Raise `ConfigError` for settings this lane does not take (the messages name the options)."""
        from .errors import ConfigError

        if config.full and not self.takes_full:
            raise ConfigError(f"{_listed(_LANE_OPTIONS, 'and')} are different lanes: choose one")
        if self.scope_refusal and config.scope_params:
            raise ConfigError(self.scope_refusal)
        for lane in LANES.values():
            for option in lane.options:
                if option not in self.options and getattr(config, option) is not None:
                    takers = [str(spec.flag) for spec in LANES.values() if option in spec.options]
                    raise ConfigError(f"--{option.replace('_', '-')} applies to {_listed(takers, 'and')} only")
        if config.fields is not None and not self.field_groups:
            raise ConfigError(f"--fields applies to the listing walks, not to {_listed(_LANE_OPTIONS[1:], 'or')}")
        if config.verify_pages is not None and (self.followed_by is None or config.full):
            raise ConfigError(f"--verify-pages applies to a plain sync only, not to {_listed(_LANE_OPTIONS, 'or')}")


# --- modes ----------------------------------------------------------------------------------------

def _listing_mode(state: WalkState, config: SyncConfig) -> Mode:
    if state.unfinished and not config.full:
        return "resume"
    return "full" if config.full or state.watermark is None else "incremental"


def _resumable(name: Mode) -> Callable[[WalkState, SyncConfig], Mode]:
    """A walk of its own that says "resume" when it goes on from a cursor (reconcile, stats)."""
    return lambda state, config: "resume" if state.unfinished else name


def _always(name: Mode) -> Callable[[WalkState, SyncConfig], Mode]:
    return lambda state, config: name


# --- planners -------------------------------------------------------------------------------------

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


# A stretch proves deletions of rows no walk saw since its page was asked for, less this much: a
# writer on another host (a scoped walk, reconcile) whose clock is behind this one may have seen a
# repo after the request and stamped it earlier. Hosts kept by NTP agree within milliseconds; a row
# seen within the margin is left for the lap's end or the next lap.
SEEN_MARGIN = timedelta(seconds=2)


def page_stretch(page: Page, state: WalkState,
                 keys: Listed | None = None) -> tuple[Stretch | None, Position | None]:
    """What a page of a walk in creation order proves (see `Stretch`), and the last place it
    listed; ``keys``: the page's `listed` keys, if the caller has them already. Only a walk of a
    whole kind proves deletions (a repo can leave a scoped listing and still exist), and only from
    items in the Hub's order: a page whose items are not is logged and proves nothing."""
    if not state.creation_order or state.scoped or page.requested_at is None:
        return None, state.position
    places = [(created, item["_id"]) for item in page.items if isinstance(item, dict)
              and isinstance(item.get("_id"), str) and (created := _created(item)) is not None]
    if not places:
        return None, state.position
    if any(_order(later) < _order(earlier) for earlier, later in itertools.pairwise(places)):
        log.warning("a page in creation order lists its repos out of order; it proves no deletion")
        return None, places[-1]
    keys = keys or listed(page.items)
    stretch = Stretch(after=state.position or places[0], before=places[-1], hub_ids=frozenset(keys.hub_ids),
                      repo_ids=frozenset(keys.repo_ids), since=page.requested_at - SEEN_MARGIN)
    return stretch, places[-1]


def _created(item: dict) -> datetime | None:
    try:
        return parse_hub_time(item.get("createdAt"))
    except (TypeError, ValueError):
        return None


def _order(place: Position) -> tuple[float, str]:
    """A sort key of the Hub's creation order: createdAt descending, then ``_id`` ascending."""
    return -place[0].timestamp(), place[1]


def plan_listing_page(page: Page, state: WalkState, stats: RunStats) -> PlannedPage:
    """Map a page of full items for upsert; an incremental walk ends at the first row it already had."""
    rows, rejected = map_page(state.kind, page.items)
    newest = None if state.creation_order else _newest(rows, horizon=wall_clock() + FUTURE_SKEW)
    next_url = page.next_url
    if state.stop_before is not None and any(_below(row, state.stop_before) for row in rows):
        # The walk ends on this page. Rows below its line were stored by earlier walks: marking
        # them seen would rewrite up to a page of rows all over the table for nothing.
        next_url = None
        rows = [row for row in rows if not _below(row, state.stop_before)]
    sweep_since = state.sweep_due(next_url)
    stretch, position = page_stretch(page, state)
    state = state.advance(next_url=next_url, page_size=page.page_size, newest=newest).at(position)
    # A rejected item's repo is still listed: it must count as seen, or a deletion sweep would take it for gone.
    return PlannedPage(state, partial(store_page, rows=rows, rejected=len(rejected), listed=listed(rejected),
                                      state=state, sweep_since=sweep_since, stretch=stretch))


def plan_reconcile_page(page: Page, state: WalkState, stats: RunStats) -> PlannedPage:
    """Mark the repos of a page of ids as seen (by hub_id, so renamed repos count as seen; by repo
    id for an item without one)."""
    keys = listed(page.items)
    if len(keys.hub_ids) < len(page.items):
        log.warning("%d items without an _id: their repos are matched by id", len(page.items) - len(keys.hub_ids))
    sweep_since = state.sweep_due(page.next_url)
    stretch, position = page_stretch(page, state, keys)
    state = state.advance(next_url=page.next_url, page_size=page.page_size, newest=None).at(position)
    return PlannedPage(state, partial(store_seen_page, listed=keys, rejected=len(page.items) - len(keys.hub_ids),
                                      state=state, sweep_since=sweep_since, stretch=stretch))


def plan_stats_page(page: Page, state: WalkState, stats: RunStats, *, top: int) -> PlannedPage:
    """Refresh the counters of a page of the busiest repos; the walk ends after ``top`` repos
    (``stats`` counts the pages before this one, committed or not)."""
    items = page.items[: max(0, top - stats.rows_seen)]  # exactly the top repos, not the rest of a page
    counters, rejected = map_each(items, partial(map_counters, state.kind))
    done = stats.rows_seen + len(items) >= top
    state = state.advance(next_url=None if done else page.next_url, page_size=page.page_size, newest=None)
    return PlannedPage(state, partial(store_stats_page, counters=counters, rejected=len(rejected), state=state))


def _top(config: SyncConfig) -> int:
    return STATS_TOP if config.top is None else config.top


def _stats_planner(config: SyncConfig, *, done: int = 0) -> PagePlanner:
    """The stats walk's pages, ``done`` of its top repos read by earlier runs."""
    return partial(plan_stats_page, top=_top(config) - done)


# --- runs -----------------------------------------------------------------------------------------

def run_allowance(spec: LaneSpec, config: SyncConfig, client: HubClient) -> Callable[[], int | None]:
    """What a run of ``spec`` may still spend of the Hub's window, asked again as it goes (the
    window is known from the first answer on): its --budget share less what it spent, never into
    the reserve nor into the shares of the lanes before it (`Pacer.allowance`). None: no bound,
    for a lane --budget does not bound, an explicit bound (--top, --max-repos: as --verify-pages
    for the lap; the pacer still waits out a spent window rather than meet a 429), or a Hub that
    states no quota.

    These lanes run as commands of their own, often a minute after a plain sync in the same
    window. So the order is kept by what each leaves, not by when it runs: stats stops while a
    plain sync's share is still in the window, details while a stats run's is too; as the window
    runs low details gives way first, then stats, then the lap; the walk never does."""
    if spec.budget_rank is None or (spec.bound is not None and getattr(config, spec.bound) is not None):
        return lambda: None
    return lambda: client.pacer.allowance(config.budget, spent=client.stats.requests, leave=spec.budget_rank)


def _walk_from_cursor(walker: Walker, spec: LaneSpec, config: SyncConfig, mode: Mode, state: WalkState, *,
                      plan: PagePlanner | None = None) -> bool:
    """A walk of its own (the lap, reconcile, stats): it goes on from its cursor, or begins at the
    top; within the run's allowance, if its lane has one (a spent window: not one request)."""
    allowance = run_allowance(spec, config, walker.client)
    if not state.unfinished:
        state = spec.begin(config, state, spec.name)
    if allowance() != 0:
        state = walker.walk(state, plan or _planner(spec, config), max_pages=config.max_pages,
                            ends_within_page=spec.ends_within_page, allowance=allowance)
    walker.stats.budget_spent = state.unfinished and allowance() == 0
    return not state.unfinished


def _walk_stats(walker: Walker, spec: LaneSpec, config: SyncConfig, mode: Mode, state: WalkState) -> bool:
    """The stats walk down to --top, counting the repos that earlier runs of a resumed walk read;
    a walk that read them all already begins again."""
    done = rows_read_in_walk(walker.engine, state.scope, state.started_at) if state.unfinished else 0
    if done >= _top(config):
        state, done = spec.begin(config, state, spec.name), 0
    return _walk_from_cursor(walker, spec, config, mode, state, plan=_stats_planner(config, done=done))


def _walk_listing(walker: Walker, spec: LaneSpec, config: SyncConfig, mode: Mode, state: WalkState) -> bool:
    """The listing walk in ``mode``, with the catch-ups it needs (`walk.walk_listing`). The first
    walk of an empty kind is a bulk load (`store.loading`): its indexes are built once it ends."""
    engine, kind = walker.engine, config.kind
    loads = loading.defer_for_first_walk(engine, kind, now=wall_clock()) if mode == "full" else \
        len(loading.pending(engine, kind))
    walker.loading = bool(loads)
    try:
        finished = not walk.walk_listing(walker, state, mode, begin=partial(spec.begin, config),
                                         plan=_planner(spec, config), max_pages=config.max_pages).unfinished
    finally:
        walker.loading = False
    if finished and loads:
        loading.build_deferred(engine, kind)
    return finished


def _fetch_details(walker: Walker, spec: LaneSpec, config: SyncConfig, mode: Mode, state: WalkState) -> bool:
    return details.fetch_details(walker, config, allowance=run_allowance(spec, config, walker.client))


def _fetch_cards(walker: Walker, spec: LaneSpec, config: SyncConfig, mode: Mode, state: WalkState) -> bool:
    return cards.fetch_cards(walker, config)


def _planner(spec: LaneSpec, config: SyncConfig) -> PagePlanner:
    assert spec.planner is not None, f"{spec.name} is a work list, not a walk"
    return spec.planner(config)


def _listing_fields(kind: str) -> tuple[str, ...]:
    return KINDS[kind].core_fields  # a run asks for its chosen groups' fields on top (`HubClient.expand`)


LANES: dict[Lane, LaneSpec] = {spec.name: spec for spec in (
    LaneSpec("listing", None, None, _listing_mode, _walk_listing, planner=lambda config: plan_listing_page,
             sort=lambda kind: "lastModified", fields=_listing_fields, field_groups=True, takes_full=True,
             followed_by="verify"),
    LaneSpec("verify", None, "verify", _always("verify"), _walk_from_cursor,
             planner=lambda config: plan_listing_page, sort=lambda kind: "createdAt", fields=_listing_fields,
             field_groups=True, creation_order=True, outcome=("lap complete", "lap goes on next run")),
    LaneSpec("reconcile", "--reconcile", "reconcile", _resumable("reconcile"), _walk_from_cursor,
             planner=lambda config: plan_reconcile_page, sort=lambda kind: "createdAt",
             fields=lambda kind: ("createdAt",), creation_order=True,
             scope_refusal="--reconcile walks a whole kind; it cannot be combined with scope filters"),
    LaneSpec("stats", "--stats", "stats", _resumable("stats"), _walk_stats, planner=_stats_planner,
             sort=lambda kind: KINDS[kind].busiest_first, fields=lambda kind: KINDS[kind].counters,
             ends_within_page=True, options=("top",), budget_rank=1, bound="top"),
    LaneSpec("details", "--details", "details", _always("details"), _fetch_details,
             scope_refusal="--details works through the catalog's own rows; it cannot be combined with scope "
                           "filters",
             options=("max_repos", "where"), budget_rank=2, bound="max_repos",
             outcome=("no repo left due", "more repos due: the next run goes on")),
    LaneSpec("cards", "--cards", "cards", _always("cards"), _fetch_cards,
             scope_refusal="--cards works through the catalog's own rows (choose them with --where); it cannot be "
                           "combined with scope filters",
             options=("max_repos", "where"), outcome=("no card left due", "more cards due: the next run goes on")),
)}
LAP = LANES["verify"]  # the verification lap, whose progress status reports per kind
_LANE_OPTIONS = ["--full", *(spec.flag for spec in LANES.values() if spec.flag)]  # each asks for a lane of its own


def _listed(words: list[str], conjunction: str) -> str:
    """``a, b and c``."""
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}" if len(words) > 1 else words[0]


def lane_of(*, full: bool = False, **flags: bool) -> Lane:
    """The lane that `harvester sync`'s flags choose (``reconcile=True`` ...), the listing without one.

    Raises:
        ConfigError: two flags that each ask for a lane of their own (--full counts among them).
    """
    from .errors import ConfigError

    chosen = [name for name, spec in LANES.items() if spec.flag and flags.get(name)]
    if len(chosen) + full > 1:
        raise ConfigError(f"{_listed(_LANE_OPTIONS, 'and')} are different lanes: choose one")
    return chosen[0] if chosen else "listing"


def outcome(mode: str, complete: bool, budget_spent: bool = False) -> str:
    """How a run of ``mode`` ended, in its lane's words ("lap goes on next run"), and whether its
    --budget share of the window ended it ("budget spent, more repos due: ...")."""
    spec = next((spec for spec in LANES.values() if spec.name == mode), LANES["listing"])
    words = spec.outcome[0 if complete else 1]
    return f"budget spent, {words}" if budget_spent and not complete else words


def read_everything(config: SyncConfig, run: dict) -> bool:
    """Whether a run that ended well read every repo of its kind whole, as a lap does: a full
    listing walk of the whole kind that finished (its catch-up saw what moved meanwhile)."""
    return LANES[config.lane].followed_by is not None and not config.scope_params and run["mode"] == "full" \
        and run["complete"]


def follow_up(config: SyncConfig, run: dict, *, allowance: int | None = None) -> SyncConfig | None:
    """The run that follows ``run``, a run of ``config`` that ended well: the next instalment of
    the verification lap after a plain sync, if it has a budget left. Its pages: ``--verify-pages``
    if given, else what the run may still spend of the Hub's window (``allowance``: `Pacer.allowance`
    at ``config.budget``), else `VERIFY_PAGES` where the Hub states no quota; ``max_pages``
    counts the lap's pages too. None after a walk that read everything: it was a lap
    (`read_everything`), and no run reads a page twice."""
    lane = follower(config)
    if lane is None or config.full or read_everything(config, run):
        return None
    pages = config.verify_pages if config.verify_pages is not None else (
        VERIFY_PAGES if allowance is None else allowance)
    budget = pages if config.max_pages is None else min(pages, config.max_pages - run["pages"])
    return replace(lane, max_pages=budget) if budget > 0 else None


def follower(config: SyncConfig) -> SyncConfig | None:
    """The settings of the lane that follows runs of ``config``'s lane (the lap, after the listing walk)."""
    lane = LANES[config.lane].followed_by
    return None if lane is None else replace(config, lane=lane, full=False, verify_pages=None)
