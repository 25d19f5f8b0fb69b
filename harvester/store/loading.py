"""The first walk of an empty kind as a bulk load: indexes built once, after the tables are full.

Maintained row by row while a table fills, each random-key index (author, task, library, dates,
tags by tag, link targets, facets) has nearly every leaf rewritten by every commit: most of what
a first crawl wrote. Database engines load the other way round, and so does this: before the
first walk of a kind whose tables are empty, the indexes no write path reads are dropped and
recorded in ``deferred_indexes``; once a listing walk of the kind finishes, each is built from
the full table in a transaction of its own and its record deleted with it, so a killed walk or
build goes on with the next run. Meanwhile readers get the same answers, only slower.

Kept: every unique index (a constraint, and ``row_key``'s serves each page's next keys), and
``hub_id``'s, through which a page finds a repo renamed since an earlier page listed it.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from sqlalchemy import Engine, Index, Table, delete, exists, insert, select

from ..kinds import KINDS
from .schema import deferred_indexes, metadata

log = logging.getLogger("harvester")


def _kind_tables(kind: str) -> list[Table]:
    """The kind's repo table and every table whose rows hang off it (tags, links, facets, files...)."""
    repos = KINDS[kind].repos
    return [repos, *(table for table in metadata.sorted_tables
                     if any(key.column.table is repos for key in table.foreign_keys))]


def deferrable(kind: str) -> list[Index]:
    """The indexes of ``kind``'s tables that a first walk may build after it, by name."""
    kept = {f"ix_{kind}_hub_id"}
    return sorted((index for table in _kind_tables(kind) for index in table.indexes
                   if not index.unique and index.name not in kept), key=lambda index: index.name)


def defer_for_first_walk(engine: Engine, kind: str, *, now: datetime) -> int:
    """Drop and record the deferrable indexes of ``kind`` if its repo table holds no row at all
    and none is recorded yet; returns how many are pending (0: not a first walk)."""
    repos = KINDS[kind].repos
    with engine.begin() as conn:
        if pending := _pending_names(conn, kind):
            return len(pending)
        if conn.execute(select(exists().select_from(repos))).scalar():
            return 0
        indexes = deferrable(kind)
        conn.execute(insert(deferred_indexes), [{"name": index.name, "kind": kind, "deferred_at": now}
                                                for index in indexes])
        for index in indexes:
            index.drop(conn, checkfirst=True)
    log.debug("%s: a first walk; %d indexes are built once it has loaded the catalog", kind, len(indexes))
    return len(indexes)


def pending(engine: Engine, kind: str) -> list[str]:
    """The names of ``kind``'s indexes that wait for its first walk to finish."""
    with engine.connect() as conn:
        return _pending_names(conn, kind)


def _pending_names(conn, kind: str) -> list[str]:
    return list(conn.execute(select(deferred_indexes.c.name).where(deferred_indexes.c.kind == kind)
                             .order_by(deferred_indexes.c.name)).scalars())


def build_deferred(engine: Engine, kind: str) -> float:
    """Build ``kind``'s pending indexes, each in a transaction of its own with its record's
    deletion; returns the seconds it took."""
    names = pending(engine, kind)
    by_name = {index.name: index for index in deferrable(kind)}
    started = time.perf_counter()
    for done, name in enumerate(names):
        log.debug("%s: building index %s (%d of %d)", kind, name, done + 1, len(names))
        with engine.begin() as conn:
            if name in by_name:  # a name a later schema no longer has is only forgotten
                by_name[name].create(conn, checkfirst=True)
            conn.execute(delete(deferred_indexes).where(deferred_indexes.c.name == name))
    seconds = time.perf_counter() - started
    if names:
        log.debug("%s: built %d deferred indexes in %.1f s", kind, len(names), seconds)
    return seconds
