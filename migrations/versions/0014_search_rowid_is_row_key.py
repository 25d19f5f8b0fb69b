"""The full-text index stores each repo under its ``row_key`` as rowid, so that Datasette's search
(``harvester serve``: ``fts_table`` with ``fts_pk`` = ``row_key``) finds the repo rows it matched.

Until now ``<kind>_search`` rowids were whatever FTS5 gave each insert. The indexes (SQLite only)
are emptied and ``search_indexed`` forgotten, so the next ``harvester search`` or ``harvester
serve`` rebuilds them from the catalog (0.8 s per 100,000 models), with no Hub request. The
downgrade keeps the index: an older harvester does not read its rowids.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

KINDS = ("models", "datasets", "spaces")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for kind in KINDS:  # dropping is instant where DELETE rewrites the whole index
            op.execute(f"DROP TABLE {kind}_search")
            op.execute(f"CREATE VIRTUAL TABLE {kind}_search USING fts5(repo_id, summary, tokenize='unicode61')")
    op.execute("DELETE FROM search_indexed")


def downgrade() -> None:
    pass
