"""The graph of models, datasets, papers and spaces: the edges each repo's item states.

- ``link_relations`` (``code``, ``relation``, ``detail``): the eight relations, fixed here.
- ``link_targets`` (``id``, ``kind``, ``name``): every target once, as items write it.
- ``model_links``, ``dataset_links``, ``space_links``: one row per edge under the source's
  ``row_key``, with the target's id and the relation's code, indexed by target.
- Views: ``link_target_repos`` (each target and the catalog repo it names now, directly or
  through ``renames``), ``links`` (every edge of every live repo, readable), and the counts
  people rank by: ``base_model_counts``, ``dataset_model_counts``, ``model_space_counts``,
  ``paper_citations``.

The views need no JSON functions, so they read the same on SQLite and PostgreSQL. Existing rows
get their edges from their items (the views ``<kind>_raw``), with no Hub request. Spaces' items
hold ``models`` and ``datasets`` only once a listing serves them with those fields (from this
version on), so their ``uses`` edges come with the next listing of each space.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

import json
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

KINDS = {"models": "model", "datasets": "dataset", "spaces": "space"}
BATCH = 2_000
RELATIONS = [(1, "base_model", None), (2, "base_model", "finetune"), (3, "base_model", "quantized"),
             (4, "base_model", "adapter"), (5, "base_model", "merge"), (6, "trained_on", None), (7, "cites", None),
             (8, "uses", None)]


def upgrade() -> None:
    op.create_table(
        "link_relations",
        sa.Column("code", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("relation", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("code"),
    )
    op.bulk_insert(sa.table("link_relations", sa.column("code"), sa.column("relation"), sa.column("detail")),
                   [{"code": code, "relation": relation, "detail": detail} for code, relation, detail in RELATIONS])
    op.create_table(
        "link_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_link_targets_kind_name", "link_targets", ["kind", "name"], unique=True)
    for kind, one in KINDS.items():
        op.create_table(
            f"{one}_links",
            sa.Column(f"{one}_key", sa.Integer(), sa.ForeignKey(f"{kind}.row_key", ondelete="CASCADE"),
                      nullable=False),
            sa.Column("target_id", sa.Integer(), sa.ForeignKey("link_targets.id"), nullable=False),
            sa.Column("relation", sa.Integer(), sa.ForeignKey("link_relations.code"), nullable=False),
            sa.PrimaryKeyConstraint(f"{one}_key", "target_id"),
            sqlite_with_rowid=False,
        )
        _fill(kind)
        op.create_index(f"ix_{one}_links_target_id", f"{one}_links", ["target_id"])
    for name in VIEWS:
        op.execute(f"CREATE VIEW {name} AS {VIEWS[name]}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW {name}")
    for one in KINDS.values():
        op.drop_index(f"ix_{one}_links_target_id", table_name=f"{one}_links")
        op.drop_table(f"{one}_links")
    op.drop_index("ix_link_targets_kind_name", table_name="link_targets")
    op.drop_table("link_targets")
    op.drop_table("link_relations")


def _resolved(target_kind: str, name: str) -> str:
    """The id of the live catalog repo of ``target_kind`` that ``name`` names now: the repo of
    that id, else the repo of the latest rename from it (its ``hub_id`` finds it under any later
    id), as the Hub's redirect goes; nothing when that repo is gone. `harvester.graph` resolves
    old names by the same rule."""
    return (f"COALESCE((SELECT r.id FROM {target_kind} r WHERE r.id = {name} AND r.deleted_at IS NULL), "
            f"(SELECT r.id FROM {target_kind} r WHERE r.deleted_at IS NULL AND r.hub_id = ("
            f"SELECT n.hub_id FROM renames n WHERE n.kind = '{target_kind}' AND n.old_id = {name} "
            f"ORDER BY n.id DESC LIMIT 1)))")


def _edges(kind: str) -> str:
    one = KINDS[kind]
    return (f"SELECT '{kind}' AS source_kind, s.id AS source_id, r.relation AS relation, r.detail AS detail, "
            f"t.kind AS target_kind, t.name AS target_id, t.repo_id AS target_repo_id "
            f"FROM {one}_links l JOIN {kind} s ON s.row_key = l.{one}_key "
            f"JOIN link_relations r ON r.code = l.relation JOIN link_target_repos t ON t.target_id = l.target_id "
            f"WHERE s.deleted_at IS NULL")


def _ranked(name: str, total: str, source_kind: str, codes: str, target_kind: str,
            counts: dict[str, str] | None = None) -> str:
    """Per ``target_kind`` target: how many live ``source_kind`` repos point at it (``total``) with
    a relation in ``codes``, a repo's old and new names counted together; ``counts`` adds a
    column per relation code."""
    one, counts = KINDS[source_kind], counts or {}
    inner = "".join(f", sum(CASE WHEN l.relation {code} THEN 1 ELSE 0 END) AS {column}"
                    for column, code in counts.items())
    outer = "".join(f", {_integer(f'sum(g.{column})')} AS {column}" for column in counts)
    return (f"SELECT COALESCE(t.repo_id, t.name) AS {name}, max(CASE WHEN t.repo_id IS NULL THEN 0 ELSE 1 END) "
            f"AS in_catalog, {_integer('sum(g.n)')} AS {total}{outer} "
            f"FROM (SELECT l.target_id AS target_id, count(*) AS n{inner} FROM {one}_links l "
            f"JOIN {source_kind} s ON s.row_key = l.{one}_key AND s.deleted_at IS NULL "
            f"WHERE l.relation {codes} GROUP BY l.target_id) g "
            f"JOIN link_target_repos t ON t.target_id = g.target_id AND t.kind = '{target_kind}' "
            f"GROUP BY COALESCE(t.repo_id, t.name)")


def _integer(total: str) -> str:
    """A sum as an integer: PostgreSQL sums a bigint count as numeric, which reads as a Decimal."""
    return f"CAST({total} AS BIGINT)"


def _paper_citations() -> str:
    per_kind = " UNION ALL ".join(
        f"SELECT l.target_id AS target_id, '{kind}' AS source_kind FROM {one}_links l "
        f"JOIN {kind} s ON s.row_key = l.{one}_key AND s.deleted_at IS NULL WHERE l.relation = 7"
        for kind, one in KINDS.items())
    counts = ", ".join(f"{_integer(f'sum(CASE WHEN c.source_kind = {chr(39)}{kind}{chr(39)} THEN 1 ELSE 0 END)')} "
                       f"AS {kind}" for kind in KINDS)
    return (f"SELECT t.name AS paper, {counts} FROM ({per_kind}) c JOIN link_targets t ON t.id = c.target_id "
            f"GROUP BY t.name")


VIEWS = {
    "link_target_repos": (
        "SELECT t.id AS target_id, t.kind AS kind, t.name AS name, "
        f"CASE t.kind WHEN 'models' THEN {_resolved('models', 't.name')} "
        f"WHEN 'datasets' THEN {_resolved('datasets', 't.name')} END AS repo_id FROM link_targets t"),
    "links": " UNION ALL ".join(_edges(kind) for kind in KINDS),
    "base_model_counts": _ranked("base_id", "derivatives", "models", "BETWEEN 1 AND 5", "models", {
        "finetunes": "= 2", "quantizations": "= 3", "adapters": "= 4", "merges": "= 5", "unspecified": "= 1"}),
    "dataset_model_counts": _ranked("dataset_id", "models", "models", "= 6", "datasets"),
    "model_space_counts": _ranked("model_id", "spaces", "spaces", "= 8", "models"),
    "dataset_space_counts": _ranked("dataset_id", "spaces", "spaces", "= 8", "datasets"),
    "paper_citations": _paper_citations(),
}


# The edges an item states, as this revision reads them (a copy of harvester.mapping.item_links
# as of this revision, so that later changes to it never change what this upgrade does):
# relation codes as in RELATIONS above.
_DERIVATIONS = {None: 1, "finetune": 2, "quantized": 3, "adapter": 4, "merge": 5}
_TRAINED_ON, _CITES, _USES = 6, 7, 8


def _names(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [name.strip() for name in values if isinstance(name, str) and name.strip()]


def _tag_edge(kind: str, tag: str) -> tuple[int, str, str] | None:
    scheme, _, rest = tag.partition(":")
    if not rest.strip():
        return None
    if scheme in ("arxiv", "doi"):
        return _CITES, "papers", tag
    if kind != "models":
        return None
    if scheme == "base_model":
        derivation, _, repo = rest.partition(":")
        if derivation in _DERIVATIONS:
            return (_DERIVATIONS[derivation], "models", repo.strip()) if repo.strip() else None
        return _DERIVATIONS[None], "models", rest.strip()
    if scheme == "dataset":
        return _TRAINED_ON, "datasets", rest.strip()
    return None


def item_edges(kind: str, tags: list[str], card: Any, space_models: Any, space_datasets: Any
               ) -> list[tuple[int, str, str]]:
    """``(relation, target kind, target)`` for each target once; a derivation a tag gives wins."""
    found = [edge for edge in (_tag_edge(kind, tag) for tag in tags) if edge is not None]
    if kind == "models" and isinstance(card, dict):
        found += [(_DERIVATIONS[None], "models", name) for name in _names(card.get("base_model"))]
        found += [(_TRAINED_ON, "datasets", name) for name in _names(card.get("datasets"))]
    elif kind == "spaces":
        found += [(_USES, "models", name) for name in _names(space_models)]
        found += [(_USES, "datasets", name) for name in _names(space_datasets)]
    edges: dict[tuple[str, str], tuple[int, str, str]] = {}
    for edge in found:
        key = edge[1:]
        if key not in edges or edges[key][0] == _DERIVATIONS[None] != edge[0]:
            edges[key] = edge
    return list(edges.values())


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _fill(kind: str) -> None:
    """The edges of every row of ``kind`` from its tags, card and (spaces) the fields kept in
    ``raw_extra``, a batch of rows at a time: read from the tables, not through ``<kind>_raw``,
    which rebuilds whole items (41 of 45 s of this upgrade for 40,000 models on PostgreSQL)."""
    one, conn, last = KINDS[kind], op.get_bind(), 0
    meta = sa.MetaData()
    targets = sa.Table("link_targets", meta, sa.Column("id", sa.Integer, primary_key=True),
                       sa.Column("kind", sa.String(16)), sa.Column("name", sa.String))
    edges_table = sa.Table(f"{one}_links", meta, sa.Column(f"{one}_key", sa.Integer),
                           sa.Column("target_id", sa.Integer), sa.Column("relation", sa.Integer))
    card_column = "r.card_data" if kind == "models" else "NULL"
    while rows := conn.execute(sa.text(
            f"SELECT r.row_key, {card_column}, r.raw_extra FROM {kind} r WHERE r.row_key > :last "
            f"ORDER BY r.row_key LIMIT {BATCH}"), {"last": last}).all():
        tags: dict[int, list[str]] = defaultdict(list)
        for key, tag in conn.execute(sa.text(
                f"SELECT t.{one}_key, n.tag FROM {one}_tag_keys t JOIN tag_names n ON n.id = t.tag_id "
                f"WHERE t.{one}_key BETWEEN :first AND :last ORDER BY t.{one}_key, t.position"),
                {"first": rows[0][0], "last": rows[-1][0]}):
            tags[key].append(tag)
        stated = []
        for key, card_data, raw_extra in rows:
            extra = _json(raw_extra)
            if isinstance(extra, list) and extra and isinstance(extra[0], dict):  # the whole item, kept as served
                item = extra[0]
                item_tags = item.get("tags") if isinstance(item.get("tags"), list) else []
                item_tags = list(dict.fromkeys(tag for tag in item_tags if isinstance(tag, str)))
                found = item_edges(kind, item_tags, item.get("cardData"), item.get("models"), item.get("datasets"))
            else:
                patch = extra if isinstance(extra, dict) else {}  # what the columns could not say
                card = patch["cardData"] if "cardData" in patch else _json(card_data)
                found = item_edges(kind, tags[key], card, patch.get("models"), patch.get("datasets"))
            stated += [(key, edge) for edge in found]
        ids = {target_kind: _target_ids(conn, targets, target_kind, {name for _, (_, k, name) in stated
                                                                         if k == target_kind})
               for target_kind in {edge[1] for _, edge in stated}}
        if stated:
            conn.execute(edges_table.insert(), [
                {f"{one}_key": key, "target_id": ids[target_kind][name], "relation": relation}
                for key, (relation, target_kind, name) in sorted(stated)])
        last = rows[-1][0]


def _target_ids(conn: Any, targets: sa.Table, kind: str, names: set[str]) -> dict[str, int]:
    """The ids of ``names`` among the targets of ``kind``, the new ones added."""
    wanted = sorted(names)
    ids: dict[str, int] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        ids.update(conn.execute(sa.select(targets.c.name, targets.c.id)
                                .where(targets.c.kind == kind, targets.c.name.in_(chunk))).all())
        new = [name for name in chunk if name not in ids]
        if new:
            conn.execute(targets.insert(), [{"kind": kind, "name": name} for name in new])
            ids.update(conn.execute(sa.select(targets.c.name, targets.c.id)
                                    .where(targets.c.kind == kind, targets.c.name.in_(new))).all())
    return ids
