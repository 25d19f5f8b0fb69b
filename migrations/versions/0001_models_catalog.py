"""The models catalog: models, their tags, per-scope sync state and the run history.

The first schema of `harvester sync`: one row per model with the fields the Hub lists, tags in
their own table so that "models with tag X" is an indexed join, and the walk state (cursor,
watermark) next to the rows so that both are committed in one transaction.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")  # jsonb: indexable, compact


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("hub_id", sa.String(), nullable=False),
        sa.Column("author", sa.String(), nullable=True),
        sa.Column("sha", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("private", sa.Boolean(), nullable=True),
        sa.Column("gated", sa.String(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=True),
        sa.Column("downloads", sa.BigInteger(), nullable=True),
        sa.Column("downloads_all_time", sa.BigInteger(), nullable=True),
        sa.Column("likes", sa.BigInteger(), nullable=True),
        sa.Column("trending_score", sa.Float(), nullable=True),
        sa.Column("pipeline_tag", sa.String(), nullable=True),
        sa.Column("library_name", sa.String(), nullable=True),
        sa.Column("license", sa.String(), nullable=True),
        sa.Column("card_data", JSON, nullable=True),
        sa.Column("raw", JSON, nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_models_author"), ["author"], unique=False)
        batch_op.create_index(batch_op.f("ix_models_downloads"), ["downloads"], unique=False)
        batch_op.create_index(batch_op.f("ix_models_hub_id"), ["hub_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_models_last_modified"), ["last_modified"], unique=False)
        batch_op.create_index(batch_op.f("ix_models_library_name"), ["library_name"], unique=False)
        batch_op.create_index(batch_op.f("ix_models_likes"), ["likes"], unique=False)
        batch_op.create_index(batch_op.f("ix_models_pipeline_tag"), ["pipeline_tag"], unique=False)

    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("rows_seen", sa.Integer(), nullable=False),
        sa.Column("rows_inserted", sa.Integer(), nullable=False),
        sa.Column("rows_updated", sa.Integer(), nullable=False),
        sa.Column("rows_unchanged", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_runs_scope"), ["scope"], unique=False)

    op.create_table(
        "sync_state",
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("walk_mode", sa.String(length=16), nullable=True),
        sa.Column("walk_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("walk_top", sa.DateTime(timezone=True), nullable=True),
        sa.Column("walk_stop_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("walk_pages", sa.Integer(), nullable=False),
        sa.Column("page_size", sa.Integer(), nullable=True),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("scope"),
    )
    op.create_table(
        "model_tags",
        sa.Column("model_id", sa.String(), nullable=False),
        sa.Column("tag", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], onupdate="CASCADE", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("model_id", "tag"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("model_tags", schema=None) as batch_op:
        batch_op.create_index("ix_model_tags_tag", ["tag", "model_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("model_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_model_tags_tag")

    op.drop_table("model_tags")
    op.drop_table("sync_state")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_runs_scope"))

    op.drop_table("sync_runs")
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_models_pipeline_tag"))
        batch_op.drop_index(batch_op.f("ix_models_likes"))
        batch_op.drop_index(batch_op.f("ix_models_library_name"))
        batch_op.drop_index(batch_op.f("ix_models_last_modified"))
        batch_op.drop_index(batch_op.f("ix_models_hub_id"))
        batch_op.drop_index(batch_op.f("ix_models_downloads"))
        batch_op.drop_index(batch_op.f("ix_models_author"))

    op.drop_table("models")
