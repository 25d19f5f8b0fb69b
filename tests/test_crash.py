"""Kill `harvester sync` at any instant, again and again: the catalog still ends equal to the Hub.

Each sequence runs the real command in a subprocess against the emulator, SIGKILLs it at
seeded points (while the catalog is being created and migrated, at a random instant, or just
as a given page is being fetched or committed), then runs it again until it finishes. After
every sequence the catalog equals the corpus row for row, no run is left "running", and the
whole sequence fetched no more than one walk, plus per kill the pages not yet committed
(``PAGES_PER_COMMIT`` at most), the one fetched ahead and a catch-up page, plus the final catch-up.

CI runs 32 kill points; `pytest -m soak` runs 300.
"""

from __future__ import annotations

import math
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy.exc import SQLAlchemyError

from catalog import Catalog
from harvester.emulator import HubEmulator
from harvester.store.transactions import PAGES_PER_COMMIT
from helpers import PAGE, MakeHub, assert_catalog_equals_corpus, runs

MODELS = 600


def start_sync(hub: HubEmulator, db: Catalog) -> subprocess.Popen:
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HARVESTER_DB": str(db)}
    # Without the lap: what the sequence may fetch is counted for the listing walk (test_lap kills laps).
    command = [sys.executable, "-m", "harvester", "sync", "--page-size", str(PAGE), "--verify-pages", "0"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def committed_pages(db: Catalog) -> int:
    try:
        rows = db.rows("SELECT pages FROM sync_runs ORDER BY id DESC LIMIT 1")
    except SQLAlchemyError:  # not created yet, or busy
        return 0
    return rows[0][0] if rows else 0


def wait_then_kill(process: subprocess.Popen, db: Catalog, rng: random.Random, *, first: bool,
                   missed: bool) -> str | None:
    """Pick a kill point, wait for it, kill; returns what was aimed at, or None if the run ended first.

    Once the walk is done, runs are short incremental ones that page targets cannot hit, so a
    miss is followed by an instant within a short run's lifetime.
    """
    aim = "short" if missed else rng.choice(["migration" if first else "instant", "instant", "page", "page"])
    deadline = time.monotonic() + 30
    if aim == "migration":
        while not db.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
    elif aim in ("instant", "short"):
        time.sleep(rng.uniform(0.0, 1.0 if aim == "instant" else 0.6))
    else:
        target = rng.randint(1, math.ceil(MODELS / PAGE))
        while committed_pages(db) < target and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.03))  # into the next fetch, or its commit
    alive = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    return aim if alive else None


def crash_sequence(seed: int, kills: int, db: Catalog, make_hub: MakeHub) -> None:
    rng = random.Random(seed)
    # Spread a run over about a second so kills land everywhere; pages come in bursts of three,
    # so that kills also land on pages stored together, not yet committed.
    hub = make_hub(models=MODELS, seed=seed, faults=["slow=0.06,every=3"])
    aims: list[str] = []
    missed = False
    for _ in range(6 * kills):
        if len(aims) == kills:
            break
        aim = wait_then_kill(start_sync(hub, db), db, rng, first=not aims, missed=missed)
        missed = aim is None
        if aim is not None:
            aims.append(aim)
    assert len(aims) == kills, f"seed {seed}: only {len(aims)} kills landed"
    final = start_sync(hub, db)
    assert final.wait(timeout=120) == 0, f"seed {seed}: the run after kills {aims} failed"
    assert_catalog_equals_corpus(hub, db)
    history = runs(db)
    statuses = [run["status"] for run in history]
    assert statuses[-1] == "ok" and history[-1]["complete"]
    assert set(statuses) <= {"ok", "abandoned"} and statuses.count("abandoned") <= kills, f"seed {seed}: {statuses}"
    # one walk; per kill the pages not committed yet, the one fetched ahead and a catch-up
    # page; per finished run its catch-up page
    walk = math.ceil(MODELS / PAGE)
    fetched = len(hub.listing_requests())
    bound = walk + (PAGES_PER_COMMIT + 2) * kills + statuses.count("ok")
    assert fetched <= bound, f"seed {seed}: {fetched} requests > {bound} for {walk} pages, kills {aims}"


@pytest.mark.parametrize("seed", range(8))
def test_killed_again_and_again_the_catalog_ends_equal_to_the_hub(seed, db, make_hub):
    crash_sequence(seed, kills=4, db=db, make_hub=make_hub)


@pytest.mark.soak
@pytest.mark.parametrize("seed", range(100, 160))
def test_soak_kills(seed, db, make_hub):
    crash_sequence(seed, kills=5, db=db, make_hub=make_hub)
