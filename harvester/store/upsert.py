"""Writing one page in one transaction: its rows or counters, the walk's checkpoint, a due
deletion sweep, and the run's counters.

Rows are partitioned against what the catalog holds: new rows are inserted, rows whose item
changed are rewritten (tags too), and unchanged rows only get ``last_seen_at``, so the
inserted/updated/unchanged counts are true and a change feed can rely on them. A known
``hub_id`` under a new repo id is a rename, applied in place. Reconcile pages only mark rows
seen; counter-lane pages refresh counters and sample their history; details-lane batches
replace the heavy fields and files of repos whose commit moved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from operator import attrgetter
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)

from ..errors import ClockSkew
from ..mapping import Counters, Listed, MappedRow, RepoDetails
from ..state import RunStats, WalkState
from .bulk import BulkInsert
from .changes import ChangeLog, differing
from .dialect import insert_many, lock_change_log, upsert_capable_insert
from .dictionary import dictionary_ids
from .links import write_links
from .locks import renew_for_page
from .runs import utc
from .schema import (
    DETAIL_COLUMNS,
    FILES_TABLES,
    REPO_TABLES,
    STATS_TABLES,
    TAG_TABLES,
    renames,
    sync_runs,
    sync_state,
    tag_names,
)


@lru_cache(maxsize=32)
def _repo_upsert(dialect: Dialect, kind: str) -> BulkInsert:
    table = REPO_TABLES[kind][0]
    upsert = upsert_capable_insert(dialect, table)
    listed = tuple(c.name for c in table.columns if c.name not in DETAIL_COLUMNS)
    kept = ("id", "row_key", "first_seen_at")  # a row's identity and when the catalog first saw it never change
    updates = {name: upsert.excluded[name] for name in listed if name not in kept}
    statement = upsert.on_conflict_do_update(index_elements=[table.c.id], set_=updates)
    return BulkInsert.compile(statement, table, listed, dialect)


@lru_cache(maxsize=32)
def _file_insert(dialect: Dialect, kind: str) -> BulkInsert:
    files, key = FILES_TABLES[kind], REPO_TABLES[kind][1]
    return BulkInsert.compile(files.insert(), files, (key, "path", "size", "lfs_sha256"), dialect)


class PageCounts(NamedTuple):
    inserted: int
    updated: int
    unchanged: int
    renamed: int = 0
    replaced: int = 0  # rows moved aside because another repo now has their id


def upsert_repos(conn: Connection, kind: str, rows: list[MappedRow], *, now: datetime,
                 run_id: int | None = None) -> PageCounts:
    """Bulk upsert one page of rows of ``kind`` and their tags, and log what changed.

    A row whose ``hub_id`` the catalog knows under another repo id is a rename: that row takes
    the new id in place (its tags follow its ``row_key``) and the rename is recorded. An item
    is unchanged when its digest (``item_hash``) is; a changed digest whose row reads the same
    (the counter lane refreshed its counters meanwhile) is only rewritten.
    """
    table = REPO_TABLES[kind][0]
    log = ChangeLog(kind, run_id=run_id, now=now)
    by_id = {row.id: row for row in rows}  # the last of duplicate ids in a page wins
    stored, replaced, renamed = _stored_rows(conn, kind, by_id, now=now, run_id=run_id, log=log)
    fresh: list[MappedRow] = []
    changed: list[MappedRow] = []
    unchanged: list[str] = []
    revived = 0  # unchanged items of rows marked deleted: updated, since they are no longer deleted
    for repo_id, row in by_id.items():
        old = stored.get(repo_id)
        if old is None:
            fresh.append(row)
            log.add("insert", row.row["hub_id"], repo_id)
        elif old["item_hash"] != row.row["item_hash"]:
            changed.append(row)
        else:
            unchanged.append(repo_id)
            if old["deleted_at"] is not None:
                log.add("undelete", row.row["hub_id"], repo_id)
                revived += 1
    keys = {row.id: stored[row.id]["row_key"] for row in changed}
    retagged, relinked, same = _log_updates(conn, kind, changed, keys, log) if changed else (set(), set(), 0)

    # in id order, so that each B-tree keyed by repo id is filled front to back, not at random
    written = sorted(fresh + changed, key=attrgetter("id"))
    if written:
        keys.update(_new_row_keys(conn, kind, sorted(row.id for row in fresh)))
        seen = {"first_seen_at": now, "last_seen_at": now, "verified_at": now, "deleted_at": None}
        _repo_upsert(conn.dialect, kind).run(
            conn, ({**row.row, **seen, "row_key": keys[row.id]} for row in written))
        _write_tags(conn, kind, [*fresh, *(row for row in changed if keys[row.id] in retagged)], keys, retagged)
        write_links(conn, kind, [*fresh, *(row for row in changed if keys[row.id] in relinked)], keys,
                    replacing=sorted(relinked))
    if unchanged:
        conn.execute(update(table).where(table.c.id.in_(unchanged))
                     .values(last_seen_at=now, verified_at=now, deleted_at=None))
    log.write(conn)
    return PageCounts(len(fresh), len(changed) - same + revived, len(unchanged) - revived + same, renamed, replaced)


def _stored_rows(conn: Connection, kind: str, by_id: dict[str, MappedRow], *, now: datetime, run_id: int | None,
                 log: ChangeLog) -> tuple[dict[str, Any], int, int]:
    """The catalog's rows of this page's repos, by id, once renames and ids taken by other repos
    are dealt with; and how many rows were moved aside, and how many renamed.

    One read serves the usual page, where every repo the catalog knows has its id and its
    ``hub_id`` as before (a first crawl finds none at all): then nothing is to move. Only a page
    with a rename or a taken id goes the longer way, which reads again after each step.
    """
    table = REPO_TABLES[kind][0]
    hub_ids = {row.row["hub_id"] for row in by_id.values()}
    found = conn.execute(select(table.c.id, table.c.hub_id, table.c.row_key, table.c.deleted_at, table.c.item_hash)
                         .where(or_(table.c.id.in_(by_id), table.c.hub_id.in_(hub_ids)))).mappings().all()
    # With one repo per hub_id on the page, and each row found under its own id and hub_id, there
    # is nothing to rename and no id taken: exactly when the two steps below would do nothing.
    if len(hub_ids) == len(by_id) and all(row["id"] in by_id and by_id[row["id"]].row["hub_id"] == row["hub_id"]
                                          for row in found):
        return {row["id"]: row for row in found}, 0, 0
    replaced = _move_aside_replaced(conn, kind, by_id, now=now, log=log)
    renamed = _apply_renames(conn, kind, by_id, now=now, run_id=run_id, log=log)
    stored = {row["id"]: row for row in conn.execute(
        select(table.c.id, table.c.row_key, table.c.deleted_at, table.c.item_hash).where(table.c.id.in_(by_id)))
        .mappings()}
    return stored, replaced, renamed


def _write_tags(conn: Connection, kind: str, rows: list[MappedRow], keys: dict[str, int], retagged: set[int]) -> None:
    """Store the tags of ``rows`` under their keys, replacing those of the ``retagged`` keys. A changed
    row whose tags did not change is left out: rewriting them would only dirty index pages."""
    tag_table, tag_key = TAG_TABLES[kind]
    if retagged:
        conn.execute(delete(tag_table).where(tag_table.c[tag_key].in_(sorted(retagged))))
    ids = dictionary_ids(conn, tag_names, tag_names.c.tag, {tag for row in rows for tag in row.tags})
    tags = sorted((keys[row.id], ids[tag], position) for row in rows for position, tag in enumerate(row.tags))
    if tags:  # in primary key order
        insert_many(conn, tag_table, (tag_key, "tag_id", "position"), tags)


def _new_row_keys(conn: Connection, kind: str, repo_ids: list[str]) -> dict[str, int]:
    """The next ``row_key``s for new rows, in the order given. Pages that write rows hold the
    change-log lock (`lock_change_log`), so no other writer hands out the same numbers meanwhile."""
    table = REPO_TABLES[kind][0]
    last = conn.execute(select(func.max(table.c.row_key))).scalar() or 0
    return {repo_id: last + n for n, repo_id in enumerate(repo_ids, start=1)}


@lru_cache(maxsize=8)
def _compared_columns(kind: str) -> tuple[str, ...]:
    """The columns a listing item sets, whose changes the log names: bookkeeping left out, and
    ``raw_extra``, named ``raw`` only when nothing else changed."""
    table = REPO_TABLES[kind][0]
    bookkeeping = {"id", "row_key", "first_seen_at", "last_seen_at", "verified_at", "deleted_at", "raw_extra",
                   "item_hash", *DETAIL_COLUMNS}
    return tuple(c.name for c in table.columns if c.name not in bookkeeping)


def _log_updates(conn: Connection, kind: str, changed: list[MappedRow], keys: dict[str, int],
                 log: ChangeLog) -> tuple[set[int], set[int], int]:
    """Log each changed row with the names of its columns that changed (``tags`` too, for their
    set or order); ``raw`` is named only when nothing else changed (a field the catalog keeps no
    column for). Only changed rows have their old columns and tags read back; ``keys`` are
    their ``row_key``s. Returns the keys of the rows whose tags changed, of those whose edges may
    have (their tags, card or ``raw_extra`` changed: counters move on most rows, edges on few), and
    how many rows read the same as before after all (nothing is logged of them, unless they come
    back from deleted)."""
    table = REPO_TABLES[kind][0]
    tag_table, tag_key = TAG_TABLES[kind]
    columns = _compared_columns(kind)
    stored = {row["id"]: row for row in conn.execute(
        select(table.c.id, table.c.deleted_at, table.c.raw_extra, *(table.c[n] for n in columns))
        .where(table.c.id.in_(keys))).mappings()}
    old_tags: dict[int, list[str]] = {}
    for key, tag in conn.execute(select(tag_table.c[tag_key], tag_names.c.tag)
                                 .join(tag_names, tag_names.c.id == tag_table.c.tag_id)
                                 .where(tag_table.c[tag_key].in_(keys.values()))
                                 .order_by(tag_table.c[tag_key], tag_table.c.position)):
        old_tags.setdefault(key, []).append(tag)
    retagged, relinked, same = set(), set(), 0
    for row in changed:
        old = stored[row.id]
        fields = differing(old, row.row, columns)
        if old_tags.get(keys[row.id], []) != row.tags:
            fields.append("tags")
            retagged.add(keys[row.id])
        extra_changed = bool(differing(old, row.row, ("raw_extra",)))
        if "tags" in fields or "card_data" in fields or extra_changed:
            relinked.add(keys[row.id])
        if not fields and extra_changed:
            fields.append("raw")
        if old["deleted_at"] is not None:
            log.add("undelete", row.row["hub_id"], row.id, fields=fields or ["raw"])
        elif fields:
            log.add("update", row.row["hub_id"], row.id, fields=fields)
        else:
            same += 1
    return retagged, relinked, same


# Ids no Hub repo can have (they hold a space): "<id> (replaced; hub_id <_id>)" for a row moved
# aside, "<id> (moving)" for one parked while a cycle of renames goes round.
ASIDE = " (replaced; hub_id "
PARKED = " (moving)"


def _original_id(row_id: str) -> str:
    """The repo id a row had before it was moved aside or parked (the id itself for any other row)."""
    return row_id.split(ASIDE, 1)[0].removesuffix(PARKED)


def _move_aside_replaced(conn: Connection, kind: str, by_id: dict[str, MappedRow], *, now: datetime,
                         log: ChangeLog) -> int:
    """Move aside the rows whose repo id the Hub now gives to another repo (another ``hub_id``),
    when their own repo is not on this page under a new name: it was deleted, or renamed out of
    sight, and its id was taken. Each keeps its history, marked deleted, under an id no Hub repo
    can have; if its repo is listed again under a new name, the rename finds it by ``hub_id``.
    Returns how many live rows were marked deleted so."""
    table = REPO_TABLES[kind][0]
    listed = {row.row["hub_id"] for row in by_id.values()}
    occupants = conn.execute(select(table.c.id, table.c.hub_id, table.c.deleted_at)
                             .where(table.c.id.in_(by_id))).all()
    gone = 0
    for repo_id, hub_id, deleted_at in sorted(occupants):
        if hub_id == by_id[repo_id].row["hub_id"] or hub_id in listed:  # the same repo, or one moving on
            continue
        conn.execute(update(table).where(table.c.id == repo_id).values(
            id=f"{repo_id}{ASIDE}{hub_id})", deleted_at=deleted_at or now))
        if deleted_at is None:
            log.add("delete", hub_id, repo_id)
            gone += 1
    return gone


def _apply_renames(conn: Connection, kind: str, by_id: dict[str, MappedRow], *, now: datetime,
                   run_id: int | None, log: ChangeLog) -> int:
    """Move rows whose ``hub_id`` arrives under a new repo id to that id; returns how many.

    A move waits until its new id is free: in a chain (b to c, then a to b) the row holding it
    moves first, and in a cycle (a swap) one row is parked under an id no repo can have. A move
    whose new id a row keeps (another repo that held the name, or two rows sharing a hub_id) is
    left undone.
    """
    table = REPO_TABLES[kind][0]
    new_ids = {row.row["hub_id"]: repo_id for repo_id, row in by_id.items()}
    known = conn.execute(select(table.c.id, table.c.hub_id).where(table.c.hub_id.in_(new_ids))).all()
    pending = {old_id: (new_ids[hub_id], hub_id) for old_id, hub_id in known if old_id != new_ids[hub_id]}
    held = set(conn.execute(select(table.c.id).where(table.c.id.in_([new for new, _ in pending.values()])))
               .scalars())
    done = []

    def move(old_id: str, new_id: str) -> None:
        conn.execute(update(table).where(table.c.id == old_id).values(id=new_id))  # tags follow the row_key
        held.discard(old_id)
        held.add(new_id)

    while pending:
        moved = False
        for old_id in sorted(pending):  # sorted: renames are logged in the same order on every backend
            new_id, hub_id = pending[old_id]
            if new_id not in held:  # checked at each move: two rows may want one id
                del pending[old_id]
                move(old_id, new_id)
                done.append((_original_id(old_id), new_id, hub_id))
                moved = True
        if moved:
            continue
        cycle = next((old_id for old_id in sorted(pending) if _in_cycle(old_id, pending)), None)
        if cycle is None:  # what is left waits on rows that stay where they are
            break
        move(cycle, cycle + PARKED)
        pending[cycle + PARKED] = pending.pop(cycle)
    if done:
        conn.execute(insert(renames), [{"kind": kind, "hub_id": hub_id, "old_id": old_id, "new_id": new_id,
                                        "run_id": run_id, "renamed_at": now} for old_id, new_id, hub_id in done])
    for old_id, new_id, hub_id in done:
        log.add("rename", hub_id, new_id, fields=["id"], previous_id=old_id)
    return len(done)


def _in_cycle(start: str, pending: dict[str, tuple[str, str]]) -> bool:
    """Whether following new ids from ``start`` through rows that still must move leads back to it."""
    seen, current = set(), start
    while current in pending and current not in seen:
        seen.add(current)
        current = pending[current][0]
    return current == start


def sweep_deleted(conn: Connection, kind: str, *, since: datetime, now: datetime, run_id: int | None = None) -> int:
    """Mark rows not seen since ``since`` as deleted, and log them; returns how many."""
    table = REPO_TABLES[kind][0]
    gone = conn.execute(update(table).where(table.c.deleted_at.is_(None), table.c.last_seen_at < since)
                        .values(deleted_at=now).returning(table.c.id, table.c.hub_id)).all()
    log = ChangeLog(kind, run_id=run_id, now=now)
    for repo_id, hub_id in sorted(gone):
        log.add("delete", hub_id, repo_id)
    log.write(conn)
    return len(gone)


def save_state(conn: Connection, state: WalkState, *, now: datetime) -> None:
    """Upsert a scope's walk state."""
    values: dict[str, Any] = {
        "scope": state.scope, "kind": state.kind, "cursor": state.cursor, "walk_mode": state.mode,
        "walk_started_at": state.started_at, "walk_top": state.top, "walk_stop_before": state.stop_before,
        "walk_pages": state.pages, "page_size": state.page_size, "watermark": state.watermark,
        "sweep_since": state.sweep_since, "updated_at": now,
    }
    upsert = upsert_capable_insert(conn.dialect, sync_state)
    conn.execute(upsert.values(values).on_conflict_do_update(
        index_elements=[sync_state.c.scope], set_={k: v for k, v in values.items() if k != "scope"}))


