"""Heavy fields on their own lane: model_files, dataset_files, space_files, and files_sha.

File lists, safetensors and config are expensive to list for every repo, and they change only
with a commit. `harvester sync --details` fetches them per repo only where `files_sha` (the
commit they describe) differs from `sha` (the commit the listing last saw).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")  # jsonb: indexable, compact

KEYS = {"models": "model_id", "datasets": "dataset_id", "spaces": "space_id"}


def _files_table(kind: str) -> None:
    key = KEYS[kind]
    op.create_table(
        f"{kind[:-1]}_files",
        sa.Column(key, sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("lfs_sha256", sa.String(), nullable=True),
        sa.ForeignKeyConstraint([key], [f"{kind}.id"], onupdate="CASCADE", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(key, "path"),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    for kind in KEYS:
        with op.batch_alter_table(kind, schema=None) as batch_op:
            batch_op.add_column(sa.Column("files_sha", sa.String(), nullable=True))
        _files_table(kind)
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parameters", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("safetensors", JSON, nullable=True))
        batch_op.add_column(sa.Column("config", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("models", schema=None) as batch_op:
        batch_op.drop_column("config")
        batch_op.drop_column("safetensors")
        batch_op.drop_column("parameters")
    for kind in KEYS:
        op.drop_table(f"{kind[:-1]}_files")
        with op.batch_alter_table(kind, schema=None) as batch_op:
            batch_op.drop_column("files_sha")
