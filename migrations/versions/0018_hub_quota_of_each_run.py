"""The Hub's rate-limit window as each run saw it.

Every answer of the Hub states its plan's window (``RateLimit-Policy: "fixed window";"api";q=500;w=300``)
and what is left of it (``RateLimit: "api";r=412;t=170``). A run keeps the last of them in
``sync_runs`` (``quota_limit``, ``quota_window``, ``quota_remaining``), so that status can say
what the plan allows and how long the lap and the details lane take at it; the lap's pages per
run follow the same figures (``--budget``).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

COLUMNS = ("quota_limit", "quota_window", "quota_remaining")


def upgrade() -> None:
    with op.batch_alter_table("sync_runs") as table:
        for name in COLUMNS:
            table.add_column(sa.Column(name, sa.Integer()))


def downgrade() -> None:
    with op.batch_alter_table("sync_runs") as table:
        for name in reversed(COLUMNS):
            table.drop_column(name)
