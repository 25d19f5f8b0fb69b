"""Scope locks: at most one sync per scope at a time, across processes and machines.

A lock is a row in ``sync_locks``, so it lives wherever the catalog lives. Its holder renews
it from a heartbeat thread and inside every page's transaction (a page is never committed under
a lock that was lost). A lock whose holder stopped renewing is taken over once it has expired,
or at once when its holder was a process on this host that no longer exists.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..errors import Interrupted, Locked, LockLost
from .clock import utc
from .dialect import upsert_capable_insert
from .engine import database_reason
from .schema import sync_locks

log = logging.getLogger("harvester")
DEFAULT_TTL = 120.0  # seconds a lock outlives its holder's last renewal
_HELD: set[str] = set()  # owners of the locks this process holds now


def now() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=1)
def this_host() -> str:
    """This machine, with its PID namespace where it has one: two containers that share a
    hostname (and maybe a pid) must not take each other's process for dead."""
    name = socket.gethostname()
    try:
        return f"{name} (pid ns {os.stat('/proc/self/ns/pid').st_ino})"
    except OSError:
        return name


class ScopeLock:
    """The lock of one scope, held between ``acquire`` and ``release``."""

    def __init__(self, engine: Engine, scope: str, *, ttl: float = DEFAULT_TTL,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.engine = engine
        self.scope = scope
        self.ttl = ttl
        self.owner = uuid.uuid4().hex
        self._sleep = sleep
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._tried = False

    def acquire(self, wait: float = 0.0, stop: threading.Event | None = None) -> None:
        """Take the lock, waiting up to ``wait`` seconds for its holder to finish, unless ``stop`` is set.

        Raises:
            Locked: another run still holds it after ``wait`` seconds.
            Interrupted: ``stop`` was set while waiting.
        """
        deadline = time.monotonic() + wait
        self._tried = True  # from here on the row may exist, even if an abort comes before we know it
        waiting = False
        while (holder := self._try()) is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                advice = (f"it still held it after {wait:g} s of waiting" if wait > 0
                          else "try again later, or wait for it with --wait SECONDS")
                raise Locked(f"another run holds {self.scope!r}: {_describe(holder)}; {advice}")
            if not waiting:
                log.info("waiting up to %g s for another run to release %r: %s", wait, self.scope, _describe(holder))
                waiting = True
            if stop is not None and stop.is_set():
                raise Interrupted(f"stopped while waiting for another run to release {self.scope!r}")
            self._sleep(min(1.0, left))
        _HELD.add(self.owner)
        self._heartbeat = threading.Thread(target=self._beat, name=f"lock {self.scope}", daemon=True)
        self._heartbeat.start()

    def _try(self) -> dict[str, Any] | None:
        """Take the lock if it is free or stale; else return its holder."""
        mine = {"scope": self.scope, "owner": self.owner, "host": this_host(), "pid": os.getpid(),
                "run_id": None, "ttl_seconds": self.ttl, "acquired_at": now(),
                "expires_at": now() + timedelta(seconds=self.ttl)}
        with self.engine.begin() as conn:
            insert = upsert_capable_insert(conn.dialect, sync_locks).values(mine)
            inserted = insert.on_conflict_do_nothing(index_elements=["scope"]).returning(sync_locks.c.owner)
            if conn.execute(inserted).first() is not None:  # rowcount is -1 here with psycopg
                return None
            holder = conn.execute(select(sync_locks).where(sync_locks.c.scope == self.scope)).mappings().first()
            if holder is None or not holder_gone(holder):
                return dict(holder) if holder else {}
            taken = conn.execute(update(sync_locks).where(sync_locks.c.scope == self.scope,
                                                          sync_locks.c.owner == holder["owner"]).values(mine))
            if taken.rowcount:
                log.warning("took over the lock of %r from %s", self.scope, _describe(holder))
                return None
            return dict(holder)

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 4):
            try:
                with self.engine.begin() as conn:
                    renewed = conn.execute(update(sync_locks).where(
                        sync_locks.c.scope == self.scope, sync_locks.c.owner == self.owner,
                    ).values(expires_at=now() + timedelta(seconds=self.ttl))).rowcount
            except SQLAlchemyError as exc:  # busy or briefly unreachable: the next beat tries again
                log.debug("could not renew the lock of %r: %s", self.scope, exc)
                continue
            if not renewed:
                return  # lost: the next page's commit says so and stops the run

    def release(self, *, quiet: bool = False) -> None:
        """Delete the lock row; if the catalog refuses now, it expires by itself (and, this
        process gone, is taken over at once on this host). ``quiet``: say nothing of that (an
        interrupted run ends in one line)."""
        if not self._tried:
            return
        _HELD.discard(self.owner)
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(sync_locks).where(sync_locks.c.scope == self.scope,
                                                      sync_locks.c.owner == self.owner))
        except SQLAlchemyError as exc:  # it expires by itself
            # A lock never known to be taken (its insert failed: the real error follows) is not
            # worth a line of its own.
            report = log.warning if self._heartbeat is not None and not quiet else log.debug
            report("could not release the lock of %r (it expires by itself): %s", self.scope, database_reason(exc))

    def __enter__(self) -> ScopeLock:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self.release(quiet=exc_type is not None and issubclass(exc_type, Interrupted | KeyboardInterrupt))


def renew_for_page(conn: Connection, run_id: int, at: datetime) -> None:
    """Inside a page's transaction: renew the run's lock, or refuse the page if it was lost.

    Raises:
        LockLost: the lock expired and another run has it now.
    """
    ttl = conn.execute(select(sync_locks.c.ttl_seconds).where(sync_locks.c.run_id == run_id)).scalar()
    # The UPDATE is what proves ownership: it sees a takeover committed after the SELECT, and from
    # here to the commit it holds the row (PostgreSQL) or the database (SQLite) against one.
    renewed = ttl is not None and conn.execute(update(sync_locks).where(sync_locks.c.run_id == run_id)
                                               .values(expires_at=at + timedelta(seconds=ttl))).rowcount
    if not renewed:
        raise LockLost(f"run {run_id} lost its lock to another run (it stalled longer than the lock's lifetime); "
                       "stopping before writing anything more")


def holder_gone(holder: Any) -> bool:
    """Expired, or its holder is known to be gone: a process of this host that no longer exists,
    or a run of this very process that has ended without managing to delete its row."""
    if utc(holder["expires_at"]) < now():
        return True
    if holder["host"] == this_host() and holder["pid"] == os.getpid():
        return holder["owner"] not in _HELD
    if holder["host"] == this_host() and holder["pid"]:
        try:
            os.kill(holder["pid"], 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
    return False


def _describe(holder: dict[str, Any]) -> str:
    if not holder:
        return "a run that is just finishing"
    run = f"run {holder['run_id']}" if holder.get("run_id") else "a starting run"
    expires = utc(holder["expires_at"]).isoformat(timespec="seconds")
    return f"{run} on {holder['host']} (pid {holder['pid']}), lock renewed until {expires}"
