"""The catalog's two writing chores besides a sync: bring its schema up to date, and forget sync state.

`harvester db upgrade` and `harvester state reset` call these; so can a deployment script.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .kinds import KINDS

if TYPE_CHECKING:
    from sqlalchemy import Engine


def upgrade(db: str | os.PathLike[str] | None = None) -> str:
    """Apply the catalog's pending schema revisions (creating the catalog if there is none) and return its revision.

    A sync does this by itself; this is for upgrading ahead of one, as after installing a new harvester.

    Args:
        db: a SQLite path or a SQLAlchemy URL; default ``$HARVESTER_DB``, else ``hub.db``.

    Returns:
        The schema revision the catalog is at now (Alembic's id).

    Raises:
        CatalogTooNew: the catalog was written by a newer harvester; it is left untouched.
        CatalogError: the database cannot be opened or migrated.

    Example:
        >>> upgrade("hub.db")  # doctest: +SKIP
        '0014'
    """
    from .store.engine import schema_revision

    engine = _open(db, upgrade=True)
    try:
        return schema_revision(engine)  # type: ignore[return-value]  # an upgraded catalog has one
    finally:
        engine.dispose()


def reset_state(db: str | os.PathLike[str] | None = None, kind: str | None = None) -> int:
    """Forget the cursors and watermarks of every scope (or of one kind's): the next sync walks everything.

    Rows, their history and the change log are kept.

    Args:
        db: a SQLite path or a SQLAlchemy URL; default ``$HARVESTER_DB``, else ``hub.db``.
        kind: ``"models"``, ``"datasets"`` or ``"spaces"`` (each of its scopes); None for every scope.

    Returns:
        How many scopes had state to forget.

    Raises:
        ConfigError: an unknown kind.
        CatalogError: no current catalog there, or it cannot be written.

    Example:
        >>> reset_state("hub.db", kind="models")  # doctest: +SKIP
        2
    """
    from .errors import ConfigError
    from .store.state import reset_state as delete_state

    if kind is not None and kind not in KINDS:
        raise ConfigError(f"kind must be one of {', '.join(KINDS)} or None, not {kind!r}")
    engine = _open(db, upgrade=False)
    try:
        return delete_state(engine, kind)
    finally:
        engine.dispose()


def _open(db: str | os.PathLike[str] | None, *, upgrade: bool) -> Engine:
    """The catalog at ``db`` opened for writing (``upgrade``: applying pending revisions)."""
    from .config import database_url
    from .store.engine import open_catalog

    return open_catalog(database_url(os.fspath(db) if db is not None else None), upgrade=upgrade)
