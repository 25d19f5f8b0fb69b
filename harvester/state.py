"""Walk state and run counters: small values that travel with each committed page."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import NamedTuple

# Incremental walks re-read this much below the watermark. The Hub's listing is served from a
# search index updated shortly after each commit, so a repo committed just before the previous
# walk began can surface late with a lastModified slightly below that walk's top; re-reading a
# few minutes costs at most about one page and leaves unchanged rows untouched. Rows below
# the overlap on the walk's last page are not stored at all (see `lanes.plan_listing_page`).
OVERLAP = timedelta(minutes=10)

# A lastModified further ahead of this machine's clock than this is a bad date, not a commit: it
# is stored as listed but never becomes a watermark, which would put every later change below
# the line of every incremental walk. Past that much skew the clock is wrong; harvester then
# re-reads more, never less.
FUTURE_SKEW = timedelta(days=1)


# A place in the Hub's creation order: (createdAt, _id), sorted by createdAt descending, ties by
# _id ascending, as the Hub sorts a `sort=createdAt` listing.
Position = tuple[datetime, str]


class Stretch(NamedTuple):
    """What a page of a walk in creation order proves: the Hub listed no repo strictly between
    ``after`` and ``before`` but those whose ``_id`` is in ``hub_ids`` (or, for items without one,
    whose id is in ``repo_ids``), when the page was asked for; a live row seen before ``since``
    whose place is in that stretch is gone from the Hub, or private."""

    after: Position
    before: Position
    hub_ids: frozenset[str]
    repo_ids: frozenset[str]
    since: datetime


@dataclass(frozen=True)
class WalkState:
    """Where one listing scope stands; persisted in the same transaction as each page."""

    scope: str
    kind: str
    cursor: str | None = None  # next-page URL of an unfinished walk
    mode: str | None = None  # the run mode that began the walk under way (`lanes.Mode`), None between walks
    started_at: datetime | None = None
    top: datetime | None = None  # newest lastModified seen when the walk began
    stop_before: datetime | None = None  # incremental walks end at the first row older than this
    pages: int = 0
    page_size: int | None = None
    watermark: datetime | None = None  # top of the last finished walk
    sweep_since: datetime | None = None  # a full walk began then; unseen rows get deleted after its catch-up
    # The walk goes by creation time (its lane's `LaneSpec.creation_order`: reconcile, the lap): no
    # repo can move past its cursor, new ones appear above it, and it says nothing of lastModified.
    # Not stored: a scope's state belongs to one lane, which sets it when the state is loaded.
    creation_order: bool = False
    # The last place a walk in creation order listed (`Position`): the next page's stretch begins there.
    position_created: datetime | None = None
    position_id: str | None = None

    @property
    def unfinished(self) -> bool:
        return self.cursor is not None

    @property
    def position(self) -> Position | None:
        """Where a walk in creation order stands: the last place its pages listed."""
        return None if self.position_created is None else (self.position_created, self.position_id or "")

    def at(self, position: Position | None) -> WalkState:
        """The same state, standing at ``position``."""
        created, hub_id = position or (None, None)
        return replace(self, position_created=created, position_id=hub_id)

    @property
    def scoped(self) -> bool:
        """Whether this walk covers a slice of its kind (filters in the scope key), not all of it."""
        return "?" in self.scope

    @property
    def sweep_pending(self) -> bool:
        """Whether a finished full walk still waits for a catch-up that can prove its deletions."""
        return self.sweep_since is not None

    def begin(self, mode: str, *, first_url: str, page_size: int, now: datetime, overlap: timedelta = OVERLAP,
              creation_order: bool = False) -> WalkState:
        """Start a walk from the top of the listing; incremental walks stop ``overlap`` below the watermark."""
        stop_before = self.watermark - overlap if mode == "incremental" and self.watermark else None
        return replace(self, cursor=first_url, mode=mode, started_at=now, top=None, stop_before=stop_before,
                       pages=0, page_size=page_size, creation_order=creation_order, position_created=None,
                       position_id=None)

    def sweep_due(self, next_url: str | None) -> datetime | None:
        """When the page about to be committed ends a walk that proves deletions, the time before
        which every row still unseen is gone from the Hub.

        That is the end of a walk in creation order (reconcile, or a lap of the whole kind:
        creation time never changes, so no row can move past its cursor), or a catch-up after a
        full walk that read everything above its line in one page: rows modified during the full
        walk had moved above its cursor, and the catch-up has seen them. Between the pages of a
        longer catch-up, such a row can be modified again and jump above the catch-up's cursor
        too, unseen by either walk.
        """
        if next_url is not None:
            return None
        if self.creation_order:
            return None if self.scoped else self.started_at
        return self.sweep_since if self.mode == "incremental" and self.pages == 0 else None

    def advance(self, *, next_url: str | None, page_size: int, newest: datetime | None) -> WalkState:
        """The state after one more page; a walk without a next page is finished.

        A finished full walk leaves a sweep pending: rows it did not see are marked deleted only
        once a catch-up after it has seen the rows that moved above its cursor meanwhile (see
        ``sweep_due``); the sweep stays pending until then.
        """
        top = self.top if self.top is not None else newest
        if next_url is None:
            if self.mode == "full" and top is not None:
                watermark = top  # a full walk saw the whole listing: its top is the truth, even if lower
            else:
                watermark = max(filter(None, (self.watermark, top)), default=None)
            # Only a walk of a whole kind proves deletions: a repo can leave a scoped listing (drop
            # the tag, move to another author) and still exist.
            if self.mode == "full":
                sweep_since = None if self.scoped else self.started_at
            else:
                sweep_since = None if self.sweep_due(next_url) is not None else self.sweep_since
            return replace(self, cursor=None, mode=None, top=None, stop_before=None, pages=self.pages + 1,
                           page_size=page_size, watermark=watermark, sweep_since=sweep_since)
        return replace(self, cursor=next_url, top=top, pages=self.pages + 1, page_size=page_size)


@dataclass
class RunStats:
    """What a run did so far; written to `sync_runs` with every page."""

    pages: int = 0
    requests: int = 0
    retries: int = 0
    rows_seen: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_rejected: int = 0
    rows_renamed: int = 0
    rows_deleted: int = 0
    samples_taken: int = 0
    # The Hub's rate-limit window as its last answer stated it (`RateLimit-Policy`, `RateLimit`).
    quota_limit: int | None = None
    quota_window: int | None = None
    quota_remaining: int | None = None
    budget_spent: bool = False  # the run stopped because it had spent its share of the window (--budget)

    def as_dict(self) -> dict[str, int | bool | None]:
        return asdict(self)

    def saw_quota(self, limit: int | None, window: int | None, remaining: int) -> None:
        """What an answer said of the rate-limit window (counted as it happens, like requests)."""
        self.quota_limit, self.quota_window, self.quota_remaining = limit, window, remaining

    def take_stored(self, after: RunStats) -> None:
        """Take the counts of a committed page from ``after``, a copy this page's store advanced.

        Requests, retries and the quota are left alone: the Hub client counts those as they happen,
        from the thread that fetches the next page too, and a copy taken before them must not undo
        them; so is ``budget_spent``, which the lane sets when it stops, between commits.
        """
        for name, value in asdict(after).items():
            if name not in _AS_THEY_HAPPEN:
                setattr(self, name, value)


    def take_as_they_happen(self, current: RunStats) -> None:
        """Take from ``current`` what the Hub client counts as it happens (the rest waits for a commit)."""
        for name in _AS_THEY_HAPPEN:
            setattr(self, name, getattr(current, name))


_AS_THEY_HAPPEN = ("requests", "retries", "quota_limit", "quota_window", "quota_remaining", "budget_spent")
