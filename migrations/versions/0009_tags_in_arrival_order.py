"""Tag tables keep rows in arrival order, and their tag index is on ``tag`` alone.

The tag index used to be (tag, repo id), and SQLite kept the tag tables clustered on
(repo id, tag). A page of a thousand repos carries some seven thousand tags, and each of them
landed at a random place inside its tag's stretch of the index: a full crawl rewrote most of
the index's pages at every commit. Now a tag's new rows go to the end of its stretch (ordered by
SQLite's rowid, or PostgreSQL's heap position), and a commit touches a page or two per tag.

Nothing users query changes: the same tables, columns, primary key and index name; "repos with
tag X" is still an indexed lookup. On SQLite the tables are rebuilt (rowid tables now), which
takes a while on a big catalog; on PostgreSQL, whose tables are heaps anyway, only the index is.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TAG_TABLES = {"model_tags": ("models", "model_id"), "dataset_tags": ("datasets", "dataset_id"),
              "space_tags": ("spaces", "space_id")}


def upgrade() -> None:
    for name, (repos, key) in TAG_TABLES.items():
        _rebuild(name, repos, key, with_rowid=True, index=["tag"])


def downgrade() -> None:
    for name, (repos, key) in TAG_TABLES.items():
        _rebuild(name, repos, key, with_rowid=False, index=["tag", key])


def _rebuild(name: str, repos: str, key: str, *, with_rowid: bool, index: list[str]) -> None:
    op.drop_index(f"ix_{name}_tag", table_name=name)
    if op.get_bind().dialect.name == "sqlite":
        op.create_table(
            f"{name}_rebuilt",
            sa.Column(key, sa.String(), nullable=False),
            sa.Column("tag", sa.String(), nullable=False),
            sa.ForeignKeyConstraint([key], [f"{repos}.id"], onupdate="CASCADE", ondelete="CASCADE"),
            sa.PrimaryKeyConstraint(key, "tag"),
            sqlite_with_rowid=with_rowid,
        )
        op.execute(f"INSERT INTO {name}_rebuilt ({key}, tag) SELECT {key}, tag FROM {name} ORDER BY {key}, tag")
        op.drop_table(name)
        op.rename_table(f"{name}_rebuilt", name)
    op.create_index(f"ix_{name}_tag", name, index)