def save_run_stats(conn: Connection, run_id: int, stats: RunStats) -> None:
    conn.execute(update(sync_runs).where(sync_runs.c.id == run_id).values(**stats.as_dict()))


def record_counters(conn: Connection, kind: str, counters: dict[str, Counters], *, run_id: int,
                    now: datetime) -> tuple[int, int, int]:
    """Refresh counters of known repos, and sample the history where they differ from the last sample.

    Returns (updated, unchanged, sampled). A refreshed row's ``raw_extra`` takes the same
    counters, so that its item (the view ``<kind>_raw``) never contradicts its columns, and its
    ``item_hash`` is forgotten: the item the next listing serves is compared with the columns
    then, even if it is the one the digest was taken of. The history is compared with its own
    last sample, not with the live columns, which the main lane also refreshes. Repos the
    catalog does not know yet are left to the main lane.
    """
    table, stats_table, key = REPO_TABLES[kind][0], STATS_TABLES[kind], REPO_TABLES[kind][1]
    names = [name for name in ("downloads", "likes", "trending_score") if name in table.c]
    rows = conn.execute(select(table.c.id, table.c.raw_extra, *(table.c[n] for n in names))
                        .where(table.c.id.in_(counters))).all()
    current = {row[0]: dict(zip(names, row[2:], strict=True)) for row in rows}
    extras = {row[0]: row[1] for row in rows}
    previous = stats_table.alias("previous")
    newest_run = select(func.max(previous.c.run_id)).where(previous.c[key] == stats_table.c[key]).scalar_subquery()
    last = select(stats_table.c[key], *(stats_table.c[n] for n in names)).where(
        stats_table.c[key].in_(current), stats_table.c.run_id == newest_run)
    last_sample = {row[0]: dict(zip(names, row[1:], strict=True)) for row in conn.execute(last)}
    changed = [repo_id for repo_id, values in current.items() if values != counters[repo_id].columns]
    if changed:
        statement = update(table).where(table.c.id == bindparam("repo_id")).values(
            {**{name: bindparam(f"new_{name}") for name in names}, "item_hash": None,
             "raw_extra": bindparam("new_extra")})
        conn.execute(statement, [{"repo_id": repo_id, "new_extra": counters[repo_id].patched(extras[repo_id]),
                                  **{f"new_{n}": counters[repo_id].columns[n] for n in names}}
                                 for repo_id in changed])
    samples = [repo_id for repo_id in current if last_sample.get(repo_id) != counters[repo_id].columns]
    if samples:
        conn.execute(insert(stats_table), [{key: repo_id, "run_id": run_id, "taken_at": now,
                                            **counters[repo_id].columns} for repo_id in samples])
    return len(changed), len(current) - len(changed), len(samples)


