"""Fault injection for the emulator: the ways the real Hub fails a listing request.

A :class:`FaultPlan` holds scheduled faults (every Nth request, or at a seeded rate), the
gateway's page-size limit (504 above it) and a request quota per fixed window (429 with
``Retry-After`` and the IETF ``RateLimit`` headers). Faults can be given on the command line
as specs: ``502,every=5``, ``429,retry_after=1,rate=0.1``, ``drop,times=1``, ``slow=3,every=10``,
``truncate``, ``malformed``, ``missing-field``, ``foreign-link``, ``repeat-cursor``, and
``refuse-expand=gguf+safetensors`` (listings asking for those ``expand`` values answer 400, as
when the Hub retires a value; ``after=N`` starts refusing after N requests, ``times=N`` stops
after N refusals), ``refuse-repo-expand=baseModels`` (the same on a repo's page) and
``refuse-blobs-expand`` (a repo's page asked for ``expand`` beside ``blobs=true`` answers 400, as
huggingface_hub's ``model_info`` refuses the pair on its side; ``ignore-blobs-expand`` answers it
with files but no sizes). File downloads (``/resolve/``) count against a quota of their own, the
resolvers bucket.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass, field

ACTIONS = ("status", "drop", "truncate", "malformed", "slow", "missing-field", "foreign-link", "repeat-cursor",
           "refuse-expand", "refuse-repo-expand", "refuse-blobs-expand", "ignore-blobs-expand")
REFUSE_EXPAND = ("refuse-expand", "refuse-repo-expand")  # listings', repo pages': the values they refuse
BLOBS_BESIDE_EXPAND = ("refuse-blobs-expand", "ignore-blobs-expand")  # a repo page's answers to the pair
REFUSALS = (*REFUSE_EXPAND, *BLOBS_BESIDE_EXPAND)  # answers to what a request asks, not faults drawn per request


@dataclass
class Fault:
    """One scheduled way to fail: what happens, and on which requests."""

    action: str
    status: int = 0  # for action "status"
    seconds: float = 0.0  # for action "slow"
    retry_after: float | None = None  # Retry-After sent with a 429
    every: int | None = None  # fire on every Nth listing request...
    rate: float = 0.0  # ...or with this probability
    after: int = 0  # leave the first N listing requests alone
    times: int | None = None  # fire at most this many times
    fired: int = 0
    expand: frozenset[str] = frozenset()  # for actions `REFUSE_EXPAND`: the values refused

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}; expected one of {', '.join(ACTIONS)}")
        if self.action == "status" and not 400 <= self.status <= 599:
            raise ValueError(f"fault status must be an HTTP error code, got {self.status}")
        if self.action in REFUSE_EXPAND and not self.expand:
            raise ValueError(f"{self.action} needs the values to refuse, e.g. {self.action}=gguf+safetensors")

    @property
    def name(self) -> str:
        return str(self.status) if self.action == "status" else self.action

    def due(self, number: int, rng: random.Random) -> bool:
        """Whether this fault fires on listing request ``number`` (1-based)."""
        if number <= self.after or (self.times is not None and self.fired >= self.times):
            return False
        if self.every:
            return (number - self.after) % self.every == 0
        return rng.random() < self.rate


def _check_ranges(fault: Fault) -> None:
    """Refuse options under which a fault would never fire, or could not."""
    if fault.every is not None and fault.every < 1:
        raise ValueError("every must be at least 1")
    if fault.times is not None and fault.times < 1:
        raise ValueError("times must be at least 1")
    if fault.after < 0 or fault.seconds < 0 or (fault.retry_after or 0) < 0:
        raise ValueError("after, slow and retry_after cannot be negative")
    if not 0 <= fault.rate <= 1:
        raise ValueError("rate must be between 0 and 1")


def parse_fault(spec: str) -> Fault:
    """Parse a command-line fault spec such as ``502,every=5`` or ``slow=3,rate=0.1``."""
    head, *options = [part.strip() for part in spec.split(",") if part.strip()]
    name, _, value = head.partition("=")
    try:
        if name.isdigit():
            fault = Fault("status", status=int(name))
        elif name == "slow":
            fault = Fault("slow", seconds=float(value or 1))
        elif name in REFUSE_EXPAND:
            fault = Fault(name, expand=frozenset(v for v in value.split("+") if v))
        elif name in ACTIONS and name != "status":
            fault = Fault(name)
        else:
            actions = ", ".join(action for action in ACTIONS if action != "status")
            raise ValueError(f"unknown fault {name!r}; expected an HTTP status such as 502, or one of {actions}")
        for option in options:
            key, _, raw = option.partition("=")
            key = key.replace("-", "_")
            if key in ("every", "after", "times"):
                setattr(fault, key, int(raw))
            elif key in ("rate", "retry_after"):
                setattr(fault, key, float(raw))
            else:
                raise ValueError(f"unknown option {key!r}")
        _check_ranges(fault)
    except ValueError as exc:
        raise ValueError(f"bad fault spec {spec!r}: {exc}") from None
    if fault.every is None and fault.rate == 0.0:
        fault.every = 1
    return fault


@dataclass
class Quota:
    """A fixed-window request quota, like the Hub's API rate limit (bucket "api") or its file
    downloads' (bucket "resolvers")."""

    requests: int
    window: float
    bucket: str = "api"
    _started: float = field(default_factory=time.monotonic)
    _used: int = 0

    def take(self) -> tuple[bool, int, int]:
        """Count one request: (allowed, remaining, seconds until the window resets)."""
        now = time.monotonic()
        if now - self._started >= self.window:
            self._started, self._used = now, 0
        reset = max(1, math.ceil(self.window - (now - self._started)))
        if self._used >= self.requests:
            return False, 0, reset
        self._used += 1
        return True, self.requests - self._used, reset

    def headers(self, remaining: int, reset: int) -> dict[str, str]:
        return {
            "RateLimit": f'"{self.bucket}";r={remaining};t={reset}',
            "RateLimit-Policy": f'"fixed window";"{self.bucket}";q={self.requests};w={int(self.window)}',
        }


