"""The graph's edges: ``links``, one row per edge a repo's item states.

``(source_kind, source_key)`` is the repo (its ``row_key``, kept across renames); ``relation``
is base_model (``detail``: finetune, quantized, adapter, merge, or NULL when the item does not
say), trained_on, cites or uses; ``(target_kind, target_id)`` the target as written: a model or
dataset repo id, or a paper as ``arxiv:<id>`` or ``doi:<id>``. Existing rows get their edges
from their items (the views ``<kind>_raw``), with no Hub request.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

KINDS = ("models", "datasets", "spaces")
BATCH = 2_000


def upgrade() -> None:
    op.create_table(
        "links",
        sa.Column("source_kind", sa.String(16), nullable=False),
        sa.Column("source_key", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(16), nullable=False),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("target_id", sa.String(), nullable=False),
        sa.Column("detail", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("source_kind", "source_key", "relation", "target_kind", "target_id"),
        sqlite_with_rowid=False,
    )
    for kind in KINDS:
        _fill(kind)
    op.create_index("ix_links_target", "links", ["target_kind", "target_id"])


def downgrade() -> None:
    op.drop_index("ix_links_target", table_name="links")
    op.drop_table("links")


def _item(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _fill(kind: str) -> None:
    """The edges of every row of ``kind`` from its item, a batch of rows at a time."""
    from harvester.links import item_links

    conn, last = op.get_bind(), None
    insert = sa.text("INSERT INTO links (source_kind, source_key, relation, target_kind, target_id, detail) "
                     "VALUES (:kind, :key, :relation, :target_kind, :target_id, :detail)")
    while True:
        after = "" if last is None else "AND r.row_key > :last "
        rows = conn.execute(sa.text(f"SELECT r.row_key, v.raw FROM {kind} r JOIN {kind}_raw v ON v.id = r.id "
                                    f"WHERE r.row_key IS NOT NULL {after}ORDER BY r.row_key LIMIT {BATCH}"),
                            {"last": last}).all()
        if not rows:
            return
        edges = []
        for key, raw in rows:
            item = _item(raw)
            if not isinstance(item, dict):
                continue
            tags = item.get("tags")
            tags = list(dict.fromkeys(t for t in tags if isinstance(t, str))) if isinstance(tags, list) else []
            edges += [{"kind": kind, "key": key, **link._asdict()} for link in item_links(kind, item, tags)]
        if edges:
            conn.execute(insert, edges)
        last = rows[-1][0]
