"""Stopping a run on request: after its current page (a first Ctrl-C or SIGTERM), or at once (a
second one), without ever interrupting the catalog's own work.

An abort never raises into arbitrary code: the run stops where it waits for the Hub (every fetch
runs in a worker thread, and the run waits on it in short steps), so a page's transaction, the
recording of the run and the release of its lock always finish, and the run ends through the
ordinary `Interrupted` path: one line, exit code 130.
"""

from __future__ import annotations

import contextvars
import itertools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from .errors import Interrupted

T = TypeVar("T")
POLL = 0.05  # seconds between looks at the abort flag while a fetch is under way
ABORT_GRACE = 5.0  # seconds an aborted run has to record itself before a further signal ends the process
SIGNALS = (signal.SIGINT, signal.SIGTERM)
BROKEN_PIPE_EXIT = 128 + 13  # the code a shell gives a process that SIGPIPE ended, as `git log | head` does


class StopRequest(threading.Event):
    """Set: stop after the current page. ``abort`` set too: stop waiting for the Hub at once."""

    def __init__(self) -> None:
        super().__init__()
        self.abort = threading.Event()


class SignalStop:
    """Ctrl-C and SIGTERM as a `StopRequest`. The first asks the run to stop after its current
    page and writes the line ``message()`` makes; the second aborts: the run stops waiting for the Hub
    at once, then still records itself and frees its lock. Further signals are ignored while it
    does, for up to ``ABORT_GRACE`` seconds; after that, one ends the process at once (exit 130:
    the catalog is consistent, and status or the next sync marks the run abandoned).

    The handler only counts (atomically: two signals a few microseconds apart are two), sets
    flags and writes with ``os.write``: a signal never raises into the catalog's work, nor into
    a line half written.
    """

    def __init__(self, message: Callable[[], bytes]) -> None:
        self.stop = StopRequest()
        self._message = message
        self._count = itertools.count(1)
        self._aborted_at: float | None = None

    def __call__(self, signum: int, _frame: Any) -> None:
        n = next(self._count)
        if n == 1:
            self.stop.set()
            os.write(2, self._message())
        elif n == 2:
            self._aborted_at = time.monotonic()
            self.stop.abort.set()
        elif self._aborted_at is not None and time.monotonic() - self._aborted_at > ABORT_GRACE:
            os._exit(Interrupted.exit_code)


OWN_PROCESS = False  # set by `harvester.__main__.run`: harvester is the process, not a library inside one
INHERITED_SIGNALS: dict[int, Any] = {}  # the handlers the process started with (`harvester.__main__.run`)


@contextmanager
def stop_on_signals(message: Callable[[], bytes]) -> Iterator[StopRequest]:
    """Ctrl-C and SIGTERM as a `StopRequest` for the whole of a sync (see `SignalStop`), then the
    handlers from before."""
    handler = SignalStop(message)
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield handler.stop
    finally:
        # A process of its own is on its way out, its lines said: a late signal must not find the
        # default handler (a traceback, or death by the signal) in its last instants.
        for sig, previous_handler in previous.items():
            signal.signal(sig, signal.SIG_IGN if OWN_PROCESS else previous_handler)


def restore_inherited_signals() -> None:
    """Hand signals back to the handlers the process started with (for commands that stop the
    ordinary way), where `quit_quietly` stood in while the interpreter started."""
    for sig, inherited in INHERITED_SIGNALS.items():
        if signal.getsignal(sig) is quit_quietly:
            signal.signal(sig, inherited)


def quit_quietly(signum: int, _frame: Any) -> None:
    """Before a command has anything to clean up (the interpreter still starting), a signal ends
    the process at once, with the code of an interruption and no traceback."""
    os._exit(Interrupted.exit_code)


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


def wait_out(future: Future[Any], abort: threading.Event | None) -> None:
    """Wait for ``future`` to finish, unless ``abort`` is set first (its result is not wanted)."""
    while not wait([future], timeout=POLL).done:
        if abort is not None and abort.is_set():
            return


@contextmanager
def quiet_on_broken_pipe() -> Iterator[None]:
    """A command whose reader went away (``harvester changes | head -1``) ends as ``git log | head``
    does: nothing on stderr, exit code 141 (128 + SIGPIPE).

    Python's recipe (catch BrokenPipeError, point standard output at devnull, exit) rather than
    SIGPIPE's default action restored at start: that would kill a sync whose ``--json`` reader went
    away between two of the catalog's writes, its run left "running" and its lock held until taken
    over, and SIGPIPE does not exist on Windows. Here the command ends through the ordinary exit path
    (the catalog closed, a run recorded, its lock freed).
    """
    try:
        try:
            yield
        finally:
            sys.stdout.flush()  # what is still buffered fails here, not at exit ("Exception ignored ...")
    except BrokenPipeError:
        with suppress(OSError, ValueError):  # not a file (a test's captured output): nothing to redirect
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # exit's own flush goes nowhere
        sys.exit(BROKEN_PIPE_EXIT)
