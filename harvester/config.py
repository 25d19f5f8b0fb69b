"""Settings of one sync, from flags, the environment and defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from huggingface_hub import constants

from .errors import ConfigError
from .mapping import KINDS

DEFAULT_DB = "hub.db"
MAX_PAGE_SIZE = 1000  # the Hub's cap for listings
MIN_PAGE_SIZE = 10  # the floor a 504 can shrink pages to


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


def _escape(value: str) -> str:
    """A scope value kept readable, with only the characters that could make two scopes collide escaped."""
    return value.replace("%", "%25").replace("&", "%26").replace("=", "%3D")


STATS_TOP = 10_000

# Pages of the verification lap per plain sync. Hourly runs then re-read a 2,000,000-model Hub
# (2,000 pages of 1,000) in 167 runs, just under a week, for 12 of the 500 requests an anonymous
# client may make in 5 minutes (README, "Staleness").
VERIFY_PAGES = 12


@dataclass(frozen=True)
class SyncConfig:
    """Everything one `harvester sync` needs to know."""

    db_url: str
    endpoint: str
    token: str | None = None  # None: the client's own (HF_TOKEN or stored login)
    kind: str = "models"
    full: bool = False
    reconcile: bool = False  # walk ids only to find deletions; its own cursor, scope "<kind>:reconcile"
    stats: bool = False  # the counter lane: refresh downloads/likes/trending of the top repos, sample history
    top: int | None = None  # how many repos the counter lane covers (None: STATS_TOP)
    details: bool = False  # the details lane: files and heavy fields of repos whose sha moved; scope "<kind>:details"
    verify: bool = False  # the verification lap: full items in creation order, resumed run after run; "<kind>:verify"
    verify_pages: int = VERIFY_PAGES  # pages of the lap that a plain sync adds after its walk (0: none)
    max_repos: int | None = None  # how many repos one details run fetches at most
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

    def __post_init__(self) -> None:
        if not MIN_PAGE_SIZE <= self.page_size <= MAX_PAGE_SIZE:
            raise ConfigError(f"page size {self.page_size} is out of range {MIN_PAGE_SIZE}..{MAX_PAGE_SIZE}")
        if self.kind not in KINDS:
            raise ConfigError(f"unknown repo kind {self.kind!r}: expected models, datasets or spaces")
        if self.pipeline_tag is not None and self.kind != "models":
            raise ConfigError(f"--pipeline-tag applies to models only, not to {self.kind}")
        if self.reconcile and self.scope_params:
            raise ConfigError("--reconcile walks a whole kind; it cannot be combined with scope filters")
        if self.details and self.scope_params:
            raise ConfigError("--details works through the catalog's own rows; it cannot be combined with "
                              "scope filters")
        if sum((self.full, self.reconcile, self.stats, self.details, self.verify)) > 1:
            raise ConfigError("--full, --reconcile, --stats and --details are different lanes: choose one")
        if self.verify_pages < 0:
            raise ConfigError(f"--verify-pages must be 0 (no lap) or more, got {self.verify_pages}")
        if self.max_repos is not None and not self.details:
            raise ConfigError("--max-repos applies to --details only")
        if self.max_repos is not None and self.max_repos < 1:
            raise ConfigError(f"--max-repos must be at least 1, got {self.max_repos}")
        if self.top is not None and not self.stats:
            raise ConfigError("--top applies to --stats only")
        if self.top is not None and self.top < 1:
            raise ConfigError(f"--top must be at least 1, got {self.top}")
        if self.attempts < 1:
            raise ConfigError(f"retries must allow at least one attempt, got {self.attempts}")

    @property
    def stats_top(self) -> int:
        """How many of the busiest repos the counter lane covers."""
        return STATS_TOP if self.top is None else self.top

    @property
    def scope_params(self) -> list[tuple[str, str]]:
        """The listing filters of this scope, in a canonical order."""
        params = [("author", self.author), ("search", self.search), ("pipeline_tag", self.pipeline_tag)]
        return sorted([(k, v) for k, v in params if v is not None] + [("filter", f) for f in sorted(set(self.filters))])

    @property
    def scope(self) -> str:
        """The key of this walk's state: the kind, its filters, and its lane unless it is the listing."""
        readable = "&".join(f"{name}={_escape(value)}" for name, value in self.scope_params)
        key = f"{self.kind}?{readable}" if readable else self.kind
        lane = next((name for name in ("reconcile", "stats", "details", "verify") if getattr(self, name)), None)
        return f"{key}:{lane}" if lane else key

    @property
    def plain(self) -> bool:
        """Whether this is a plain sync: the incremental listing walk, no lane flag."""
        return not (self.full or self.reconcile or self.stats or self.details or self.verify)

    def lap(self, *, pages_used: int = 0) -> SyncConfig | None:
        """The instalment of the verification lap that follows a plain sync whose walk took
        ``pages_used`` pages, if it has a budget left (``max_pages`` counts the lap's pages too)."""
        budget = self.verify_pages if self.max_pages is None else min(self.verify_pages, self.max_pages - pages_used)
        if not self.plain or budget <= 0:
            return None
        return replace(self, verify=True, max_pages=budget)

    def __repr__(self) -> str:  # never show the token
        return f"SyncConfig(db_url={self.db_url!r}, endpoint={self.endpoint!r}, kind={self.kind!r})"