def pending_details(engine: Engine, kind: str, *, after: tuple[datetime, str] | None,
                    limit: int) -> list[tuple[datetime, str]]:
    """Repos whose heavy fields are missing or older than their ``sha``: (last_modified, id), newest
    first, after the keyset position ``after``, so a run passes each repo once even if it fails."""
    table = REPO_TABLES[kind][0]
    due = select(table.c.last_modified, table.c.id).where(
        table.c.deleted_at.is_(None), table.c.disabled.is_not(True), table.c.sha.is_not(None),
        table.c.last_modified.is_not(None),
        or_(table.c.files_sha.is_(None), table.c.files_sha != table.c.sha))
    if after is not None:
        due = due.where(tuple_(table.c.last_modified, table.c.id) < tuple_(*after))
    with engine.connect() as conn:
        return [(utc(modified), repo_id) for modified, repo_id in
                conn.execute(due.order_by(table.c.last_modified.desc(), table.c.id.desc()).limit(limit))]


def replace_details(conn: Connection, kind: str, details: dict[str, RepoDetails], *, now: datetime,
                    run_id: int | None = None) -> int:
    """Store heavy fields and files of repos (by catalog id) in place of the old ones, and log
    them as updates; returns how many. A repo renamed or gone since it was fetched is skipped."""
    table, key = REPO_TABLES[kind]
    files = FILES_TABLES[kind]
    names = ["files_sha", *next(iter(details.values())).columns]
    stored = {row["id"]: row for row in conn.execute(
        select(table.c.id, table.c.hub_id, *(table.c[n] for n in names)).where(table.c.id.in_(details))).mappings()}
    if not stored:
        return 0
    conn.execute(delete(files).where(files.c[key].in_(stored)))
    rows = sorted(({key: repo_id, **file} for repo_id in stored for file in details[repo_id].files),
                  key=lambda row: (row[key], row["path"]))  # in key order: the B-tree fills in sequence
    if rows:
        _file_insert(conn.dialect, kind).run(conn, rows)
    new = {repo_id: {"files_sha": details[repo_id].sha, **details[repo_id].columns} for repo_id in stored}
    statement = update(table).where(table.c.id == bindparam("repo_id")).values(
        {name: bindparam(f"new_{name}") for name in names})
    conn.execute(statement, [{"repo_id": repo_id, **{f"new_{n}": v for n, v in new[repo_id].items()}}
                             for repo_id in stored])
    log = ChangeLog(kind, run_id=run_id, now=now)
    for repo_id, old in sorted(stored.items()):
        fields = differing(old, new[repo_id], names)
        if fields:
            log.add("update", old["hub_id"], repo_id, fields=["files", *fields] if "files_sha" in fields else fields)
    log.write(conn)
    return len(stored)


