"""Card text: each repo's README body from `sync --cards`, and a search index that includes it.

- ``<one>_cards`` (one table per kind, keyed by the repo's ``row_key``): the body after the
  YAML front matter (which is ``card_data`` already), zlib-compressed as served, with the commit it
  was read at, its state ('card', 'none', 'unreadable'), its size, whether it was cut at the
  cap, the Hub's refusal and when it was read. An INTEGER PRIMARY KEY, so on SQLite rows sit in
  key order with no other index.
- ``<kind>_search`` on SQLite: FTS5 over (repo_id, summary, card) instead of (repo_id, summary);
  on PostgreSQL, a new table (rowid = ``row_key``, repo_id, document tsvector) under a GIN index,
  kept by `harvester search` from the change log as SQLite's is (until now PostgreSQL computed
  each repo's words at every search, a whole scan). Both are emptied and ``search_indexed``
  forgotten: the next `harvester search` or `harvester serve` rebuilds them, with no Hub request.

The downgrade drops the card tables and gives SQLite back its two-column index (rebuilt by the
next search) and PostgreSQL its search without an index.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

KINDS = ("models", "datasets", "spaces")
ONE = ("model", "dataset", "space")


def upgrade() -> None:
    for kind, one in zip(KINDS, ONE, strict=True):
        op.create_table(
            f"{one}_cards",
            sa.Column(f"{one}_key", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("sha", sa.String(), nullable=False),
            sa.Column("state", sa.String(length=16), nullable=False),
            sa.Column("body", sa.LargeBinary(), nullable=True),
            sa.Column("size", sa.Integer(), nullable=True),
            sa.Column("truncated", sa.Boolean(), nullable=False),
            sa.Column("error", sa.String(), nullable=True),
            sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint([f"{one}_key"], [f"{kind}.row_key"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint(f"{one}_key"),
        )
    if op.get_bind().dialect.name == "sqlite":
        for kind in KINDS:  # dropping is instant where DELETE rewrites the whole index
            op.execute(f"DROP TABLE {kind}_search")
            op.execute(f"CREATE VIRTUAL TABLE {kind}_search USING fts5(repo_id, summary, card, tokenize='unicode61')")
    else:
        for kind in KINDS:
            op.execute(f"CREATE TABLE {kind}_search (rowid integer PRIMARY KEY, repo_id text NOT NULL, "
                       "document tsvector NOT NULL)")
            op.execute(f"CREATE INDEX ix_{kind}_search_document ON {kind}_search USING gin (document)")
    op.execute("DELETE FROM search_indexed")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for kind in KINDS:
            op.execute(f"DROP TABLE {kind}_search")
            op.execute(f"CREATE VIRTUAL TABLE {kind}_search USING fts5(repo_id, summary, tokenize='unicode61')")
    else:
        for kind in KINDS:
            op.execute(f"DROP TABLE {kind}_search")
    op.execute("DELETE FROM search_indexed")
    for one in ONE:
        op.drop_table(f"{one}_cards")
