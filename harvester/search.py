"""`harvester search`: full-text search over repo ids and their cards.

On SQLite the FTS5 table ``<kind>_search`` (each repo under its ``row_key`` as rowid) follows the
change log: before a search it re-indexes the repos changed since it was last brought up to date
(``search_indexed``), or rebuilds it whole when most of the catalog changed, so syncs never pay
for it. On PostgreSQL the text search runs over the catalog directly (see ``dialect.search_sql``).
Both index the same words.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Connection, Engine, Integer, MetaData, Table, Text, delete, func, insert, select, text

from .store.dialect import search_sql, upsert_capable_insert
from .store.schema import REPO_TABLES, changes, search_indexed

BATCH = 5_000
REBUILD_SHARE = 0.2  # re-index changed repos one by one below this share of the catalog, else rebuild
SUMMARY_COLUMNS = ("author", "pipeline_tag", "library_name", "license", "description", "sdk")
CARD_KEYS = ("pretty_name", "tags", "language", "datasets", "base_model", "pipeline_tag", "library_name", "license")


def summary(row: dict[str, Any]) -> str:
    """The words a repo is found by, besides its id: author, task, library, license and card fields."""
    words = [row.get(name) for name in SUMMARY_COLUMNS]
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
    table = REPO_TABLES[kind][0]
    sql = search_sql(engine.dialect, kind, [c for c in SUMMARY_COLUMNS if c in table.c], CARD_KEYS)
    refresh_index(engine, kind)
    query = fts_query(words) if engine.dialect.name == "sqlite" else words
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(text(sql), {"query": query, "limit": limit}).mappings()]


def refresh_index(engine: Engine, kind: str) -> int:
    """Bring ``<kind>_search`` up to the change log; returns how many repos were (re)indexed.
    PostgreSQL has no such index to keep (0)."""
    if engine.dialect.name != "sqlite":
        return 0
    with engine.begin() as conn:
        current = conn.execute(select(func.coalesce(func.max(changes.c.seq), 0))
                               .where(changes.c.kind == kind)).scalar_one()
        indexed = conn.execute(select(search_indexed.c.seq).where(search_indexed.c.kind == kind)).scalar()
        if indexed == current:
            return 0
        touched = None if indexed is None else _touched(conn, kind, since=indexed)
        table = REPO_TABLES[kind][0]
        if touched is None or len(touched) > REBUILD_SHARE * conn.execute(select(func.count()).select_from(table)
                                                                           ).scalar_one():
            count = _index(conn, kind, None)
        else:
            count = _index(conn, kind, touched)
        upsert = upsert_capable_insert(conn.dialect, search_indexed).values(kind=kind, seq=current)
        conn.execute(upsert.on_conflict_do_update(index_elements=["kind"], set_={"seq": current}))
        return count


def _touched(conn: Connection, kind: str, *, since: int) -> set[str]:
    """Repo ids the change log names after ``since``: changed, renamed (both names), deleted."""
    ids: set[str] = set()
    for repo_id, previous_id in conn.execute(select(changes.c.repo_id, changes.c.previous_id)
                                             .where(changes.c.kind == kind, changes.c.seq > since)):
        ids.add(repo_id)
        if previous_id:
            ids.add(previous_id)
    return ids


def _index(conn: Connection, kind: str, ids: set[str] | None) -> int:
    """Replace the index entries of ``ids`` (None: all) with their live rows' words."""
    table = REPO_TABLES[kind][0]
    index = _search_table(kind)
    ordered = sorted(ids or ())
    chunks = [None] if ids is None else [ordered[i:i + BATCH] for i in range(0, len(ordered), BATCH)]
    wanted = [table.c.id, table.c.row_key, table.c.card_data, *(table.c[c] for c in SUMMARY_COLUMNS if c in table.c)]
    count = 0
    # Every old entry goes before any new one: a renamed repo keeps its row_key (the rowid) under
    # its new id, and its old id may fall in a later chunk.
    for chunk in chunks:
        conn.execute(delete(index) if chunk is None else delete(index).where(index.c.repo_id.in_(chunk)))
    for chunk in chunks:
        live = select(*wanted).where(table.c.deleted_at.is_(None))
        if chunk is not None:
            live = live.where(table.c.id.in_(chunk))
        result = conn.execution_options(yield_per=BATCH).execute(live)
        for rows in result.mappings().partitions():
            conn.execute(insert(index), [{"rowid": row["row_key"], "repo_id": row["id"], "summary": summary(dict(row))}
                                         for row in rows])
            count += len(rows)
    return count


def _search_table(kind: str) -> Table:
    """Each repo under its ``row_key`` as rowid (revision 0014), which Datasette's search joins on."""
    return Table(f"{kind}_search", MetaData(), Column("rowid", Integer), Column("repo_id", Text),
                 Column("summary", Text))
