"""A run that stopped because it had spent its share of the Hub's window.

The stats and details lanes take their share of ``--budget`` as the lap does: without an explicit
``--top`` or ``--max-repos``, a run stops once it has spent it, and the next run goes on. The run's
summary and status say so (``lanes.outcome``), from ``sync_runs.budget_spent``: the run's other
columns cannot tell it from a run that a stop or an explicit bound ended.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-09
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_runs") as table:
        table.add_column(sa.Column("budget_spent", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("sync_runs") as table:
        table.drop_column("budget_spent")
