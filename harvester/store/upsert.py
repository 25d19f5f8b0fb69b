"""Writing one page: rows, tags, checkpoint and run counters, in one transaction.

Rows are partitioned against what the catalog holds: new rows are inserted, rows whose item
changed are rewritten (tags too), and unchanged rows only get ``last_seen_at``, so the
inserted/updated/unchanged counts are true and a change feed can rely on them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, select, update

from ..mapping import MappedRow
from ..state import RunStats, WalkState
from .schema import model_tags, models, sync_runs, sync_state

UPDATABLE = [c.name for c in models.columns if c.name not in ("id", "first_seen_at")]


def dialect_insert(conn: Connection, table: Table):
    """``INSERT`` with the dialect's ``ON CONFLICT`` support (the one place dialects differ)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def upsert_models(conn: Connection, rows: list[MappedRow], *, now: datetime) -> tuple[int, int, int]:
    """Bulk upsert one page of rows and their tags: (inserted, updated, unchanged)."""
    by_id = {row.id: row for row in rows}  # the last of duplicate ids in a page wins
    stored = dict(conn.execute(select(models.c.id, models.c.raw).where(models.c.id.in_(by_id))).all())
    fresh = [row for key, row in by_id.items() if key not in stored]
    changed = [row for key, row in by_id.items() if key in stored and stored[key] != row.row["raw"]]
    unchanged = [key for key, row in by_id.items() if key in stored and stored[key] == row.row["raw"]]

    written = fresh + changed
    if written:
        insert = dialect_insert(conn, models)
        conn.execute(
            insert.on_conflict_do_update(index_elements=[models.c.id],
                                         set_={name: insert.excluded[name] for name in UPDATABLE}),
            [{**row.row, "first_seen_at": now, "last_seen_at": now, "deleted_at": None} for row in written],
        )
        if changed:
            conn.execute(delete(model_tags).where(model_tags.c.model_id.in_([row.id for row in changed])))
        tags = [{"model_id": row.id, "tag": tag} for row in written for tag in row.tags]
        if tags:
            conn.execute(model_tags.insert(), tags)
    if unchanged:
        conn.execute(update(models).where(models.c.id.in_(unchanged)).values(last_seen_at=now, deleted_at=None))
    return len(fresh), len(changed), len(unchanged)


def save_state(conn: Connection, state: WalkState, *, now: datetime) -> None:
    """Upsert a scope's walk state."""
    values: dict[str, Any] = {
        "scope": state.scope, "kind": state.kind, "cursor": state.cursor, "walk_mode": state.mode,
        "walk_started_at": state.started_at, "walk_top": state.top, "walk_stop_before": state.stop_before,
        "walk_pages": state.pages, "page_size": state.page_size, "watermark": state.watermark, "updated_at": now,
    }
    insert = dialect_insert(conn, sync_state)
    conn.execute(insert.values(values).on_conflict_do_update(
        index_elements=[sync_state.c.scope], set_={k: v for k, v in values.items() if k != "scope"}))


def save_run_stats(conn: Connection, run_id: int, stats: RunStats) -> None:
    conn.execute(update(sync_runs).where(sync_runs.c.id == run_id).values(**stats.as_dict()))


def store_page(engine: Engine, rows: list[MappedRow], *, rejected: int, state: WalkState, run_id: int,
               stats: RunStats, now: datetime) -> None:
    """Commit one page: its rows, the walk's checkpoint and the run's counters, all or nothing.

    ``stats`` is advanced only once the transaction has committed.
    """
    after = replace(stats)
    with engine.begin() as conn:
        inserted, updated, unchanged = upsert_models(conn, rows, now=now)
        after.pages += 1
        after.rows_seen += len(rows) + rejected
        after.rows_rejected += rejected
        after.rows_inserted += inserted
        after.rows_updated += updated
        after.rows_unchanged += unchanged
        save_state(conn, state, now=now)
        save_run_stats(conn, run_id, after)
    vars(stats).update(vars(after))
