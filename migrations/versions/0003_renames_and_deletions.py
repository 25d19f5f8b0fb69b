"""Renames and deletions: a rename log, run counts for both, and a pending deletion sweep.

A repo's `_id` is its identity; when it reappears under a new repo id the row is updated in
place and the rename is recorded in `renames`, so downstream tools see a rename rather than a
delete plus a create. A full walk that completes marks the rows it did not see as deleted once
its catch-up is done; `sync_state.sweep_since` keeps that pending across interrupted runs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "renames",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("hub_id", sa.String(), nullable=False),
        sa.Column("old_id", sa.String(), nullable=False),
        sa.Column("new_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("renamed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("renames", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_renames_hub_id"), ["hub_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_renames_new_id"), ["new_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_renames_old_id"), ["old_id"], unique=False)

    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rows_renamed", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("rows_deleted", sa.Integer(), server_default="0", nullable=False))

    with op.batch_alter_table("sync_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sweep_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_state", schema=None) as batch_op:
        batch_op.drop_column("sweep_since")

    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_column("rows_deleted")
        batch_op.drop_column("rows_renamed")

    with op.batch_alter_table("renames", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_renames_old_id"))
        batch_op.drop_index(batch_op.f("ix_renames_new_id"))
        batch_op.drop_index(batch_op.f("ix_renames_hub_id"))

    op.drop_table("renames")
