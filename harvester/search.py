"""`harvester search`: full-text search over repo ids and their cards.

On SQLite the FTS5 table ``<kind>_search`` is rebuilt from the catalog, in one transaction,
whenever the change log has moved since it was last filled (``search_indexed``), so syncs never
pay for it and a search after a sync pays once. On PostgreSQL the text search runs over the
catalog directly (see ``dialect.search_sql``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Connection, Engine, MetaData, Table, Text, delete, func, insert, select, text

from .store.dialect import search_sql, upsert_capable_insert
from .store.schema import REPO_TABLES, changes, search_indexed

BATCH = 5_000
CARD_KEYS = ("pretty_name", "tags", "language", "datasets", "base_model", "pipeline_tag", "library_name", "license")


def summary(row: dict[str, Any]) -> str:
    """The words a repo is found by, besides its id: author, task, library, license and card fields."""
    words = [row.get(name) for name in ("author", "pipeline_tag", "library_name", "license", "description", "sdk")]
    card = row.get("card_data")
    if isinstance(card, dict):
        for key in CARD_KEYS:
            value = card.get(key)
            words.extend(value if isinstance(value, list) else [value])
    return " ".join(str(word) for word in words if isinstance(word, str | int | float) and word != "")


def fts_query(words: str) -> str:
    """Plain words as an FTS5 query: each a quoted phrase (so '/', '-' or quotes are not syntax), all required."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in words.split())


def search(engine: Engine, words: str, *, kind: str = "models", limit: int = 20) -> list[dict[str, Any]]:
    """The live repos of ``kind`` matching every word, best first."""
    if not words.split():
        return []
    query = words
    if engine.dialect.name == "sqlite":
        refresh_index(engine, kind)
        query = fts_query(words)
    with engine.connect() as conn:
        result = conn.execute(text(search_sql(engine.dialect, kind)), {"query": query, "limit": limit})
        return [dict(row) for row in result.mappings()]


def refresh_index(engine: Engine, kind: str) -> bool:
    """Rebuild ``<kind>_search`` if the change log moved since it was filled; returns whether it did."""
    with engine.begin() as conn:
        current = conn.execute(select(func.coalesce(func.max(changes.c.seq), 0))
                               .where(changes.c.kind == kind)).scalar_one()
        indexed = conn.execute(select(search_indexed.c.seq).where(search_indexed.c.kind == kind)).scalar()
        if indexed == current:
            return False
        _rebuild(conn, kind)
        upsert = upsert_capable_insert(conn.dialect, search_indexed).values(kind=kind, seq=current)
        conn.execute(upsert.on_conflict_do_update(index_elements=["kind"], set_={"seq": current}))
        return True


def _rebuild(conn: Connection, kind: str) -> None:
    table = REPO_TABLES[kind][0]
    search_table = _search_table(kind)
    conn.execute(delete(search_table))
    wanted = [c for c in table.columns if c.name in ("id", "author", "pipeline_tag", "library_name", "license",
                                                      "description", "sdk", "card_data")]
    result = conn.execution_options(yield_per=BATCH).execute(select(*wanted).where(table.c.deleted_at.is_(None)))
    for rows in result.mappings().partitions():
        conn.execute(insert(search_table), [{"repo_id": row["id"], "summary": summary(dict(row))} for row in rows])


def _search_table(kind: str) -> Table:
    return Table(f"{kind}_search", MetaData(), Column("repo_id", Text), Column("summary", Text))
