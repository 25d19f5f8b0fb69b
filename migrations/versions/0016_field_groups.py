"""Field groups: the whole item at listing cost.

The listing walks ask for the `expand` values of each kind's chosen field groups (`harvester
sync --fields`, `harvester.kinds.FieldGroup`), kept here per kind, and the catalog stores what
people filter by in typed columns and tables. Each field also stays whole in ``raw_extra``, so
the views ``<kind>_raw`` rebuild the item as served, unchanged.

- ``field_groups`` (kind, group_name, added_at): the groups each kind's walks ask for; rows a
  listing read whole since ``added_at`` (``verified_at``) hold the group. No row for a kind: the
  defaults, written by its first sync.
- ``refused_fields`` (kind, field, refused_at): `expand` values the Hub refused with 400, left
  out of the walks and asked again a day later.
- ``models``: ``parameters``, ``safetensors`` and ``config`` now come from the listing (groups
  parameters, architecture), no longer from `sync --details`; new ``architecture``,
  ``model_type``, ``auto_model``, ``processor``, ``gguf_architecture``, ``gguf_context_length``,
  ``gguf_parameters``, ``gguf_file_size``, ``inference``, ``spaces_using``, and ``used_storage``
  (from `sync --details`: model listings refuse it).
- ``datasets``, ``spaces``: ``used_storage`` (group storage).
- ``model_dtypes``, ``model_providers``, ``model_evaluations``: under the model's ``row_key``.
- ``<kind>_files`` also holds the names the listing's ``siblings`` give (group files), sizes
  NULL until `sync --details`.

Existing rows gain the new columns and rows as the lap (or any walk) reads them again; the
defaults are recorded by each kind's next sync, with that time as their ``added_at``. ``<kind>_current``
is recreated so that it lists the new columns on every backend.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

KINDS = ("models", "datasets", "spaces")
MODEL_COLUMNS = (("architecture", sa.String(), True), ("model_type", sa.String(), True),
                 ("auto_model", sa.String(), False), ("processor", sa.String(), False),
                 ("gguf_architecture", sa.String(), True), ("gguf_context_length", sa.BigInteger(), False),
                 ("gguf_parameters", sa.BigInteger(), False), ("gguf_file_size", sa.BigInteger(), False),
                 ("inference", sa.String(), False), ("spaces_using", sa.BigInteger(), False),
                 ("used_storage", sa.BigInteger(), False))
TIME = sa.DateTime(timezone=True)


def _model_key() -> sa.Column:
    return sa.Column("model_key", sa.Integer(), sa.ForeignKey("models.row_key", ondelete="CASCADE"),
                     primary_key=True)


def upgrade() -> None:
    for kind in KINDS:
        op.execute(f"DROP VIEW {kind}_current")
    for name, type_, indexed in MODEL_COLUMNS:
        op.add_column("models", sa.Column(name, type_, nullable=True))
        if indexed:
            op.create_index(f"ix_models_{name}", "models", [name])
    op.create_index("ix_models_parameters", "models", ["parameters"])
    for kind in ("datasets", "spaces"):
        op.add_column(kind, sa.Column("used_storage", sa.BigInteger(), nullable=True))
    op.create_table("model_dtypes", _model_key(), sa.Column("dtype", sa.String(), primary_key=True),
                    sa.Column("parameters", sa.BigInteger(), nullable=False), sqlite_with_rowid=False)
    op.create_table("model_providers", _model_key(), sa.Column("provider", sa.String(), primary_key=True),
                    sa.Column("provider_id", sa.String()), sa.Column("task", sa.String()),
                    sa.Column("status", sa.String()), sqlite_with_rowid=False)
    op.create_index("ix_model_providers_provider", "model_providers", ["provider", "status"])
    op.create_table("model_evaluations", _model_key(), sa.Column("position", sa.Integer(), primary_key=True),
                    sa.Column("source", sa.String(), nullable=False), sa.Column("task", sa.String()),
                    sa.Column("dataset", sa.String()), sa.Column("metric", sa.String()),
                    sa.Column("value", sa.Float()), sqlite_with_rowid=False)
    op.create_index("ix_model_evaluations_dataset", "model_evaluations", ["dataset", "metric"])
    op.create_table("field_groups", sa.Column("kind", sa.String(16), primary_key=True),
                    sa.Column("group_name", sa.String(32), primary_key=True),
                    sa.Column("added_at", TIME, nullable=False))
    op.create_table("refused_fields", sa.Column("kind", sa.String(16), primary_key=True),
                    sa.Column("field", sa.String(), primary_key=True),
                    sa.Column("refused_at", TIME, nullable=False))
    for kind in KINDS:
        op.execute(f"CREATE VIEW {kind}_current AS SELECT * FROM {kind} WHERE deleted_at IS NULL")


def downgrade() -> None:
    for kind in KINDS:
        op.execute(f"DROP VIEW {kind}_current")
    for table in ("refused_fields", "field_groups", "model_evaluations", "model_providers", "model_dtypes"):
        op.drop_table(table)
    for kind in ("datasets", "spaces"):
        op.execute(f"ALTER TABLE {kind} DROP COLUMN used_storage")
    op.drop_index("ix_models_parameters", table_name="models")
    for name, _, indexed in MODEL_COLUMNS:
        if indexed:
            op.drop_index(f"ix_models_{name}", table_name="models")
    for name, _, _ in MODEL_COLUMNS:  # not batch mode: its copy of the table would break the views on it
        op.execute(f"ALTER TABLE models DROP COLUMN {name}")
    for kind in KINDS:
        op.execute(f"CREATE VIEW {kind}_current AS SELECT * FROM {kind} WHERE deleted_at IS NULL")
