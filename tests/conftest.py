"""Shared fixtures: a Hub emulator on a free port, spoken to over real HTTP, and a catalog on
the backend(s) chosen with ``--backend`` (sqlite, postgresql or all)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog import Catalog
from harvester.emulator import HubEmulator
from harvester.store.transactions import PageBatch

BACKENDS = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend", choices=[*BACKENDS, "all"], default=os.environ.get("HARVESTER_TEST_BACKEND", "sqlite"),
        help="catalog backend for tests that use `db`: sqlite (default), postgresql (a throwaway cluster is "
             "started; it must start) or all (both)")


def selected_backends(config: pytest.Config) -> tuple[str, ...]:
    chosen = config.getoption("--backend")
    return BACKENDS if chosen == "all" else (chosen,)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that uses `db` once per selected backend; `sqlite_only` tests on SQLite alone."""
    if "backend" not in metafunc.fixturenames:
        return
    backends = selected_backends(metafunc.config)
    if metafunc.definition.get_closest_marker("sqlite_only"):
        backends = tuple(b for b in backends if b == "sqlite")
    metafunc.parametrize("backend", backends)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that compare the backends run only when both are selected (--backend all); tests
    marked `sqlite_only` that build their own SQLite catalog (no `backend`) only when SQLite is."""
    selected = selected_backends(config)
    if selected == BACKENDS:
        return

    def dropped(item: pytest.Item) -> bool:
        return bool(item.get_closest_marker("both_backends")) or (
            "sqlite" not in selected and bool(item.get_closest_marker("sqlite_only"))
            and "backend" not in getattr(item, "fixturenames", ()))

    kept = [item for item in items if not dropped(item)]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if dropped(item)])
        items[:] = kept


@pytest.fixture(scope="session")
def postgres(request: pytest.FixtureRequest):
    """A throwaway PostgreSQL cluster for the session. Failing to start it is an error, never a skip."""
    from postgres_cluster import ThrowawayCluster

    with ThrowawayCluster() as cluster:
        yield cluster


_database_numbers = itertools.count()


@pytest.fixture
def db(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Catalog]:
    """An empty catalog on ``backend``: a SQLite file in a fresh directory, or a fresh database."""
    if backend == "sqlite":
        catalog = Catalog.sqlite(tmp_path / "hub.db")
    else:
        cluster = request.getfixturevalue("postgres")
        catalog = Catalog(cluster.create_database(f"test_{os.getpid()}_{next(_database_numbers)}"))
    yield catalog
    catalog.dispose()


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
def page_by_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """Walks commit each page alone, so that ``on_page`` sees every page: for tests that act
    between two given pages (by default, pages the walk already has in hand commit together)."""
    # the walk makes its batches with the default size: that default is the knob
    monkeypatch.setitem(PageBatch.__init__.__kwdefaults__, "every", 1)
