"""Each kind's live rows in the Hub's creation order, for deletions proved page by page.

A page of the verification lap (or of ``--reconcile``) lists every repo the Hub has between its
first and its last item, in the Hub's creation order: ``createdAt`` descending, ties by ``_id``
ascending. A live row whose place lies in that stretch and that the page did not list is gone
(or private), so the page's transaction marks it deleted, instead of the lap's end, up to a lap
later. ``ix_<kind>_live_created_order`` (``created_at``, ``hub_id``) over live rows finds those
rows by range, within the pre-2022 placeholder ``createdAt`` that hundreds of thousands of repos
share as well. ``sync_state`` keeps where such a walk stands (``walk_position_created``,
``walk_position_id``: the last repo it listed), so that a run that resumes it proves the stretch
between the last page of the run before and its own first page too.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

KINDS = ("models", "datasets", "spaces")
LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("sync_state") as table:
        table.add_column(sa.Column("walk_position_created", sa.DateTime(timezone=True)))
        table.add_column(sa.Column("walk_position_id", sa.String()))
    for kind in KINDS:
        op.create_index(f"ix_{kind}_live_created_order", kind, ["created_at", "hub_id"],
                        sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade() -> None:
    for kind in KINDS:
        op.drop_index(f"ix_{kind}_live_created_order", table_name=kind)
    with op.batch_alter_table("sync_state") as table:
        table.drop_column("walk_position_id")
        table.drop_column("walk_position_created")