def parse_quota(spec: str, bucket: str = "api") -> Quota:
    """Parse ``REQUESTS/SECONDS`` such as ``500/300``."""
    requests, _, window = spec.partition("/")
    try:
        quota = Quota(int(requests), float(window), bucket)
    except ValueError:
        raise ValueError(f"bad quota {spec!r}: expected REQUESTS/SECONDS, e.g. 500/300") from None
    if quota.requests < 1 or quota.window <= 0:
        raise ValueError(f"bad quota {spec!r}: at least one request in a window of more than 0 seconds")
    return quota


@dataclass
class FaultPlan:
    """Everything the emulator does wrong on purpose; safe to change while it serves."""

    faults: list[Fault] = field(default_factory=list)
    max_page_size: int | None = None  # pages asking for more rows than this answer 504
    quota: Quota | None = None
    seed: int = 0
    resolver_quota: Quota | None = None  # file downloads (cards): a bucket of their own
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _count: int = field(init=False, default=0)
    _healed: threading.Event = field(init=False, default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"faults/{self.seed}")

    def add(self, fault: Fault | str) -> Fault:
        """Schedule one more fault (a :class:`Fault` or a spec string)."""
        fault = parse_fault(fault) if isinstance(fault, str) else fault
        with self._lock:
            self.faults.append(fault)
        return fault

    def refuse_expand(self, *values: str, repo_pages: bool = False) -> Fault:
        """Make listings (with ``repo_pages``, a repo's page) refuse these ``expand`` values with 400
        from now on, as when the Hub retires one."""
        action = "refuse-repo-expand" if repo_pages else "refuse-expand"
        return self.add(Fault(action, expand=frozenset(values), every=1))

    def allow_expand(self, *values: str) -> None:
        """Accept these ``expand`` values again, on listings and repo pages (undoes `refuse_expand`
        and the ``refuse-expand`` and ``refuse-repo-expand`` specs)."""
        with self._lock:
            for fault in [f for f in self.faults if f.action in REFUSE_EXPAND]:
                self.faults.remove(fault)
                if kept := fault.expand - set(values):
                    self.faults.append(Fault(fault.action, expand=kept, every=fault.every, rate=fault.rate,
                                             after=fault.after, times=fault.times, fired=fault.fired))

    def refused_expand(self, asked: set[str], *, repo_page: bool = False) -> set[str]:
        """The asked ``expand`` values a listing (with ``repo_page``, a repo's page) refuses now;
        each refusing fault counts one firing."""
        action = "refuse-repo-expand" if repo_page else "refuse-expand"
        refused: set[str] = set()
        with self._lock:
            for fault in self.faults:
                if fault.action == action and fault.expand & asked and fault.due(self._count + 1, self._rng):
                    fault.fired += 1
                    refused |= fault.expand & asked
        return refused

    def blobs_beside_expand(self) -> str | None:
        """How a repo's page asked for ``expand`` beside ``blobs=true`` answers now, if a fault says
        (a firing): ``refuse-blobs-expand`` (400) or ``ignore-blobs-expand`` (files without sizes)."""
        with self._lock:
            for fault in self.faults:
                if fault.action in BLOBS_BESIDE_EXPAND and fault.due(self._count + 1, self._rng):
                    fault.fired += 1
                    return fault.action
        return None

    def clear(self) -> None:
        """Stop injecting anything: the Hub is healthy again, and the slow answers under way go out now."""
        with self._lock:
            self.faults.clear()
            self.max_page_size = None
            self.quota = None
            self.resolver_quota = None
            healed, self._healed = self._healed, threading.Event()
        healed.set()

    def delay(self, seconds: float) -> None:
        """A slow answer's wait: ``seconds``, or until `clear` heals the Hub."""
        with self._lock:
            healed = self._healed
        healed.wait(seconds)

    def admit(self, *, resolver: bool = False) -> tuple[bool, dict[str, str], int]:
        """Count one request against its quota (the API's, or with ``resolver`` the file downloads'):
        (allowed, RateLimit headers, seconds to wait if refused)."""
        quota = self.resolver_quota if resolver else self.quota
        if quota is None:
            return True, {}, 0
        with self._lock:
            allowed, remaining, reset = quota.take()
        return allowed, quota.headers(remaining, reset), reset

    def next_fault(self) -> Fault | None:
        """Count one listing request and return the fault it suffers, if any."""
        with self._lock:
            self._count += 1
            for fault in self.faults:
                if fault.action not in REFUSALS and fault.due(self._count, self._rng):
                    fault.fired += 1
                    return fault
        return None
