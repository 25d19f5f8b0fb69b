"""Ctrl-C and SIGTERM, any number of them at any moment of a sync: at most two lines, exit 130,
never a traceback or SQL, the run recorded and its lock freed, and the catalog whole.

Each session runs the real command in a subprocess against a slowed emulator and sends one to
four signals (SIGINT or SIGTERM, seeded) at a random instant of the run and random gaps apart:
during a fetch, a commit, the recording of the run or the release of its lock. CI runs 12
sessions per backend; `pytest -m soak` runs 300.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from catalog import Catalog
from harvester.cli import main
from harvester.emulator import HubEmulator
from harvester.store.engine import open_catalog
from helpers import PAGE, MakeHub, assert_catalog_equals_corpus, runs

MODELS = 600
SESSIONS_PER_HUB = 6


# Ways to run a sync that print differently: every kind, JSON logs, run records on stdout.
VARIANTS = ([], [], ["--kind", "all"], ["--log-format", "json"], ["--json"])


def signalled_session(hub: HubEmulator, db: Catalog, rng: random.Random) -> None:
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HARVESTER_DB": db.url}
    process = subprocess.Popen([sys.executable, "-m", "harvester", "sync", "--page-size", str(PAGE),
                                "--verify-pages", "3", *rng.choice(VARIANTS)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    # anywhere from the moment harvester's first line runs (a tenth of the time) to the end of the run
    early = rng.random() < 0.1
    catching(process)
    time.sleep(rng.uniform(0.0, 0.2) if early else rng.uniform(0.2, 1.1))
    sent = []
    for _ in range(rng.choice([1, 2, 2, 3, 4])):
        if process.poll() is not None:
            break
        sig = rng.choice([signal.SIGINT, signal.SIGTERM])
        process.send_signal(sig)
        sent.append(sig.name)
        time.sleep(rng.choice([0.0, 0.01, rng.uniform(0.05, 0.3)]))
    _, stderr = process.communicate(timeout=120)
    lines = stderr.splitlines()
    where = f"signals {sent}, exit {process.returncode}: {stderr!r}"
    assert process.returncode in (0, 130), where
    assert "Traceback" not in stderr and "SQL" not in stderr and "[parameters" not in stderr, where
    if process.returncode == 130:
        # what a kind that had finished printed before the signal stays; from the stop line on, two at most
        first = next((n for n, line in enumerate(lines) if "stopping after the current page" in line), 0)
        assert len(lines[first:]) <= 2, where
        assert not lines or "interrupted: " in lines[-1], where  # none when the interpreter was still starting
        assert all(run["status"] != "running" for run in runs(db)), where
        assert db.rows("SELECT count(*) FROM sync_locks") == [(0,)], where


def catching(process: subprocess.Popen, timeout: float = 30) -> None:
    """Wait until the process handles SIGINT and SIGTERM itself: before that, in the interpreter's
    own start-up (some 30 ms), a signal does what the system does by default, whatever harvester."""
    wanted = 1 << (signal.SIGINT - 1) | 1 << (signal.SIGTERM - 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with open(f"/proc/{process.pid}/status") as status:
                caught = int(next(line for line in status if line.startswith("SigCgt:")).split()[1], 16)
        except (OSError, StopIteration):
            return
        if caught & wanted == wanted:
            return
        time.sleep(0.001)


def signal_sessions(seed: int, sessions: int, db: Catalog, make_hub: MakeHub) -> None:
    rng = random.Random(seed)
    hub = make_hub(models=MODELS, datasets=100, spaces=100, seed=seed, faults=["slow=0.03"])  # a run takes ~1 s
    # The catalog is made first: a session stopped before its sync had migrated it left no runs or
    # locks to check, and the checks were skipped (on a loaded machine, every session could be).
    open_catalog(db.url).dispose()
    for _ in range(sessions):
        signalled_session(hub, db, rng)
        hub.corpora["models"].modify(rng.randint(0, 80))
        hub.corpora["models"].drift(rng.randint(0, 80))
    status = CliRunner().invoke(main, ["status", "--db", db.url, "--json"])
    assert status.exit_code == 0 and '"status": "running"' not in status.stdout, status.output
    hub.faults.clear()
    for _ in range(2):  # the interrupted lap ends, then one whole lap re-reads every repo
        final = subprocess.run([sys.executable, "-m", "harvester", "sync", "--page-size", str(PAGE),
                                "--verify-pages", "100"],
                               env={**os.environ, "HF_ENDPOINT": hub.url, "HARVESTER_DB": db.url},
                               capture_output=True, text=True, timeout=120)
        assert final.returncode == 0, final.stderr
    assert_catalog_equals_corpus(hub, db)


@pytest.mark.parametrize("seed", range(2))
def test_any_number_of_signals_at_any_moment_end_in_one_clean_interruption(seed, db, make_hub):
    signal_sessions(seed, SESSIONS_PER_HUB, db, make_hub)


@pytest.mark.soak
@pytest.mark.parametrize("seed", range(100, 130))
def test_soak_signals(seed, db, make_hub):
    signal_sessions(seed, 10, db, make_hub)