def touch_seen(conn: Connection, kind: str, hub_ids: Sequence[str], *, now: datetime, run_id: int | None = None,
               repo_ids: Sequence[str] = ()) -> tuple[int, int]:
    """Mark the rows with these ``hub_id``s (or, for items without one, these repo ids) as seen
    now, logging the ones that come back from deleted: a reconcile page, or items of a page that
    could not be stored. Returns how many rows were seen, and how many of them came back."""
    table = REPO_TABLES[kind][0]
    # A row moved aside stays deleted until a listing walk finds its repo's new id and renames it.
    named = or_(table.c.hub_id.in_(hub_ids), table.c.id.in_(repo_ids)) if repo_ids else table.c.hub_id.in_(hub_ids)
    listed = (named, ~table.c.id.contains(ASIDE, autoescape=True))
    back = conn.execute(select(table.c.id, table.c.hub_id).where(*listed, table.c.deleted_at.is_not(None))).all()
    result = conn.execute(update(table).where(*listed).values(last_seen_at=now, deleted_at=None))
    log = ChangeLog(kind, run_id=run_id, now=now)
    for repo_id, hub_id in sorted(back):
        log.add("undelete", hub_id, repo_id)
    log.write(conn)
    return result.rowcount, len(back)


def store_page(batch: PageBatch, rows: list[MappedRow], *, rejected: int, state: WalkState,
               sweep_since: datetime | None = None, listed: Listed | None = None) -> None:
    """Store one page in ``batch``: its rows, the walk's checkpoint, a due deletion sweep and the
    run's counters, all committed together. ``listed`` names the rejected items: their rows are
    only marked seen."""

    def write(conn: Connection, after: RunStats, now: datetime) -> None:
        counts = upsert_repos(conn, state.kind, rows, now=now, run_id=batch.run_id)
        if listed:
            touch_seen(conn, state.kind, listed.hub_ids, repo_ids=listed.repo_ids, now=now, run_id=batch.run_id)
        after.rows_seen += len(rows)
        after.rows_inserted += counts.inserted
        after.rows_updated += counts.updated
        after.rows_unchanged += counts.unchanged
        after.rows_renamed += counts.renamed
        after.rows_deleted += counts.replaced

    batch.store(write, state=state, sweep_since=sweep_since, rejected=rejected)


