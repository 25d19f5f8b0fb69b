"""Stopping a run on request: after its current page (a first Ctrl-C or SIGTERM), or at once (a
second one), without ever interrupting the catalog's own work.

An abort never raises into arbitrary code: the run stops where it waits for the Hub (every fetch
runs in a worker thread, and the run waits on it in short steps), so a page's transaction, the
recording of the run and the release of its lock always finish, and the run ends through the
ordinary `Interrupted` path: one line, exit code 130.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from .errors import Interrupted

T = TypeVar("T")
POLL = 0.05  # seconds between looks at the abort flag while a fetch is under way


class StopRequest(threading.Event):
    """Set: stop after the current page. ``abort`` set too: stop waiting for the Hub at once."""

    def __init__(self) -> None:
        super().__init__()
        self.abort = threading.Event()


def abort_flag(stop: threading.Event | None) -> threading.Event | None:
    """The abort flag of ``stop``, if it has one (a plain Event only asks to stop after a page)."""
    return getattr(stop, "abort", None)


def in_worker(fetch: Callable[[], T]) -> Future[T]:
    """Run ``fetch`` in a daemon thread (with the caller's logging context); its result or error
    comes back through the future. A daemon: an abort does not wait for a fetch it will not use."""
    future: Future[T] = Future()
    context = contextvars.copy_context()

    def work() -> None:
        try:
            future.set_result(context.run(fetch))
        except BaseException as exc:  # handed to the waiter, like a call made in its own thread
            future.set_exception(exc)

    threading.Thread(target=work, daemon=True, name="harvester-fetch").start()
    return future


def wait_for(future: Future[T], abort: threading.Event | None) -> T:
    """The future's result, unless ``abort`` is set first.

    Raises:
        Interrupted: an abort was asked while waiting.
    """
    while abort is not None:
        try:
            return future.result(timeout=POLL)
        except TimeoutError:
            if abort.is_set():
                raise Interrupted("aborted while waiting for the Hub: the page in progress was not stored") from None
    return future.result()
