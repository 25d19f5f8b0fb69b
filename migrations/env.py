"""Alembic environment: harvester passes its own connection; the alembic CLI builds one."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from harvester.config import database_url
from harvester.store.schema import Base, declared_here

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(context.get_x_argument(as_dictionary=True).get("db")),
        target_metadata=target_metadata,
        include_name=declared_here,
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
                      include_name=declared_here)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
