"""The cards lane's rows: which repos are due, and their README bodies stored compressed.

A body is stored as the Hub served it (bytes: invalid UTF-8 and control characters kept),
zlib-compressed at level 9, capped at ``MAX_BODY`` bytes before compression. It is read back as
text with invalid bytes replaced (U+FFFD), which is also what the search index holds.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import Connection, Engine, exists, select, text

from ..kinds import KINDS
from .changes import ChangeLog
from .dialect import upsert_capable_insert

if TYPE_CHECKING:
    from .transactions import PageBatch

# The largest body stored, in bytes: real cards reach a few MB (tables of benchmark results,
# pasted logs); the first MiB says what the repo is, and the rest is counted (`truncated`).
MAX_BODY = 1 << 20
LEVEL = 9  # zlib's; 6 gave 1-2 % more bytes for the same CPU (benchmarks/cards.py)


class Due(NamedTuple):
    """A repo whose card is missing or was read at another commit."""

    row_key: int
    repo_id: str
    hub_id: str
    sha: str


class FetchedCard(NamedTuple):
    """A card as the lane fetched it, ready to store."""

    due: Due
    state: str  # card, none or unreadable
    body: bytes | None = None  # the body after the front matter, capped at MAX_BODY
    size: int | None = None  # bytes as served
    error: str | None = None


def compress(body: bytes) -> bytes:
    return zlib.compress(body, LEVEL)


def as_text(stored: bytes | None) -> str | None:
    """A stored body as text: invalid UTF-8 replaced by U+FFFD, everything else as served."""
    return None if stored is None else zlib.decompress(stored).decode("utf-8", errors="replace")


def pending_cards(engine: Engine, kind: str, *, where: str, after: int, limit: int) -> list[Due]:
    """Live repos matching ``where`` (an expression over the repo row, checked by
    `where.check_where`; ``engine`` should be read-only) whose card is missing or was read at
    another commit, by ``row_key`` after ``after``, so a run passes each repo once."""
    table, cards = KINDS[kind].repos, KINDS[kind].cards
    key = cards.c[KINDS[kind].key]
    read = exists().where(key == table.c.row_key, cards.c.sha == table.c.sha)
    due = (select(table.c.row_key, table.c.id, table.c.hub_id, table.c.sha)
           .where(table.c.deleted_at.is_(None), table.c.sha.is_not(None), table.c.row_key > after, ~read,
                  text(f"({where})"))
           .order_by(table.c.row_key).limit(limit))
    with engine.connect() as conn:
        return [Due(*row) for row in conn.execute(due)]


def card_row(fetched: FetchedCard, *, key: str, now: datetime) -> dict:
    body = fetched.body
    return {key: fetched.due.row_key, "sha": fetched.due.sha, "state": fetched.state,
            "body": None if body is None else compress(body), "size": fetched.size,
            "truncated": fetched.size is not None and body is not None and fetched.size > len(body),
            "error": fetched.error, "fetched_at": now}


def replace_cards(conn: Connection, kind: str, fetched: list[FetchedCard], *, now: datetime,
                  run_id: int | None = None) -> int:
    """Store the cards (in place of the ones read at an older commit) and log ``card`` for each
    repo whose text changed; returns how many changed."""
    spec = KINDS[kind]
    cards, key = spec.cards, spec.key
    rows = sorted((card_row(card, key=key, now=now) for card in fetched), key=lambda row: row[key])
    old = dict(conn.execute(select(cards.c[key], cards.c.body).where(cards.c[key].in_([r[key] for r in rows]))).all())
    upsert = upsert_capable_insert(conn.dialect, cards)
    conn.execute(upsert.on_conflict_do_update(index_elements=[key], set_={
        name: upsert.excluded[name] for name in ("sha", "state", "body", "size", "truncated", "error", "fetched_at")}),
        rows)
    log = ChangeLog(kind, run_id=run_id, now=now)
    changed = 0
    for card, row in zip(sorted(fetched, key=lambda card: card.due.row_key), rows, strict=True):
        if old.get(row[key]) != row["body"]:  # zlib at one level gives the same bytes for the same body
            changed += 1
            log.add("update", card.due.hub_id, card.due.repo_id, fields=["card"])
    log.write(conn)
    return changed


def store_cards_page(batch: PageBatch, kind: str, fetched: list[FetchedCard], *, skipped: int) -> None:
    """Store one batch of the cards lane: the cards and the run's counts (``skipped``: repos
    whose commit the Hub no longer has, left for the next listing walk)."""

    batch.store_work(lambda conn, now: replace_cards(conn, kind, fetched, now=now, run_id=batch.run_id),
                     len(fetched), rejected=skipped)


def read_card(conn: Connection, kind: str, repo_id: str) -> tuple[str, str | None] | None:
    """A repo's stored card: (state, body as text), or None if the lane has not read it."""
    spec = KINDS[kind]
    cards, table = spec.cards, spec.repos
    row = conn.execute(select(cards.c.state, cards.c.body).join_from(cards, table, cards.c[spec.key] == table.c.row_key)
                       .where(table.c.id == repo_id)).first()
    return None if row is None else (row.state, as_text(row.body))
