"""Counter history: model_stats, dataset_stats and space_stats.

Downloads, likes and trending score move on the Hub without a new commit. `harvester sync
--stats` refreshes them for the top repos and appends a sample per repo and run, only when a
value changed, so "downloads of X over the last 30 days" is one query and the history grows
with the changes, not with the catalog.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("samples_taken", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "dataset_stats",
        sa.Column("dataset_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("downloads", sa.BigInteger(), nullable=True),
        sa.Column("likes", sa.BigInteger(), nullable=True),
        sa.Column("trending_score", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], onupdate="CASCADE", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("dataset_id", "run_id"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "model_stats",
        sa.Column("model_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("downloads", sa.BigInteger(), nullable=True),
        sa.Column("likes", sa.BigInteger(), nullable=True),
        sa.Column("trending_score", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], onupdate="CASCADE", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("model_id", "run_id"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "space_stats",
        sa.Column("space_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("downloads", sa.BigInteger(), nullable=True),
        sa.Column("likes", sa.BigInteger(), nullable=True),
        sa.Column("trending_score", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"], onupdate="CASCADE", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("space_id", "run_id"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_column("samples_taken")
    op.drop_table("space_stats")
    op.drop_table("model_stats")
    op.drop_table("dataset_stats")
