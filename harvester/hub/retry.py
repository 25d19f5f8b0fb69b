"""The retry policy for one page fetch, and pacing from the Hub's rate-limit headers.

Retried (the reasons, all in one place): HTTP 429, 500, 502, 503 and 504; timeouts, refused and
dropped connections; a 200 whose body is not a listing (truncated or garbled by a proxy).
Everything else fails at once. A 429 or 503 with ``Retry-After`` waits that long; other retries
back off exponentially with jitter. Attempts and total waiting are both bounded. A connection
refused (or a host name the resolver cannot look up yet) before anything at the endpoint has
answered in this run is a wrong endpoint far more often than a busy Hub: it is retried for
``unreached_wait`` seconds only, not for the whole budget.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from huggingface_hub.utils import RateLimitInfo, parse_ratelimit_headers
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay
from tenacity.wait import wait_exponential_jitter

from ..errors import Interrupted

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
T = TypeVar("T")


class TransientError(Exception):
    """A failure worth another try: a transient status, a dropped connection, a garbled body."""

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None,
                 malformed: bool = False, unreached: bool = False) -> None:
        super().__init__(reason)
        self.status = status
        self.retry_after = retry_after
        self.malformed = malformed
        self.unreached = unreached  # no connection could be made, and nothing at the endpoint has answered yet


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the Hub sends seconds; HTTP dates are ignored)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def interruptible_sleep(stop: threading.Event | None) -> Callable[[float], None]:
    """A sleep that ends early, raising Interrupted, when ``stop`` is set (Ctrl-C, SIGTERM)."""

    def sleep(seconds: float) -> None:
        if stop is None:
            threading.Event().wait(seconds)
        elif stop.wait(seconds):
            raise Interrupted("stopped while waiting to retry")

    return sleep


@dataclass
class RetryPolicy:
    """How hard to try one request before giving up."""

    attempts: int = 8
    max_wait: float = 60.0  # longest single wait, Retry-After included
    total_wait: float = 900.0  # give up once this much time has passed on one request
    # how long an endpoint that never answered may keep refusing: a Hub restarting behind its proxy
    # is back within seconds, while a wrong --endpoint took 66 s of the whole budget to be reported
    unreached_wait: float = 5.0
    initial_wait: float = 0.5
    stop_event: threading.Event | None = None
    _backoff: wait_exponential_jitter = field(init=False)
    sleep: Callable[[float], None] = field(init=False)

    def __post_init__(self) -> None:
        # jitter in proportion to the first wait (tenacity's default is a flat second)
        self._backoff = wait_exponential_jitter(multiplier=self.initial_wait, jitter=self.initial_wait,
                                                max=self.max_wait)
        self.sleep = interruptible_sleep(self.stop_event)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TransientError) and error.retry_after is not None:
            return min(error.retry_after, self.max_wait)
        return self._backoff(state)

    def _unreached_too_long(self, state: RetryCallState) -> bool:
        """Whether the next try would come after ``unreached_wait`` of an endpoint that never answered."""
        error = state.outcome.exception() if state.outcome else None
        return (isinstance(error, TransientError) and error.unreached
                and state.seconds_since_start + state.upcoming_sleep > self.unreached_wait)

    def call(self, fetch: Callable[[], T], *, on_retry: Callable[[TransientError, float, int], None]) -> T:
        """Run ``fetch`` until it succeeds, raises a non-transient error, or the budget runs out;
        before each wait, ``on_retry(error, seconds to wait, attempts made)``.

        Raises:
            TransientError: the last transient failure, once attempts or time are used up.
        """
        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            wait=self._wait,
            stop=stop_after_attempt(self.attempts) | stop_after_delay(self.total_wait) | self._unreached_too_long,
            before_sleep=lambda state: on_retry(state.outcome.exception(), state.next_action.sleep,
                                                state.attempt_number),
            sleep=self.sleep,
            reraise=True,
        )
        return retrying(fetch)


@dataclass
class Pacer:
    """Slows requests down as the Hub's rate-limit window runs low, before it answers 429, and
    says how much of the window a run may still spend (`allowance`).

    The quota belongs to the token or the address, not to one walk: the runs of one command
    (every kind, the listing walk and its lap) share one pacer, so that the next run does not
    start blind into a window the last one used up.
    """

    reserve: float = 0.1  # start spreading requests out when under this share of the quota is left
    _delay: float = 0.0
    quota: RateLimitInfo | None = None  # what the last answer said of the window
    _observed: float = 0.0  # when (time.monotonic)

    def wait(self, sleep: Callable[[float], None]) -> None:
        """Sleep (with ``sleep``) as long as the last response asked, before the next request."""
        delay, self._delay = self._delay, 0.0
        if delay > 0:
            sleep(delay)

    def observe(self, headers) -> RateLimitInfo | None:
        """Read ``RateLimit``/``RateLimit-Policy`` from a response, plan the next delay, and return them."""
        info = parse_ratelimit_headers(headers)
        if info is None:
            return None
        self.quota, self._observed = info, time.monotonic()
        if info.remaining <= 0:
            self._delay = float(info.reset_in_seconds)
        elif info.limit and info.remaining < info.limit * self.reserve:
            self._delay = info.reset_in_seconds / (info.remaining + 1)
        return info

    def allowance(self, share: float, *, spent: int, leave: int = 0) -> int | None:
        """How many more requests a run that made ``spent`` may make: ``share`` of the window, less
        what it spent, and never into the reserve this pacer keeps of what is left of the window
        now (another client on the same token or address may have used it), nor into ``leave``
        runs' shares of it, kept for the runs that come first in --budget's order (a details run
        leaves a plain sync's and a stats run's: `lanes.LaneSpec.budget_rank`). A run alone in a
        fresh window still gets its own share (up to what the reserve leaves). None when the Hub
        announced no quota."""
        info = self.quota
        if info is None or not info.limit:
            return None
        renewed = time.monotonic() - self._observed >= info.reset_in_seconds
        left = info.limit if renewed else info.remaining
        own, reserve = int(share * info.limit), math.ceil(info.limit * self.reserve)
        kept = reserve + min(leave * own, max(0, info.limit - reserve - own))
        return max(0, min(own - spent, left - kept))
