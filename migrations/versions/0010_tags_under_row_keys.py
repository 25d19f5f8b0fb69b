"""Tags are stored under an integer key per repo, and ``<kind>_tags`` becomes a view of them.

Each repo row gets ``row_key``: a stable integer, growing in the order the catalog first
stored repos (existing rows are numbered by ``first_seen_at``, then id). Tags move to
``<kind>_tag_keys (<kind>_key, tag)``, whose primary key starts with that key.

Why: the tag table's primary key began with the repo id, which is random in listing order, so
each page's seven thousand tags landed at random places all over it, and every commit rewrote
most of its pages. Under a growing key, a page's new tags go to the end of the primary key, and
to the end of each tag's stretch of the tag index. A 200,000-model crawl spent about a quarter
of its time on that index.

What users query stays: ``model_tags (model_id, tag)`` (and ``dataset_tags``, ``space_tags``)
is now a view joining the stored tags to their repo's id; "repos with tag X" and "tags of repo X"
are both still indexed lookups. ``<kind>_current`` is recreated so that it lists ``row_key``
on every backend (PostgreSQL expands ``*`` when a view is created).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

KINDS = {"models": "model", "datasets": "dataset", "spaces": "space"}


def upgrade() -> None:
    for kind, one in KINDS.items():
        op.add_column(kind, sa.Column("row_key", sa.Integer(), nullable=True))
        op.execute(f"UPDATE {kind} SET row_key = numbered.n FROM (SELECT id, row_number() OVER "
                   f"(ORDER BY first_seen_at, id) AS n FROM {kind}) AS numbered WHERE {kind}.id = numbered.id")
        op.create_index(f"ix_{kind}_row_key", kind, ["row_key"], unique=True)
        op.create_table(
            f"{one}_tag_keys",
            sa.Column(f"{one}_key", sa.Integer(), nullable=False),
            sa.Column("tag", sa.String(), nullable=False),
            sa.ForeignKeyConstraint([f"{one}_key"], [f"{kind}.row_key"], ondelete="CASCADE"),
            sa.PrimaryKeyConstraint(f"{one}_key", "tag"),
            sqlite_with_rowid=False,
        )
        op.execute(f"INSERT INTO {one}_tag_keys ({one}_key, tag) SELECT r.row_key, t.tag FROM {one}_tags t "
                   f"JOIN {kind} r ON r.id = t.{one}_id ORDER BY 1, 2")
        op.create_index(f"ix_{one}_tag_keys_tag", f"{one}_tag_keys", ["tag"])
        op.drop_table(f"{one}_tags")
        op.execute(f"CREATE VIEW {one}_tags AS SELECT r.id AS {one}_id, t.tag AS tag "
                   f"FROM {one}_tag_keys t JOIN {kind} r ON r.row_key = t.{one}_key")
        op.execute(f"DROP VIEW {kind}_current")
        _create_current_view(kind)


def downgrade() -> None:
    for kind, one in KINDS.items():
        op.execute(f"DROP VIEW {one}_tags")
        op.create_table(  # as revision 0009 left it
            f"{one}_tags",
            sa.Column(f"{one}_id", sa.String(), nullable=False),
            sa.Column("tag", sa.String(), nullable=False),
            sa.ForeignKeyConstraint([f"{one}_id"], [f"{kind}.id"], onupdate="CASCADE", ondelete="CASCADE"),
            sa.PrimaryKeyConstraint(f"{one}_id", "tag"),
        )
        op.execute(f"INSERT INTO {one}_tags ({one}_id, tag) SELECT r.id, t.tag FROM {one}_tag_keys t "
                   f"JOIN {kind} r ON r.row_key = t.{one}_key ORDER BY 1, 2")
        op.create_index(f"ix_{one}_tags_tag", f"{one}_tags", ["tag"])
        op.drop_table(f"{one}_tag_keys")
        op.execute(f"DROP VIEW {kind}_current")
        op.drop_index(f"ix_{kind}_row_key", table_name=kind)
        op.execute(f"ALTER TABLE {kind} DROP COLUMN row_key")
        _create_current_view(kind)


def _create_current_view(kind: str) -> None:
    """As revision 0008 made it; created again whenever the table's columns change."""
    op.execute(f"CREATE VIEW {kind}_current AS SELECT * FROM {kind} WHERE deleted_at IS NULL")
