"""A local Hugging Face Hub for tests, benchmarks and offline trials.

It serves deterministic synthetic corpora over real HTTP, answers the listing endpoints the way
the Hub does (keyset cursors in ``Link`` headers, the Hub's field sets and errors), and can be
told to mutate its corpora and to fail in the ways the real Hub fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "Corpus", "Fault", "FaultPlan", "HubEmulator", "LoggedRequest", "Query", "Quota",
    "parse_fault", "parse_quota",
]

if TYPE_CHECKING:
    from .corpus import Corpus, Query
    from .faults import Fault, FaultPlan, Quota, parse_fault, parse_quota
    from .handler import LoggedRequest
    from .server import HubEmulator

_MODULES = {"Corpus": "corpus", "Query": "corpus", "HubEmulator": "server", "LoggedRequest": "handler",
            **dict.fromkeys(("Fault", "FaultPlan", "Quota", "parse_fault", "parse_quota"), "faults")}


def __getattr__(name: str) -> Any:
    """Import the emulator's parts when first used: `harvester emulator`'s command is declared
    without them (`emulator.command`), so that the command line starts without an HTTP server."""
    if name in _MODULES:
        from importlib import import_module

        return getattr(import_module(f".{_MODULES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
