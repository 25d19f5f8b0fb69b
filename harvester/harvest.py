"""The library's `harvester sync`: every kind, each followed by its lap, under one failure policy.

    >>> import harvester
    >>> for synced in harvester.harvest("hub.db", kinds=["models", "datasets"]):  # doctest: +SKIP
    ...     print(synced.kind, synced.error or [run.status for run in synced.runs])
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from .errors import CatalogError, ConfigError, HarvesterError, Interrupted
from .records import Run
from .state import RunStats

OnPage = Callable[[RunStats], None]
Progress = Callable[[str], AbstractContextManager[OnPage | None]]  # a kind -> its progress display while it syncs

# Errors that are not about one kind: the other kinds would meet them too, so the harvest ends.
ENDS_HARVEST = (Interrupted, CatalogError, ConfigError)


@dataclass(frozen=True)
class KindSync:
    """How one kind's sync went: the runs that ended well (its walk, then its lap), or why it failed."""

    kind: str
    runs: list[Run] = field(default_factory=list)
    error: HarvesterError | None = None  # its run record, if one was made, is ``error.run``
    ends_harvest: bool = False  # the error ends the harvest: it is raised once this is handed over


def harvest(db: str | os.PathLike[str] | None = None, *, kinds: Collection[str] = ("models",),
            endpoint: str | None = None, token: str | None = None, stop: threading.Event | None = None,
            progress: Progress | None = None, **settings: Any) -> Iterator[KindSync]:
    """Sync each kind as `harvester sync` does: its lane's run, then (after a plain sync) the next
    instalment of the verification lap. Yields a `KindSync` as each kind ends.

    Args:
        db: a SQLite path or a SQLAlchemy URL; default ``$HARVESTER_DB``, else ``hub.db``.
        kinds: ``models``, ``datasets``, ``spaces``, or ``all``.
        endpoint: the Hub; default ``$HF_ENDPOINT``, else huggingface.co.
        token: default ``$HF_TOKEN``, else the stored login. Never stored or printed.
        stop: set it (from a signal handler, another thread) to stop after the page in hand.
        progress: for each kind, a context whose value is called after every committed page.
        settings: any other field of `SyncConfig`: ``lane="stats"``, ``full=True``, ``author=...``,
            ``max_pages=...``, ``verify_pages=...``.

    Raises:
        ConfigError: a setting is wrong (before any request).
        HarvesterError: an error that is not about one kind (`ENDS_HARVEST`), or a stop: raised
            after the `KindSync` that met it. A kind that fails otherwise does not stop the
            others: its `KindSync` carries the error.

    Example:
        >>> for synced in harvest("hub.db", kinds=["models"], lane="stats"):  # doctest: +SKIP
        ...     print(synced.runs[0].rows_updated)
    """
    from .config import SyncConfig, database_url, endpoint_url
    from .hub.retry import Pacer
    from .kinds import KINDS
    from .sync import sync_kind

    url = database_url(os.fspath(db) if db is not None else None)
    configs = [SyncConfig(db_url=url, endpoint=endpoint_url(endpoint), token=token, kind=kind, **settings)
               for kind in _kinds(kinds, KINDS)]
    pacer = Pacer()  # one pace for the whole harvest: the quota is the token's, not a kind's
    for config in configs:
        if stop is not None and stop.is_set():
            raise Interrupted(f"stopped before syncing {config.kind}")
        finished: list[Run] = []
        try:
            with (progress or _no_progress)(config.kind) as on_page:
                for record in sync_kind(config, stop=stop, on_page=on_page, pacer=pacer):
                    finished.append(Run.from_record(record))
        except HarvesterError as exc:
            ends = isinstance(exc, ENDS_HARVEST) or (stop is not None and stop.is_set())
            yield KindSync(config.kind, finished, exc, ends_harvest=ends)
            if ends:
                raise
            continue
        yield KindSync(config.kind, finished)
    if stop is not None and stop.is_set():  # asked during the last page: the work is done, and the answer is "stopped"
        raise Interrupted("stopped after the last committed page")


def _no_progress(kind: str) -> AbstractContextManager[None]:
    return nullcontext()


def _kinds(kinds: Collection[str], known: Collection[str]) -> list[str]:
    """The kinds asked for, each once, in order; ``all`` is every kind."""
    if isinstance(kinds, str):
        kinds = [kinds]
    if "all" in kinds:
        return list(known)
    unknown = [kind for kind in kinds if kind not in known]
    if unknown:
        raise ConfigError(f"unknown repo kind {unknown[0]!r}: expected models, datasets, spaces or all")
    return list(dict.fromkeys(kinds))
