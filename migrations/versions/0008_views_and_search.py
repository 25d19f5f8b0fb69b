"""Views for the questions people ask first, and full-text search over repo ids and cards.

Views (every backend):
    models_current, datasets_current, spaces_current   the repos that exist (deleted_at IS NULL)
    model_latest_stats, dataset_latest_stats, space_latest_stats
                                                       each repo's newest counter sample
SQLite also gets FTS5 tables models_search, datasets_search and spaces_search (repo_id, summary),
filled by `harvester search` from the catalog whenever the change log has moved since; the
sync path is not slowed by them. `search_indexed` records up to which change each is filled.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

KINDS = {"models": "model", "datasets": "dataset", "spaces": "space"}


def upgrade() -> None:
    for kind, one in KINDS.items():
        op.execute(f"CREATE VIEW {kind}_current AS SELECT * FROM {kind} WHERE deleted_at IS NULL")
        op.execute(
            f"CREATE VIEW {one}_latest_stats AS SELECT s.* FROM {one}_stats s "
            f"WHERE s.run_id = (SELECT max(l.run_id) FROM {one}_stats l WHERE l.{one}_id = s.{one}_id)"
        )
    op.create_table(
        "search_indexed",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind"),
    )
    if op.get_bind().dialect.name == "sqlite":
        for kind in KINDS:
            op.execute(f"CREATE VIRTUAL TABLE {kind}_search USING fts5(repo_id, summary, tokenize='unicode61')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for kind in KINDS:
            op.execute(f"DROP TABLE {kind}_search")
    op.drop_table("search_indexed")
    for kind, one in KINDS.items():
        op.execute(f"DROP VIEW {one}_latest_stats")
        op.execute(f"DROP VIEW {kind}_current")
