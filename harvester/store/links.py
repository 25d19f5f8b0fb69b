"""The graph's edges, written in the page's transaction with the rows that state them; and the
bases the Hub computes for a model, written by the details lane."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, delete, select

from ..kinds import KINDS
from ..mapping import Link, MappedRow
from .dialect import insert_many
from .dictionary import dictionary_ids
from .schema import link_targets, model_hub_bases


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


def replace_hub_bases(conn: Connection, bases: dict[int, list[Link]]) -> set[int]:
    """Store the bases the Hub computes for models (``bases`` by ``row_key``) in place of those
    stored; returns the keys whose bases changed (only those are rewritten)."""
    table = model_hub_bases
    stored: dict[int, set[tuple[int, str]]] = defaultdict(set)
    for key, relation, name in conn.execute(
            select(table.c.model_key, table.c.relation, link_targets.c.name)
            .join(link_targets, link_targets.c.id == table.c.target_id).where(table.c.model_key.in_(sorted(bases)))):
        stored[key].add((relation, name))
    changed = {key for key, links in bases.items()
               if stored.get(key, set()) != {(link.relation, link.target) for link in links}}
    if not changed:
        return changed
    conn.execute(delete(table).where(table.c.model_key.in_(sorted(changed))))
    names = {link.target for key in changed for link in bases[key]}
    ids = dictionary_ids(conn, link_targets, link_targets.c.name, names, kind="models")
    rows = sorted((key, ids[link.target], link.relation) for key in changed for link in bases[key])
    if rows:  # in primary key order
        insert_many(conn, table, ("model_key", "target_id", "relation"), rows)
    return changed
