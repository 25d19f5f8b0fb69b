"""Indexes a first walk builds once it has loaded an empty kind.

The first walk of an empty kind is a bulk load: maintaining a dozen random-key indexes row by
row while a table fills rewrote each index leaf once per commit, most of what such a crawl
wrote. The walk now drops the indexes no write path reads, records each in
``deferred_indexes``, and builds them once from the full tables when it ends (one transaction
each, so a killed build goes on with the next run). Catalogs upgraded from before have none.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deferred_indexes",
        sa.Column("name", sa.String(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("deferred_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("deferred_indexes")
