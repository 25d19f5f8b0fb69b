"""changes: every insert, update, rename, delete and undelete a sync writes, in commit order.

Written in the same transaction as the rows it describes, so a consumer polling
`harvester changes --since SEQ` sees every event once and never an event whose row is missing.
Counter moves from `sync --stats` are not logged (they live in the *_stats history).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("hub_id", sa.String(), nullable=False),
        sa.Column("repo_id", sa.String(), nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("fields", JSON, nullable=True),
        sa.Column("previous_id", sa.String(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_changes_kind_seq", "changes", ["kind", "seq"])
    op.create_index("ix_changes_hub_id", "changes", ["hub_id"])


def downgrade() -> None:
    op.drop_index("ix_changes_hub_id", table_name="changes")
    op.drop_index("ix_changes_kind_seq", table_name="changes")
    op.drop_table("changes")
