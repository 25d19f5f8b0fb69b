"""What several benchmarks share: a catalog built from the emulator, and a `harvester` command
whose own peak memory is measured."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from harvester.emulator import HubEmulator

# VmHWM, read by the command itself as it ends, not the parent's ru_maxrss for it: a child's
# ru_maxrss starts at its parent's RSS (the kernel carries the forking process's high-water mark
# across exec), and a benchmark's process may hold an emulator.
MEASURED = """
import runpy, sys
sys.argv = ["harvester", *sys.argv[1:]]
try:
    runpy.run_module("harvester", run_name="__main__")
finally:
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print(f"peak_rss_kb={hwm.split()[1]}", file=sys.stderr)
"""


def build_catalog(db: Path, models: int) -> float:
    """A catalog of ``models`` models from a fresh emulator (its walk alone); the seconds it took."""
    with HubEmulator(models=models, seed=1) as hub:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "harvester", "sync", "--db", str(db), "--endpoint", hub.url,
                        "--quiet", "--verify-pages", "0"], check=True)
        return time.perf_counter() - started


def measured(*args: str, stdout: IO[str] | int = subprocess.DEVNULL) -> tuple[str, float, float]:
    """Run ``harvester ARGS``; its stderr, its wall time and its own peak RSS in MB."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURED, *args], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, check=True)
    wall = time.perf_counter() - started
    return done.stderr, wall, int(done.stderr.rsplit("peak_rss_kb=", 1)[1]) / 1024
