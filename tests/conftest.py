"""Shared fixtures: a Hub emulator on a free port, spoken to over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harvester.emulator import HubEmulator


@pytest.fixture(scope="module")
def hub() -> Iterator[HubEmulator]:
    """A read-only emulator shared by a test module: do not mutate it."""
    with HubEmulator(models=2_500, datasets=600, spaces=400, seed=7, default_page_size=100) as emulator:
        yield emulator


@pytest.fixture
def fresh_hub() -> Iterator[HubEmulator]:
    """An emulator of one's own, free to mutate and to fault."""
    with HubEmulator(models=600, seed=11, default_page_size=50) as emulator:
        yield emulator


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A catalog path in a fresh directory."""
    return tmp_path / "hub.db"
