"""Shared fixtures: a Hub emulator on a free port, spoken to over real HTTP, and a catalog on
the backend(s) chosen with ``--backend`` (sqlite, postgresql or all)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from catalog import Catalog
from harvester.emulator import FaultPlan, HubEmulator, Quota
from harvester.emulator.server import DEFAULT_PAGE_SIZE
from helpers import MakeHub

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


def hub_factory(stack: ExitStack) -> MakeHub:
    """A ``make_hub`` whose emulators ``stack`` stops when it closes.

    ``make_hub(models=300, datasets=40, seed=5, page_size=50, faults=["503,every=9"],
    quota=Quota(12, 1.0), max_page_size=120, tokens={"hf_good"})`` returns a started emulator on
    a free port; every argument is optional. Faults draw on the corpus's seed, as the emulator's own do.
    """

    def make_hub(*, models: int = 0, datasets: int = 0, spaces: int = 0, seed: int = 0,
                 page_size: int = DEFAULT_PAGE_SIZE, faults: Iterable[str] = (), quota: Quota | None = None,
                 max_page_size: int | None = None, tokens: set[str] | None = None) -> HubEmulator:
        plan = FaultPlan(seed=seed, quota=quota, max_page_size=max_page_size)
        for spec in faults:
            plan.add(spec)
        emulator = HubEmulator(models=models, datasets=datasets, spaces=spaces, seed=seed, faults=plan,
                               default_page_size=page_size, tokens=tokens)
        return stack.enter_context(emulator)

    return make_hub


@pytest.fixture
def make_hub() -> Iterator[MakeHub]:
    """Emulators of one test's own, free to mutate and to fault; they stop when the test ends."""
    with ExitStack() as stack:
        yield hub_factory(stack)


@pytest.fixture(scope="module")
def make_module_hub() -> Iterator[MakeHub]:
    """Emulators shared by a test module, for its read-only tests and module fixtures; they stop
    when the module ends."""
    with ExitStack() as stack:
        yield hub_factory(stack)


@pytest.fixture(scope="module")
def hub(make_module_hub: MakeHub) -> HubEmulator:
    """A read-only emulator shared by a test module: do not mutate it."""
    return make_module_hub(models=2_500, datasets=600, spaces=400, seed=7, page_size=100)


@pytest.fixture
def fresh_hub(make_hub: MakeHub) -> HubEmulator:
    """An emulator of one's own, free to mutate and to fault."""
    return make_hub(models=600, seed=11, page_size=50)