def store_seen_page(batch: PageBatch, listed: Listed, *, rejected: int, state: WalkState,
                    sweep_since: datetime | None = None) -> None:
    """Store one reconcile page: rows seen, the checkpoint, a due sweep and the counters."""

    def write(conn: Connection, after: RunStats, now: datetime) -> None:
        after.rows_seen += len(listed.hub_ids)
        seen, back = touch_seen(conn, state.kind, listed.hub_ids, repo_ids=listed.repo_ids, now=now,
                                run_id=batch.run_id)
        after.rows_updated += back
        after.rows_unchanged += seen - back

    batch.store(write, state=state, sweep_since=sweep_since, rejected=rejected)


def store_stats_page(batch: PageBatch, counters: dict[str, Counters], *, rejected: int, state: WalkState) -> None:
    """Store one counter-lane page: counters, history samples, the checkpoint and the counts."""

    def write(conn: Connection, after: RunStats, now: datetime) -> None:
        updated, unchanged, sampled = record_counters(conn, state.kind, counters, run_id=batch.run_id, now=now)
        after.rows_seen += len(counters)
        after.rows_updated += updated
        after.rows_unchanged += unchanged
        after.samples_taken += sampled

    batch.store(write, state=state, sweep_since=None, rejected=rejected)


def store_details_page(batch: PageBatch, kind: str, details: dict[str, RepoDetails], *, rejected: int) -> None:
    """Store one batch of the details lane: heavy fields, files and the run's counts."""

    def write(conn: Connection, after: RunStats, now: datetime) -> None:
        stored = replace_details(conn, kind, details, now=now, run_id=batch.run_id) if details else 0
        after.rows_seen += len(details)
        after.rows_updated += stored
        after.rows_unchanged += len(details) - stored

    batch.store(write, state=None, sweep_since=None, rejected=rejected)


