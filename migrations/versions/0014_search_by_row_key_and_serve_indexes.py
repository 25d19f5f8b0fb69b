"""What `harvester serve` needs: search joinable by Datasette, and two indexes for its dashboard.

- The full-text index stores each repo under its ``row_key`` as rowid, so that Datasette's
  search (``fts_table`` with ``fts_pk`` = ``row_key``) finds the repo rows it matched. Until now
  ``<kind>_search`` rowids were whatever FTS5 gave each insert. The indexes (SQLite only) are
  emptied and ``search_indexed`` forgotten, so the next ``harvester search`` or ``harvester
  serve`` rebuilds them from the catalog, with no Hub request.
- ``ix_models_live_created_at`` (``created_at``, ``pipeline_tag``) over live models: the chart
  of new models per week by task reads only its weeks, 1.2 s -> 0.3 s at 1,000,000 models.
- ``ix_models_row_key_deleted_at``: joins from links and tags to live models read the index
  instead of each row (counting ``models_current`` 0.63 s -> 0.08 s at 1,000,000 models).
- ``ix_<kind>_links_target_id`` gains the relation: with the index above, the ranked counts
  (``base_model_counts``, ``dataset_model_counts``, ...) read indexes alone, 2.0-2.4 s -> 0.7 s
  for the 1.4 million base-model edges of 1,000,000 models.

Measured with ``benchmarks/serve.py``. What the three cost a crawl of 200,000 models: 15 MB
(232.8 MB against 217.9 MB, 75 bytes per model), and 1.0 to 3.3 s more CPU of 33-38 s (3-10 %,
two runs each on a machine busy with other work: 38.1 against 37.1 s, 36.2 against 32.9 s).
The downgrade drops the indexes and keeps the search index: an older harvester does not read
its rowids.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

KINDS = ("models", "datasets", "spaces")
ONE = ("model", "dataset", "space")
LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for kind in KINDS:  # dropping is instant where DELETE rewrites the whole index
            op.execute(f"DROP TABLE {kind}_search")
            op.execute(f"CREATE VIRTUAL TABLE {kind}_search USING fts5(repo_id, summary, tokenize='unicode61')")
    op.execute("DELETE FROM search_indexed")
    op.create_index("ix_models_live_created_at", "models", ["created_at", "pipeline_tag"],
                    sqlite_where=LIVE, postgresql_where=LIVE)
    op.create_index("ix_models_row_key_deleted_at", "models", ["row_key", "deleted_at"])
    for one in ONE:
        op.drop_index(f"ix_{one}_links_target_id", table_name=f"{one}_links")
        op.create_index(f"ix_{one}_links_target_id", f"{one}_links", ["target_id", "relation"])


def downgrade() -> None:
    for one in ONE:
        op.drop_index(f"ix_{one}_links_target_id", table_name=f"{one}_links")
        op.create_index(f"ix_{one}_links_target_id", f"{one}_links", ["target_id"])
    op.drop_index("ix_models_row_key_deleted_at", table_name="models")
    op.drop_index("ix_models_live_created_at", table_name="models")
