"""The graph's edges, written in the page's transaction with the rows that state them."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, delete

from ..kinds import KINDS
from ..mapping import MappedRow
from .dialect import insert_many
from .dictionary import dictionary_ids
from .schema import link_targets


def write_links(conn: Connection, kind: str, rows: list[MappedRow], keys: dict[str, int], *,
                replacing: list[int]) -> None:
    """Store the edges of ``rows`` under their ``row_key``s (``keys``), in place of those stored
    under the ``replacing`` keys."""
    table, key = KINDS[kind].links, KINDS[kind].key
    if replacing:
        conn.execute(delete(table).where(table.c[key].in_(sorted(replacing))))
    named: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        for link in row.links:
            named[link.target_kind].add(link.target)
    ids = {target_kind: dictionary_ids(conn, link_targets, link_targets.c.name, names, kind=target_kind)
           for target_kind, names in named.items()}
    edges = sorted((keys[row.id], ids[link.target_kind][link.target], link.relation)
                   for row in rows for link in row.links)
    if edges:  # in primary key order
        insert_many(conn, table, (key, "target_id", "relation"), edges)
