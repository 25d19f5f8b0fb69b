"""`harvester search`: full-text search over repo ids, their card data and their card text.

``<kind>_search`` (each repo under its ``row_key`` as rowid; FTS5 on SQLite, a tsvector under a
GIN index on PostgreSQL, revision 0017) follows the change log: before a search it re-indexes the
repos changed since it was last brought up to date (``search_indexed``), or rebuilds it whole
when most of the catalog changed, so syncs never pay for it. The cards lane logs ``card`` when a
card's text changed, so a refresh indexes the new text. Both backends index the same words: the
id, a summary (`summary`) and the card's first ``CARD_CHARS`` characters (`card_words`).
Matches come with a snippet of their card (`snippet`), made here for both backends.
"""

from __future__ import annotations

import re
import time
import unicodedata
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    Table,
    Text,
    delete,
    func,
    select,
    text,
    union,
)

from .kinds import KINDS
from .logs import log
from .store.cards import as_text
from .store.dialect import greatest, index_search_entries, search_sql, upsert_capable_insert
from .store.engine import describe, writable
from .store.schema import changes, search_indexed

CHUNK = 20_000  # row keys per transaction: about half a second of writing (benchmarks/search_refresh.py)
PAUSE = 0.12  # seconds between transactions: more than SQLite's longest busy wait (0.1 s), so a waiting writer gets in
REBUILD_SHARE = 0.2  # re-index changed repos one by one below this share of the catalog, else rebuild
SUMMARY_COLUMNS = ("author", "pipeline_tag", "library_name", "license", "description", "sdk")
CARD_CHARS = 100_000  # of a card's text indexed: PostgreSQL's tsvector holds at most 1 MB, positions 16,383
SNIPPET = 160  # characters of card text around the first word found
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
    """The live repos of ``kind`` matching every word, best first, each with a ``snippet`` of its
    card around the first word found there (None if the card does not have one)."""
    if not words.split():
        return []
    if writable(engine):
        refresh_index(engine, kind)
    else:
        log.warning(f"catalog {describe(engine)!r} is read-only for this user: searching the index as the last "
                    "`harvester search` (or serve) that could write it left it")
    query = fts_query(words) if engine.dialect.name == "sqlite" else words
    cards, key = KINDS[kind].cards, KINDS[kind].key
    with engine.connect() as conn:
        found = [dict(row) for row in conn.execute(text(search_sql(engine.dialect, kind)),
                                                   {"query": query, "limit": limit}).mappings()]
        bodies = dict(conn.execute(select(cards.c[key], cards.c.body)
                                   .where(cards.c[key].in_([row["row_key"] for row in found]))).all())
    for row in found:
        row["snippet"] = snippet(as_text(bodies.get(row.pop("row_key"))), words)
    return found


def card_words(body: bytes | None) -> str:
    """What the index holds of a stored card: its text, NUL as a space (PostgreSQL's text has no
    NUL), cut at ``CARD_CHARS``."""
    return (as_text(body) or "")[:CARD_CHARS].replace("\x00", " ")


_SPACES = re.compile(r"\s+")


def snippet(card: str | None, words: str) -> str | None:
    """About ``SNIPPET`` characters of ``card`` around the first of ``words`` in it, on one line,
    with control and format characters (escape sequences, bidi overrides) as spaces, so that a
    terminal shows the card's words and nothing else; None if no word is in it."""
    if not card:
        return None
    folded = card.casefold()
    places = [at for word in words.split() if (at := folded.find(word.casefold())) >= 0]
    if not places:
        return None
    start = max(0, min(places) - SNIPPET // 3)
    piece = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in card[start:start + SNIPPET])
    return ("…" if start else "") + _SPACES.sub(" ", piece).strip() + ("…" if start + SNIPPET < len(card) else "")


