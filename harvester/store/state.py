"""Each scope's walk state (`WalkState`) in ``sync_state``: loading, saving with a page, resetting."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update

from ..state import WalkState
from .clock import utc_if_time
from .dialect import upsert_capable_insert
from .schema import sync_state

# WalkState field -> its sync_state column (the scope is the key; ``updated_at`` is the page's time).
_COLUMNS = {
    "kind": "kind", "cursor": "cursor", "mode": "walk_mode", "started_at": "walk_started_at", "top": "walk_top",
    "stop_before": "walk_stop_before", "pages": "walk_pages", "page_size": "page_size", "watermark": "watermark",
    "sweep_since": "sweep_since", "position_created": "walk_position_created", "position_id": "walk_position_id",
}


def load_state(engine: Engine, scope: str, kind: str) -> WalkState:
    """A scope's walk state; a scope never synced gets an empty one."""
    with engine.connect() as conn:
        row = conn.execute(select(sync_state).where(sync_state.c.scope == scope)).mappings().first()
    if row is None:
        return WalkState(scope=scope, kind=kind)
    return WalkState(scope=scope, **{field: utc_if_time(row[column]) for field, column in _COLUMNS.items()})


def save_state(conn: Connection, state: WalkState, *, now: datetime) -> None:
    """Upsert a scope's walk state."""
    values: dict[str, Any] = {"scope": state.scope, **{column: getattr(state, field) for field, column in
                                                       _COLUMNS.items()}, "updated_at": now}
    upsert = upsert_capable_insert(conn.dialect, sync_state)
    conn.execute(upsert.values(values).on_conflict_do_update(
        index_elements=[sync_state.c.scope], set_={k: v for k, v in values.items() if k != "scope"}))


def restart_walk(engine: Engine, scope: str) -> None:
    """Drop a scope's unfinished walk, if any: its next run begins at the top (its watermark and
    sweep are kept)."""
    with engine.begin() as conn:
        conn.execute(update(sync_state).where(sync_state.c.scope == scope).values(
            cursor=None, walk_mode=None, walk_started_at=None, walk_top=None, walk_stop_before=None, walk_pages=0,
            walk_position_created=None, walk_position_id=None))


def reset_state(engine: Engine, kind: str | None = None) -> int:
    """Forget cursors and watermarks (the next run walks everything); rows are kept."""
    with engine.begin() as conn:
        statement = delete(sync_state)
        if kind is not None:
            statement = statement.where(sync_state.c.kind == kind)
        return conn.execute(statement).rowcount
