"""The listing's rows: one page of items upserted against what the catalog holds, rows marked
seen, and rows unseen since a walk began marked deleted.

Rows are partitioned against what the catalog holds: new rows are inserted, rows whose item
changed are rewritten (tags too), and unchanged rows only get ``last_seen_at``, so the
inserted/updated/unchanged counts are true and a change feed can rely on them. A known
``hub_id`` under a new repo id is a rename (`identity`), applied in place. Reconcile pages only
mark rows seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from operator import attrgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Connection, Dialect, and_, delete, func, or_, select, update

from ..kinds import GROUP_FIELDS, KINDS
from ..mapping import Listed, MappedRow
from ..state import RunStats, Stretch, WalkState
from .bulk import BulkInsert
from .changes import ChangeLog, differing, log_each
from .dialect import insert_many, upsert_capable_insert
from .dictionary import dictionary_ids
from .facets import write_facets
from .identity import ASIDE, apply_renames, move_aside_replaced
from .links import write_links
from .schema import DETAIL_COLUMNS, tag_names

if TYPE_CHECKING:
    from .transactions import PageBatch


@lru_cache(maxsize=32)
def _repo_upsert(dialect: Dialect, kind: str) -> BulkInsert:
    table = KINDS[kind].repos
    upsert = upsert_capable_insert(dialect, table)
    listed = tuple(c.name for c in table.columns if c.name not in DETAIL_COLUMNS[kind])
    kept = ("id", "row_key", "first_seen_at")  # a row's identity and when the catalog first saw it never change
    updates = {name: upsert.excluded[name] for name in listed if name not in kept}
    statement = upsert.on_conflict_do_update(index_elements=[table.c.id], set_=updates)
    return BulkInsert.compile(statement, table, listed, dialect)


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
    table = KINDS[kind].repos
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
        restated = [*fresh, *(row for row in changed if keys[row.id] in relinked)]
        write_links(conn, kind, restated, keys, replacing=sorted(relinked))
        write_facets(conn, kind, restated, keys, replacing=sorted(relinked))
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
    table = KINDS[kind].repos
    hub_ids = {row.row["hub_id"] for row in by_id.values()}
    found = conn.execute(select(table.c.id, table.c.hub_id, table.c.row_key, table.c.deleted_at, table.c.item_hash)
                         .where(or_(table.c.id.in_(by_id), table.c.hub_id.in_(hub_ids)))).mappings().all()
    # With one repo per hub_id on the page, and each row found under its own id and hub_id, there
    # is nothing to rename and no id taken: exactly when the two steps below would do nothing.
    if len(hub_ids) == len(by_id) and all(row["id"] in by_id and by_id[row["id"]].row["hub_id"] == row["hub_id"]
                                          for row in found):
        return {row["id"]: row for row in found}, 0, 0
    replaced = move_aside_replaced(conn, kind, by_id, now=now, log=log)
    renamed = apply_renames(conn, kind, by_id, now=now, run_id=run_id, log=log)
    stored = {row["id"]: row for row in conn.execute(
        select(table.c.id, table.c.row_key, table.c.deleted_at, table.c.item_hash).where(table.c.id.in_(by_id)))
        .mappings()}
    return stored, replaced, renamed


def _write_tags(conn: Connection, kind: str, rows: list[MappedRow], keys: dict[str, int], retagged: set[int]) -> None:
    """Store the tags of ``rows`` under their keys, replacing those of the ``retagged`` keys. A changed
    row whose tags did not change is left out: rewriting them would only dirty index pages."""
    tag_table, tag_key = KINDS[kind].tags, KINDS[kind].key
    if retagged:
        conn.execute(delete(tag_table).where(tag_table.c[tag_key].in_(sorted(retagged))))
    ids = dictionary_ids(conn, tag_names, tag_names.c.tag, {tag for row in rows for tag in row.tags})
    tags = sorted((keys[row.id], ids[tag], position) for row in rows for position, tag in enumerate(row.tags))
    if tags:  # in primary key order
        insert_many(conn, tag_table, (tag_key, "tag_id", "position"), tags)


def _new_row_keys(conn: Connection, kind: str, repo_ids: list[str]) -> dict[str, int]:
    """The next ``row_key``s for new rows, in the order given. Pages that write rows hold the
    change-log lock (`lock_change_log`), so no other writer hands out the same numbers meanwhile."""
    table = KINDS[kind].repos
    last = conn.execute(select(func.max(table.c.row_key))).scalar() or 0
    return {repo_id: last + n for n, repo_id in enumerate(repo_ids, start=1)}


@lru_cache(maxsize=8)
def _compared_columns(kind: str) -> tuple[str, ...]:
    """The columns a listing item sets, whose changes the log names: bookkeeping left out, and
    ``raw_extra``, named ``raw`` only when nothing else changed."""
    table = KINDS[kind].repos
    bookkeeping = {"id", "row_key", "first_seen_at", "last_seen_at", "verified_at", "deleted_at", "raw_extra",
                   "item_hash", *DETAIL_COLUMNS[kind]}
    return tuple(c.name for c in table.columns if c.name not in bookkeeping)


def _log_updates(conn: Connection, kind: str, changed: list[MappedRow], keys: dict[str, int],
                 log: ChangeLog) -> tuple[set[int], set[int], int]:
    """Log each changed row with the names of its columns that changed (``tags`` too, for their
    set or order), and of its field groups' fields that did (`group_fields_changed`); ``raw`` is
    named only when nothing else changed (a field the catalog keeps no column for). Only changed
    rows have their old columns and tags read back; ``keys`` are their ``row_key``s. Returns the
    keys of the rows whose tags changed, of those whose edges and facets may have (their tags,
    card or ``raw_extra`` changed: counters move on most rows, edges on few), and
    how many rows read the same as before after all (nothing is logged of them, unless they come
    back from deleted)."""
    table = KINDS[kind].repos
    tag_table, tag_key = KINDS[kind].tags, KINDS[kind].key
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
            relinked.add(keys[row.id])  # its edges and facets are restated
        if extra_changed:
            fields += group_fields_changed(old["raw_extra"], row.row["raw_extra"])
        if not fields and extra_changed:
            fields.append("raw")
        if old["deleted_at"] is not None:
            log.add("undelete", row.row["hub_id"], row.id, fields=fields or ["raw"])
        elif fields:
            log.add("update", row.row["hub_id"], row.id, fields=fields)
        else:
            same += 1
    return retagged, relinked, same


def group_fields_changed(old: Any, new: Any) -> list[str]:
    """The field groups' item fields (`kinds.FieldGroup`: ``inferenceProviderMapping``, ``spaces``,
    ``siblings`` ...) whose values differ between two ``raw_extra``s, where they keep them whole."""
    old, new = (extra if isinstance(extra, dict) else {} for extra in (old, new))
    return [name for name in GROUP_FIELDS if name in old.keys() | new.keys() and old.get(name) != new.get(name)]


def touch_seen(conn: Connection, kind: str, hub_ids: Sequence[str], *, now: datetime, run_id: int | None = None,
               repo_ids: Sequence[str] = ()) -> tuple[int, int]:
    """Mark the rows with these ``hub_id``s (or, for items without one, these repo ids) as seen
    now, logging the ones that come back from deleted: a reconcile page, or items of a page that
    could not be stored. Returns how many rows were seen, and how many of them came back."""
    table = KINDS[kind].repos
    # A row moved aside stays deleted until a listing walk finds its repo's new id and renames it.
    named = or_(table.c.hub_id.in_(hub_ids), table.c.id.in_(repo_ids)) if repo_ids else table.c.hub_id.in_(hub_ids)
    listed = (named, ~table.c.id.contains(ASIDE, autoescape=True))
    back = conn.execute(select(table.c.id, table.c.hub_id).where(*listed, table.c.deleted_at.is_not(None))).all()
    result = conn.execute(update(table).where(*listed).values(last_seen_at=now, deleted_at=None))
    log_each(conn, kind, "undelete", sorted(back), run_id=run_id, now=now)
    return result.rowcount, len(back)


def sweep_deleted(conn: Connection, kind: str, *, since: datetime, now: datetime, run_id: int | None = None) -> int:
    """Mark rows not seen since ``since`` as deleted, and log them; returns how many."""
    table = KINDS[kind].repos
    gone = conn.execute(update(table).where(table.c.deleted_at.is_(None), table.c.last_seen_at < since)
                        .values(deleted_at=now).returning(table.c.id, table.c.hub_id)).all()
    log_each(conn, kind, "delete", sorted(gone), run_id=run_id, now=now)
    return len(gone)


def sweep_stretch(conn: Connection, kind: str, stretch: Stretch, *, now: datetime, run_id: int | None = None) -> int:
    """Mark deleted the live rows whose place in the Hub's creation order lies strictly inside
    ``stretch`` and that its page did not list, unless a walk saw them since ``stretch.since``;
    log them. Returns how many.

    The stretch is read as up to three ranges of ``ix_<kind>_live_created_order`` (created_at,
    hub_id): the rest of ``after``'s second, the seconds between, and the start of ``before``'s;
    within one createdAt (the pre-2022 placeholder that hundreds of thousands of repos share) the
    Hub orders by ``_id`` ascending, as the index does.
    """
    table = KINDS[kind].repos
    (top, top_id), (bottom, bottom_id) = stretch.after, stretch.before
    created, hub_id = table.c.created_at, table.c.hub_id
    if top == bottom:
        ranges = [and_(created == top, hub_id > top_id, hub_id < bottom_id)]
    else:
        ranges = [and_(created == top, hub_id > top_id), and_(created < top, created > bottom),
                  and_(created == bottom, hub_id < bottom_id)]
    unseen = (table.c.deleted_at.is_(None), table.c.last_seen_at < stretch.since)
    gone = sorted((repo_id, row_hub_id) for where in ranges
                  for repo_id, row_hub_id in conn.execute(select(table.c.id, hub_id).where(where, *unseen))
                  if row_hub_id not in stretch.hub_ids and repo_id not in stretch.repo_ids)
    if not gone:
        return 0
    conn.execute(update(table).where(table.c.id.in_([repo_id for repo_id, _ in gone])).values(deleted_at=now))
    log_each(conn, kind, "delete", gone, run_id=run_id, now=now)
    return len(gone)


def store_page(batch: PageBatch, rows: list[MappedRow], *, rejected: int, state: WalkState,
               sweep_since: datetime | None = None, listed: Listed | None = None,
               stretch: Stretch | None = None) -> None:
    """Store one page in ``batch``: its rows, the walk's checkpoint, a due deletion sweep, the
    deletions its ``stretch`` proves, and the run's counters, all committed together. ``listed``
    names the rejected items: their rows are only marked seen."""

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
        if stretch is not None:
            after.rows_deleted += sweep_stretch(conn, state.kind, stretch, now=now, run_id=batch.run_id)

    batch.store(write, state=state, sweep_since=sweep_since, rejected=rejected)


def store_seen_page(batch: PageBatch, listed: Listed, *, rejected: int, state: WalkState,
                    sweep_since: datetime | None = None, stretch: Stretch | None = None) -> None:
    """Store one reconcile page: rows seen, the checkpoint, a due sweep, the deletions its
    ``stretch`` proves, and the counters."""

    def write(conn: Connection, after: RunStats, now: datetime) -> None:
        after.rows_seen += len(listed.hub_ids)
        seen, back = touch_seen(conn, state.kind, listed.hub_ids, repo_ids=listed.repo_ids, now=now,
                                run_id=batch.run_id)
        after.rows_updated += back
        after.rows_unchanged += seen - back
        if stretch is not None:
            after.rows_deleted += sweep_stretch(conn, state.kind, stretch, now=now, run_id=batch.run_id)

    batch.store(write, state=state, sweep_since=sweep_since, rejected=rejected)