def refresh_index(engine: Engine, kind: str) -> int:
    """Bring ``<kind>_search`` up to the change log; returns how many repos were (re)indexed.

    The work goes in transactions of ``CHUNK`` row keys with a pause between them, so that a sync
    waiting for the write lock gets in between: a whole rebuild of 1,000,000 models takes about
    90 s, three times a sync's busy timeout, and about 6 minutes if each has a card
    (`benchmarks/cards.py --search-cards`). Each transaction re-reads its repos, so what it writes
    is their truth at its commit, whatever committed in between; the position (``search_indexed``)
    moves only at the end, to the change read at the start, so what changed during the refresh is
    indexed again next time, and a refresh cut short starts over.
    """
    with engine.connect() as conn:
        current = conn.execute(select(func.coalesce(func.max(changes.c.seq), 0))
                               .where(changes.c.kind == kind)).scalar_one()
        indexed = conn.execute(select(search_indexed.c.seq).where(search_indexed.c.kind == kind)).scalar()
        if indexed == current:
            return 0
        chunks = _chunks(conn, kind, since=indexed)
    if len(chunks) > 1 and isinstance(chunks[0], range):  # said only when it is slow: a whole rebuild, after an upgrade
        log.info(f"rebuilding the search index of {kind}: about 90 s per 1,000,000 repos and 5 minutes more per "
                 "1,000,000 cards (once, after an upgrade or when most of the catalog changed)")
    count = 0
    for number, keys in enumerate(chunks):
        if number:
            time.sleep(PAUSE)
        with engine.begin() as conn:
            count += _index(conn, kind, keys)
    with engine.begin() as conn:
        upsert = upsert_capable_insert(conn.dialect, search_indexed).values(kind=kind, seq=current)
        # never back: a refresh that started later (another process's) may have finished first
        conn.execute(upsert.on_conflict_do_update(index_elements=["kind"],
                                                  set_={"seq": greatest(conn.dialect, search_indexed.c.seq, current)}))
    return count


def _chunks(conn: Connection, kind: str, *, since: int | None) -> list[range | list[int]]:
    """The row keys to index again, a transaction's worth each: those of the repos the change log
    names after ``since`` (changed, renamed under either name, deleted) and of their old entries,
    or ranges over every row key when there is no ``since`` or most of the catalog changed."""
    table = KINDS[kind].repos
    total, top = conn.execute(select(func.count(), func.coalesce(func.max(table.c.row_key), 0))).one()
    if since is not None:
        keys = _touched_keys(conn, kind, since=since)
        if len(keys) <= REBUILD_SHARE * total:
            return [keys[i:i + CHUNK] for i in range(0, len(keys), CHUNK)]
    return [range(low, min(low + CHUNK, top + 1)) for low in range(0, top + 1, CHUNK)]


def _touched_keys(conn: Connection, kind: str, *, since: int) -> list[int]:
    """Row keys of the repos the change log names after ``since``, and the index's entries under
    those names (a renamed repo's old entry, a deleted repo's), in order."""
    table = KINDS[kind].repos
    index = _search_table(kind)
    logged = changes.c.kind == kind, changes.c.seq > since
    names = union(select(changes.c.repo_id).where(*logged),
                  select(changes.c.previous_id).where(*logged, changes.c.previous_id.is_not(None))).subquery()
    named = select(names.c[0])
    keys = union(select(table.c.row_key).where(table.c.id.in_(named)),
                 select(index.c.rowid).where(index.c.repo_id.in_(named)))
    return sorted(conn.execute(keys).scalars())


def _index(conn: Connection, kind: str, keys: range | list[int]) -> int:
    """Replace the index entries under ``keys`` with their live rows' words and card text."""
    table, cards = KINDS[kind].repos, KINDS[kind].cards
    index = _search_table(kind)
    if isinstance(keys, range):
        conn.execute(delete(index).where(index.c.rowid >= keys.start, index.c.rowid < keys.stop))
        chosen = table.c.row_key.between(keys.start, keys.stop - 1)
    else:
        conn.execute(delete(index).where(index.c.rowid.in_(keys)))
        chosen = table.c.row_key.in_(keys)
    wanted = [table.c.id, table.c.row_key, table.c.card_data, *(table.c[c] for c in SUMMARY_COLUMNS if c in table.c),
              cards.c.body]
    rows = conn.execute(select(*wanted).outerjoin(cards, cards.c[KINDS[kind].key] == table.c.row_key)
                        .where(chosen, table.c.deleted_at.is_(None))).mappings().all()
    index_search_entries(conn, kind, [{"rowid": row["row_key"], "repo_id": row["id"], "summary": summary(dict(row)),
                                       "card": card_words(row["body"])} for row in rows])
    return len(rows)


def _search_table(kind: str) -> Table:
    """Each repo under its ``row_key`` as rowid (revision 0014), which Datasette's search joins on;
    the columns both backends' tables have."""
    return Table(f"{kind}_search", MetaData(), Column("rowid", Integer), Column("repo_id", Text))