# How far ahead of this machine's clock the catalog's last page may be: clocks kept by NTP differ
# by far less; past this, one machine's clock is wrong, and stamping every later page with its
# time would hide deletions and keep locks for as long.
CLOCK_TOLERANCE = timedelta(minutes=10)


def wall_clock() -> datetime:
    return datetime.now(UTC)


def catalog_time(conn: Connection, state: WalkState | None) -> datetime:
    """This page's time: this machine's clock, but never earlier than a page committed before it
    nor than the start of the walk it belongs to.

    Deletion sweeps compare ``last_seen_at`` with the time a walk began, so those times must
    follow commit order: a clock stepped back (NTP), or another host's clock behind this one's
    on a shared catalog, must not make a repo seen after a walk began look seen before it.
    Every walk's page writes ``sync_state.updated_at``, so its largest value is the last page's
    time. Called under the change-log lock, which orders the pages of every writer.
    """
    wall = wall_clock()
    last = utc(conn.execute(select(func.max(sync_state.c.updated_at))).scalar())
    if last is not None and last - wall > CLOCK_TOLERANCE:
        raise ClockSkew(f"the catalog's last page is dated {last.isoformat(timespec='seconds')}, "
                        f"{_duration(last - wall)} ahead of this machine's clock: a machine that writes this catalog "
                        "has a wrong clock. Fix it (NTP); if the catalog's date is the wrong one, `harvester state "
                        "reset` forgets it (the next run walks everything)")
    return max(t for t in (wall, last, state.started_at if state is not None else None) if t is not None)


