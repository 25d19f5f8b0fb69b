"""A local Hugging Face Hub for tests, benchmarks and offline trials.

It serves deterministic synthetic corpora over real HTTP, answers the listing endpoints the way
the Hub does (keyset cursors in ``Link`` headers, the Hub's field sets and errors), and can be
told to mutate its corpora and to fail in the ways the real Hub fails.
"""

from .corpus import Corpus, Query
from .faults import Fault, FaultPlan, Quota, parse_fault, parse_quota
from .server import HubEmulator, LoggedRequest

__all__ = [
    "Corpus", "Fault", "FaultPlan", "HubEmulator", "LoggedRequest", "Query", "Quota",
    "parse_fault", "parse_quota",
]
