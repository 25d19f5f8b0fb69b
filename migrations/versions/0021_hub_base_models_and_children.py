"""What only a model's own page gives of its lineage: the Hub's ``baseModels`` and ``childrenModelCount``.

Model listings refuse both (huggingface_hub PR #3182), so `sync --details` asks for them with the
files it already fetches per model, in the same request (`harvester.hub.repo_pages`).

- ``models.children_model_count``: the Hub's ``childrenModelCount`` as of the last details fetch.
- ``model_hub_bases`` (``model_key``, ``target_id``, ``relation``): the bases the Hub computes
  (``baseModels``: a relation and a list of repos), under the model's ``row_key``, targets in
  ``link_targets`` and relations as the graph's base_model codes (2 to 5; 1 when unknown). Not in
  ``model_links``: those are the edges the item states, rewritten by every listing of the row and
  one per target, so the Hub's own answer for the same target could not stand beside them.
- The view ``hub_base_models`` (``model_id``, ``relation``, ``base_id``, ``base_repo_id``) reads
  them for live models, each base resolved as ``links`` resolves targets.

Models whose details were fetched before keep NULL and no Hub bases until their ``sha`` moves and
the lane fetches them again: filling them in at once would be a request per model.
``models_current`` is recreated so that it lists the new column on every backend.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-12
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

HUB_BASE_MODELS = (
    "SELECT m.id AS model_id, r.detail AS relation, t.name AS base_id, t.repo_id AS base_repo_id "
    "FROM model_hub_bases b JOIN models m ON m.row_key = b.model_key "
    "JOIN link_relations r ON r.code = b.relation JOIN link_target_repos t ON t.target_id = b.target_id "
    "WHERE m.deleted_at IS NULL")


def upgrade() -> None:
    op.execute("DROP VIEW models_current")
    op.add_column("models", sa.Column("children_model_count", sa.BigInteger(), nullable=True))
    op.create_table(
        "model_hub_bases",
        sa.Column("model_key", sa.Integer(), sa.ForeignKey("models.row_key", ondelete="CASCADE"), primary_key=True),
        sa.Column("target_id", sa.Integer(), sa.ForeignKey("link_targets.id"), primary_key=True),
        sa.Column("relation", sa.Integer(), sa.ForeignKey("link_relations.code"), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_model_hub_bases_target_id", "model_hub_bases", ["target_id", "relation"])
    op.execute(f"CREATE VIEW hub_base_models AS {HUB_BASE_MODELS}")
    op.execute("CREATE VIEW models_current AS SELECT * FROM models WHERE deleted_at IS NULL")


def downgrade() -> None:
    op.execute("DROP VIEW models_current")
    op.execute("DROP VIEW hub_base_models")
    op.drop_index("ix_model_hub_bases_target_id", table_name="model_hub_bases")
    op.drop_table("model_hub_bases")
    # Not batch mode: its copy of the table would break the views on it.
    op.execute("ALTER TABLE models DROP COLUMN children_model_count")
    op.execute("CREATE VIEW models_current AS SELECT * FROM models WHERE deleted_at IS NULL")