def _duration(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    return f"{seconds / 86_400:.1f} days" if seconds >= 86_400 else f"{seconds / 60:.0f} minutes"


class PageBatch:
    """Pages stored in one transaction and committed together.

    Each page writes its walk's checkpoint and the run's counters with its rows, so whatever
    commits, the cursor covers exactly the rows committed with it; a crash loses the pages not
    yet committed, which the next run fetches again. ``stats`` is advanced only by a commit.
    Leaving the context commits the pages in hand, or rolls them back after an error.
    """

    def __init__(self, engine: Engine, stats: RunStats, *, run_id: int) -> None:
        self.engine = engine
        self.stats = stats
        self.run_id = run_id
        self.pending = replace(stats)  # the run's counts with the pages in hand
        self._conn: Connection | None = None

    @property
    def pages(self) -> int:
        """Pages in hand, not committed yet."""
        return self.pending.pages - self.stats.pages

    def __enter__(self) -> PageBatch:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: Any) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.rollback()

    def store(self, write: Callable[[Connection, RunStats, datetime], None], *, state: WalkState | None,
              sweep_since: datetime | None, rejected: int = 0) -> None:
        """Write one page at ``catalog_time``: ``write`` advances the counts it is given.

        ``rejected`` items were seen but not stored: they count as seen and as rejected. ``state``
        is the walk's checkpoint (the details lane has none: its work list is the catalog itself).
        """
        conn = self._transaction()
        after = self.pending
        after.requests, after.retries = self.stats.requests, self.stats.retries  # counted as they happen
        now = catalog_time(conn, state)
        renew_for_page(conn, self.run_id, wall_clock())  # a lock's expiry is this machine's business, by its clock
        write(conn, after, now)
        after.rows_seen += rejected
        after.rows_rejected += rejected
        if state is not None and sweep_since is not None:
            after.rows_deleted += sweep_deleted(conn, state.kind, since=sweep_since, now=now, run_id=self.run_id)
        after.pages += 1
        if state is not None:
            save_state(conn, state, now=now)
        save_run_stats(conn, self.run_id, after)

    def commit(self) -> None:
        """Commit the pages in hand, if any, and count them in ``stats``."""
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        try:
            conn.commit()
        finally:
            conn.close()
        self.stats.take_stored(self.pending)
        self.pending = replace(self.stats)

    def rollback(self) -> None:
        """Give up the pages in hand."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()  # rolls back
        self.pending = replace(self.stats)

    def _transaction(self) -> Connection:
        if self._conn is None:
            self._conn = self.engine.connect()
            try:
                # Before any row lock: two lanes' pages then queue for the change log in one order,
                # never each holding what the other waits for (PostgreSQL; SQLite has one writer anyway).
                lock_change_log(self._conn)
            except BaseException:
                self.rollback()
                raise
        return self._conn
