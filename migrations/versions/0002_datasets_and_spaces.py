"""Datasets and spaces, with their tags, beside models.

The whole Hub in one catalog: the same columns every repo kind shares, plus each kind's own
(downloads and description for datasets; SDK, runtime stage and hardware for spaces), and a
tag table per kind so that "datasets with tag X" is an indexed join too.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")  # jsonb: indexable, compact


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("hub_id", sa.String(), nullable=False),
        sa.Column("author", sa.String(), nullable=True),
        sa.Column("sha", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("private", sa.Boolean(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=True),
        sa.Column("likes", sa.BigInteger(), nullable=True),
        sa.Column("trending_score", sa.Float(), nullable=True),
        sa.Column("license", sa.String(), nullable=True),
        sa.Column("card_data", JSON, nullable=True),
        sa.Column("raw", JSON, nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gated", sa.String(), nullable=True),
        sa.Column("downloads", sa.BigInteger(), nullable=True),
        sa.Column("downloads_all_time", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("paperswithcode_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_datasets_author"), ["author"], unique=False)
        batch_op.create_index(batch_op.f("ix_datasets_downloads"), ["downloads"], unique=False)
        batch_op.create_index(batch_op.f("ix_datasets_hub_id"), ["hub_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_datasets_last_modified"), ["last_modified"], unique=False)
        batch_op.create_index(batch_op.f("ix_datasets_likes"), ["likes"], unique=False)

    op.create_table(
        "spaces",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("hub_id", sa.String(), nullable=False),
        sa.Column("author", sa.String(), nullable=True),
        sa.Column("sha", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=True),
        sa.Column("private", sa.Boolean(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=True),
        sa.Column("likes", sa.BigInteger(), nullable=True),
        sa.Column("trending_score", sa.Float(), nullable=True),
        sa.Column("license", sa.String(), nullable=True),
        sa.Column("card_data", JSON, nullable=True),
        sa.Column("raw", JSON, nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sdk", sa.String(), nullable=True),
        sa.Column("runtime_stage", sa.String(), nullable=True),
        sa.Column("hardware", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("spaces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spaces_author"), ["author"], unique=False)
        batch_op.create_index(batch_op.f("ix_spaces_hub_id"), ["hub_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_spaces_last_modified"), ["last_modified"], unique=False)
        batch_op.create_index(batch_op.f("ix_spaces_likes"), ["likes"], unique=False)
        batch_op.create_index(batch_op.f("ix_spaces_sdk"), ["sdk"], unique=False)

    op.create_table(
        "dataset_tags",
        sa.Column("dataset_id", sa.String(), nullable=False),
        sa.Column("tag", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], onupdate="CASCADE", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("dataset_id", "tag"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("dataset_tags", schema=None) as batch_op:
        batch_op.create_index("ix_dataset_tags_tag", ["tag", "dataset_id"], unique=False)

    op.create_table(
        "space_tags",
        sa.Column("space_id", sa.String(), nullable=False),
        sa.Column("tag", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"], onupdate="CASCADE", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("space_id", "tag"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("space_tags", schema=None) as batch_op:
        batch_op.create_index("ix_space_tags_tag", ["tag", "space_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("space_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_space_tags_tag")

    op.drop_table("space_tags")
    with op.batch_alter_table("dataset_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_dataset_tags_tag")

    op.drop_table("dataset_tags")
    with op.batch_alter_table("spaces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spaces_sdk"))
        batch_op.drop_index(batch_op.f("ix_spaces_likes"))
        batch_op.drop_index(batch_op.f("ix_spaces_last_modified"))
        batch_op.drop_index(batch_op.f("ix_spaces_hub_id"))
        batch_op.drop_index(batch_op.f("ix_spaces_author"))

    op.drop_table("spaces")
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_datasets_likes"))
        batch_op.drop_index(batch_op.f("ix_datasets_last_modified"))
        batch_op.drop_index(batch_op.f("ix_datasets_hub_id"))
        batch_op.drop_index(batch_op.f("ix_datasets_downloads"))
        batch_op.drop_index(batch_op.f("ix_datasets_author"))

    op.drop_table("datasets")
