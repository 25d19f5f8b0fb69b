"""harvester: a local SQL catalog of the Hugging Face Hub's metadata.

``from harvester import Catalog`` opens a catalog read-only for downstream code, and
``harvester.harvest`` syncs it as `harvester sync` does (README, "Python API"). The names below
are imported on first use, so that ``import harvester`` (and the CLI's start) does not pay for
SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import CatalogError, CatalogTooNew, ConfigError, HarvesterError, Interrupted, RepoNotFound

__version__ = "0.1.0"

__all__ = ["Catalog", "CatalogError", "CatalogTooNew", "Change", "ChangeFeed", "ConfigError", "HarvesterError",
           "Interrupted", "KindSync", "Node", "QueryRefused", "QueryResult", "RepoNotFound", "Run", "Use",
           "__version__", "harvest"]

if TYPE_CHECKING:
    from .catalog import Catalog, Change, ChangeFeed, QueryResult
    from .graph import Node, Use
    from .harvest import KindSync, harvest
    from .read import QueryRefused
    from .records import Run

_LAZY = {"Catalog": "catalog", "Change": "catalog", "ChangeFeed": "catalog", "QueryResult": "catalog",
         "QueryRefused": "read", "Node": "graph", "Use": "graph", "harvest": "harvest", "KindSync": "harvest",
         "Run": "records"}


def __getattr__(name: str) -> Any:
    """Import the public names that need SQLAlchemy when they are first used."""
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
