"""The change feed's machinery behind `Catalog.changes` and `Catalog.follow`: their arguments checked,
and the change log polled until the feed is told to end."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from .errors import ConfigError
from .kinds import KINDS
from .results import unreadable

if TYPE_CHECKING:
    from sqlalchemy import Engine

FOLLOW_INTERVAL = 5.0  # seconds between polls: one indexed query each, so a dozen followers cost nothing


def followed(engine: Engine, since: int, kinds: tuple[str, ...] | None, *, interval: float,
             ending: threading.Event, closed: threading.Event) -> Iterator[dict[str, Any]]:
    """The change log's rows after ``since``, then each new one, polled every ``interval`` seconds
    until ``ending`` or ``closed`` is set; a poll that fails is logged and tried again from the last
    row yielded."""
    from .store.changes import read_changes

    def wait(seconds: float) -> bool:
        return ending.wait(seconds) or closed.is_set()

    def rows() -> Iterator[dict[str, Any]]:
        position = since
        while True:
            try:
                for row in read_changes(engine, since=position, kinds=kinds):
                    if ending.is_set() or closed.is_set():
                        return
                    yield row
                    position = row["seq"]
            except SQLAlchemyError as exc:  # a restart or a dropped connection: poll again from position
                from .logs import log

                log.warning("the change log could not be read (%s); trying again in %s s",
                            unreadable(exc), interval)
            if wait(interval):
                return

    return rows()


def since_seq(since: int) -> int:
    """``since``, checked: a change's seq (an integer >= 0)."""
    if isinstance(since, bool) or not isinstance(since, int) or since < 0:
        raise ConfigError(f"since must be a change's seq (an integer >= 0), not {since!r}")
    return since


def chosen_kinds(kinds: str | Collection[str] | None) -> tuple[str, ...] | None:
    """``kinds`` as a tuple of known kinds (None: every kind)."""
    if kinds is None:
        return None
    chosen = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    unknown = [kind for kind in chosen if kind not in KINDS]
    if unknown or not chosen:
        raise ConfigError(f"kinds must be among {', '.join(KINDS)}, not {unknown or 'none at all'!r}")
    return chosen
