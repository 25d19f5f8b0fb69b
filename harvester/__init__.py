"""harvester: a local SQL catalog of the Hugging Face Hub's metadata.

``from harvester import Catalog`` opens a catalog read-only for downstream code, and
``harvester.harvest`` syncs it as `harvester sync` does (README, "Python API"). The names below
are imported on first use, so that ``import harvester`` (and the CLI's start) does not pay for
SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    CatalogError,
    CatalogTooNew,
    ConfigError,
    HarvesterError,
    Interrupted,
    MissingExtra,
    QueryRefused,
    RepoNotFound,
)

__version__ = "0.1.0"

__all__ = ["Catalog", "CatalogError", "CatalogTooNew", "Change", "ChangeFeed", "ConfigError", "HarvesterError",
           "Interrupted", "KindSync", "Lap", "LockHolder", "MissingExtra", "Node", "QueryRefused", "QueryResult",
           "RepoNotFound", "Run", "ScopeStatus", "Staleness", "Status", "Use", "__version__", "harvest",
           "reset_state", "upgrade"]

if TYPE_CHECKING:
    from .catalog import Catalog
    from .graph import Node, Use
    from .harvest import KindSync, harvest
    from .maintenance import reset_state, upgrade
    from .records import Run
    from .results import Change, ChangeFeed, QueryResult
    from .status import Lap, LockHolder, ScopeStatus, Staleness, Status

_LAZY = {"Catalog": "catalog", "Change": "results", "ChangeFeed": "results", "QueryResult": "results",
         "Node": "graph", "Use": "graph", "reset_state": "maintenance", "upgrade": "maintenance",
         "harvest": "harvest", "KindSync": "harvest", "Run": "records",
         **dict.fromkeys(("Lap", "LockHolder", "ScopeStatus", "Staleness", "Status"), "status")}


def __getattr__(name: str) -> Any:
    """Import the public names that need SQLAlchemy when they are first used."""
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
