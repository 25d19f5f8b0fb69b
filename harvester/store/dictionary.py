"""Integer ids for strings a catalog stores many times over: tag names, the graph's targets."""

from __future__ import annotations

from sqlalchemy import Column, Connection, Table, select

from .dialect import insert_many


def dictionary_ids(conn: Connection, table: Table, column: Column, names: set[str], **fixed: str) -> dict[str, int]:
    """The ids of ``names`` in ``table`` (by ``column``, within the rows whose ``fixed`` columns
    have those values), the new ones added. Pages that write rows hold the change-log lock
    (`lock_change_log`), so no other writer adds the same name meanwhile."""
    if not names:
        return {}
    scope = [table.c[name] == value for name, value in fixed.items()]
    query = select(column, table.c.id).where(*scope)
    ids = dict(conn.execute(query.where(column.in_(names))).all())
    new = sorted(names - ids.keys())
    if new:
        insert_many(conn, table, (*fixed, column.name), [(*fixed.values(), name) for name in new])
        ids.update(conn.execute(query.where(column.in_(new))).all())
    return ids
