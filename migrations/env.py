"""Alembic environment: harvester passes its own connection; the alembic CLI builds one."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from harvester.config import database_url
from harvester.store.schema import JsonDocument, declared_here, metadata

config = context.config
target_metadata = metadata


def render_item(type_: str, obj, autogen_context) -> str | bool:
    """Autogenerate writes the schema's JSON type as the revisions spell it, not as an import of
    harvester: a revision must not change when `schema.py` does."""
    if type_ == "type" and isinstance(obj, JsonDocument):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        null = "none_as_null=True" if obj.impl.none_as_null else ""
        return f'sa.JSON({null}).with_variant(postgresql.JSONB({null}), "postgresql")'
    return False


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(context.get_x_argument(as_dictionary=True).get("db")),
        target_metadata=target_metadata,
        include_name=declared_here,
        render_item=render_item,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(database_url(context.get_x_argument(as_dictionary=True).get("db")))
    with engine.connect() as connection:
        _run(connection)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      include_name=declared_here, render_item=render_item)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
