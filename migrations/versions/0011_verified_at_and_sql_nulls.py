"""Each repo row records when a listing last re-read it whole; a missing card is SQL NULL.

``verified_at`` (models, datasets, spaces): when the row was last read from a listing with all
its fields, by any walk of full items (the incremental walk, a full walk, the verification
lap). The Hub changes tags, ``gated``, counters and more without a commit, so a row is only as
true as this time; ``harvester status`` reports the oldest among live rows. Rows of an
upgraded catalog start at NULL (never verified since the upgrade): the next lap sets them.

``card_data`` of an item without ``cardData`` was stored as the JSON text ``null``, so
``card_data IS NULL`` found none of them; those become SQL NULL. The other JSON columns
(``safetensors``, ``config``, ``changes.fields``) already stored SQL NULL; they are repaired
too, in case an older harvester wrote them otherwise.

``<kind>_current`` is recreated so that it lists ``verified_at`` on every backend (PostgreSQL
expands ``*`` when a view is created).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

KINDS = ("models", "datasets", "spaces")
JSON_COLUMNS = {"models": ("card_data", "safetensors", "config"), "datasets": ("card_data",),
                "spaces": ("card_data",), "changes": ("fields",)}


def upgrade() -> None:
    for kind in KINDS:
        op.add_column(kind, sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        _recreate_current_view(kind)
    json_null = "'null'::jsonb" if op.get_bind().dialect.name == "postgresql" else "'null'"
    for table, columns in JSON_COLUMNS.items():
        for column in columns:
            op.execute(f"UPDATE {table} SET {column} = NULL WHERE {column} = {json_null}")


def downgrade() -> None:
    # SQL NULL stays: it is what the earlier revisions' readers expected of a missing card too.
    for kind in KINDS:
        op.execute(f"DROP VIEW {kind}_current")
        op.execute(f"ALTER TABLE {kind} DROP COLUMN verified_at")
        op.execute(f"CREATE VIEW {kind}_current AS SELECT * FROM {kind} WHERE deleted_at IS NULL")


def _recreate_current_view(kind: str) -> None:
    op.execute(f"DROP VIEW {kind}_current")
    op.execute(f"CREATE VIEW {kind}_current AS SELECT * FROM {kind} WHERE deleted_at IS NULL")
