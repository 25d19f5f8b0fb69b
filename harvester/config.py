"""Settings of one sync, from flags, the environment and defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from huggingface_hub import constants

from .cards import CARDS_BATCH
from .details import DETAILS_BATCH
from .errors import ConfigError
from .hub.pages import MAX_PAGE_SIZE, MIN_PAGE_SIZE
from .kinds import KINDS, parse_groups
from .lanes import LANES, Lane
from .store.transactions import PAGES_PER_COMMIT
from .where import check_where

DEFAULT_DB = "hub.db"

# The share of the Hub's rate-limit window one run may spend, the walk first, then the lap: an
# anonymous hourly run then spends 25 of its 500 requests per 5 minutes (today's walk and 12 lap
# pages took ~15), a free token 50 of 1,000, PRO 125 of 2,500, so PRO laps 2,000,000 models in
# about 17 hourly runs where 12 pages a run took 7 days (README, "Staleness"). The rest of the
# window stays for the user's other clients on the same token or address.
DEFAULT_BUDGET = 0.05


def database_url(db: str | None) -> str:
    """A SQLAlchemy URL from ``--db``, ``$HARVESTER_DB`` or ``hub.db``; a plain path means SQLite."""
    value = db or os.environ.get("HARVESTER_DB") or DEFAULT_DB
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def endpoint_url(endpoint: str | None) -> str:
    """The Hub endpoint from ``--endpoint`` or ``HF_ENDPOINT`` (the client's own setting)."""
    value = (endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")
    expected = "expected an http(s) URL such as https://huggingface.co"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - parsed on access: a port out of range or not a number raises here
    except ValueError as exc:  # a bracket left open, a port out of range or not a number
        raise ConfigError(f"bad Hub endpoint {value!r}: {exc}; {expected}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"bad Hub endpoint {value!r}: {expected}")
    if parts.username or parts.password or parts.query:
        raise ConfigError("bad Hub endpoint: give the token with --token or HF_TOKEN, not inside the URL")
    return value


def lap_pages(text: str) -> int | None:
    """``--verify-pages``: a number of pages, or ``auto`` (None: the run's budget decides)."""
    if text.strip().lower() == "auto":
        return None
    if not text.strip().isdigit():
        raise ConfigError(f"--verify-pages takes a number of pages or 'auto', not {text!r}")
    return int(text)


def window_share(text: str) -> float:
    """``--budget``: a share of the rate-limit window, as ``5%`` (or ``5``)."""
    try:
        share = float(text.strip().removesuffix("%")) / 100
    except ValueError:
        raise ConfigError(f"--budget takes a share of the window such as 5%, not {text!r}") from None
    return share


def _escape(value: str) -> str:
    """A scope value kept readable, with only the characters that could make two scopes collide escaped."""
    return value.replace("%", "%25").replace("&", "%26").replace("=", "%3D")


@dataclass(frozen=True)
class SyncConfig:
    """Everything one `harvester sync` needs to know."""

    db_url: str
    endpoint: str
    token: str | None = None  # None: the client's own (HF_TOKEN or stored login)
    kind: str = "models"
    lane: Lane = "listing"  # see `harvester.lanes`; each lane keeps its own state row ("models:verify")
    full: bool = False  # the listing lane: walk the whole listing even with a watermark
    top: int | None = None  # the stats lane: how many of the busiest repos (None: `lanes.STATS_TOP`)
    max_repos: int | None = None  # the details and cards lanes: how many repos one run fetches at most
    # pages of the lap that follow a plain sync (0: none; None or "auto": from `budget`)
    verify_pages: int | str | None = None
    budget: float | str = DEFAULT_BUDGET  # the share of the Hub's rate-limit window one run may spend ("5%" or 0.05)
    # the details and cards lanes: which repos, a read-only SQL expression over the repo row (None:
    # every due repo for details, `cards.DEFAULT_WHERE` for cards)
    where: str | None = None
    fields: str | None = None  # the listing's field groups from now on (`kinds.parse_groups`); None: as before
    author: str | None = None  # scope filters: only this slice of the Hub, with its own cursor and watermark
    search: str | None = None
    filters: tuple[str, ...] = ()
    pipeline_tag: str | None = None
    page_size: int = MAX_PAGE_SIZE
    max_pages: int | None = None
    timeout: float = 60.0
    attempts: int = 8  # tries per page before a transient failure ends the run
    retry_wait: float = 0.5  # first backoff; doubles (with jitter) on each retry
    busy_timeout: float = 30.0  # seconds to wait for another writer to release the catalog
    wait: float = 0.0  # seconds to wait for another run of the same scope to finish
    lock_ttl: float = 120.0  # seconds a scope lock outlives its holder's last renewal
    pages_per_commit: int = PAGES_PER_COMMIT  # pages committed together at most (`walk.Walker.walk`)
    details_batch: int = DETAILS_BATCH  # repos per transaction of the details lane
    cards_batch: int = CARDS_BATCH  # repos per transaction of the cards lane

    def __post_init__(self) -> None:
        if isinstance(self.verify_pages, str):  # as the command line gives them
            object.__setattr__(self, "verify_pages", lap_pages(self.verify_pages))
        if isinstance(self.budget, str):
            object.__setattr__(self, "budget", window_share(self.budget))
        if not MIN_PAGE_SIZE <= self.page_size <= MAX_PAGE_SIZE:
            raise ConfigError(f"page size {self.page_size} is out of range {MIN_PAGE_SIZE}..{MAX_PAGE_SIZE}")
        if self.kind not in KINDS:
            raise ConfigError(f"unknown repo kind {self.kind!r}: expected models, datasets or spaces")
        if self.pipeline_tag is not None and self.kind != "models":
            raise ConfigError(f"--pipeline-tag applies to models only, not to {self.kind}")
        if self.lane not in LANES:
            raise ConfigError(f"unknown lane {self.lane!r}: expected one of {', '.join(LANES)}")
        LANES[self.lane].check(self)
        if self.fields is not None:
            try:
                parse_groups(self.kind, self.fields, ())
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        if self.where is not None:
            object.__setattr__(self, "where", check_where(self.where))
        if self.verify_pages is not None and self.verify_pages < 0:
            raise ConfigError(f"--verify-pages must be 0 (no lap) or more, got {self.verify_pages}")
        if not 0 < self.budget <= 1:
            raise ConfigError(f"--budget must be more than 0% and at most 100% of the window, not {self.budget:.0%}")
        for option in ("max_repos", "top"):
            if (value := getattr(self, option)) is not None and value < 1:
                raise ConfigError(f"--{option.replace('_', '-')} must be at least 1, got {value}")
        if self.attempts < 1:
            raise ConfigError(f"retries must allow at least one attempt, got {self.attempts}")
        if self.pages_per_commit < 1 or self.details_batch < 1 or self.cards_batch < 1:
            raise ConfigError("pages per commit and repos per details batch must be at least 1")

    @property
    def scope_params(self) -> list[tuple[str, str]]:
        """The listing filters of this scope, in a canonical order."""
        params = [("author", self.author), ("search", self.search), ("pipeline_tag", self.pipeline_tag)]
        return sorted([(k, v) for k, v in params if v is not None] + [("filter", f) for f in sorted(set(self.filters))])

    @property
    def scope(self) -> str:
        """The key of this walk's state: the kind, its filters, and its lane's suffix if it has one."""
        readable = "&".join(f"{name}={_escape(value)}" for name, value in self.scope_params)
        key = f"{self.kind}?{readable}" if readable else self.kind
        suffix = LANES[self.lane].scope_suffix
        return f"{key}:{suffix}" if suffix else key

    def __repr__(self) -> str:  # never show the token
        return f"SyncConfig(db_url={self.db_url!r}, endpoint={self.endpoint!r}, kind={self.kind!r})"
