"""A first crawl's CPU, bytes and peak RSS by two or more checkouts of harvester, against one emulator.

    python benchmarks/checkouts.py --models 200000 --rounds 5 /path/to/old/checkout /path/to/new/checkout

Not a test. Each checkout runs `benchmarks/cost.py`'s harvester contender (`sync --verify-pages 0`
into a new SQLite file) as a process of its own, with that checkout first on PYTHONPATH; the
checkouts alternate, round after round, so that a machine's drift (other work, CPU frequency)
falls on each alike. Reported: CPU (user + system, from ``wait4``) per run and its median, bytes
written per byte of catalog, the file's size and the peak RSS. On a shared machine single runs
spread by 10 % or more: compare medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from cost import HARVESTER, HWM

from harvester.emulator import HubEmulator


def crawl(checkout: str, endpoint: str, workdir: Path) -> dict:
    """One crawl by ``checkout`` into a fresh file under ``workdir``."""
    work = Path(tempfile.mkdtemp(dir=workdir))
    try:
        child = subprocess.Popen([sys.executable, "-c", HWM + HARVESTER, endpoint, str(work / "hub.db")],
                                 stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": checkout},
                                 cwd=work)
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        if status != 0:
            raise SystemExit(f"{checkout}: the crawl failed with status {status}")
        counted = json.loads(out.splitlines()[-1])
        size = (work / "hub.db").stat().st_size
        return {"cpu": usage.ru_utime + usage.ru_stime, "rows": counted["rows"], "file_mb": size / 1e6,
                "written_per_byte": counted["written"] / size, "rss_mb": counted["hwm_kb"] / 1024}
    finally:
        shutil.rmtree(work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkouts", nargs="+", help="directories holding a harvester/ package")
    parser.add_argument("--models", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {checkout: [] for checkout in args.checkouts}
    with tempfile.TemporaryDirectory(prefix="harvester-checkouts-") as workdir, \
            HubEmulator(models=args.models, seed=1) as hub:
        crawl(args.checkouts[0], hub.url, Path(workdir))  # builds the emulator's sort index, untimed
        for _ in range(args.rounds):
            for checkout in args.checkouts:
                runs[checkout].append(crawl(checkout, hub.url, Path(workdir)))
                print(checkout, runs[checkout][-1], flush=True)
    print(f"\n{args.models:,} models, {args.rounds} rounds")
    for checkout, done in runs.items():
        cpu = sorted(run["cpu"] for run in done)
        print(f"{checkout}: CPU {', '.join(f'{c:.1f}' for c in cpu)} s, median {statistics.median(cpu):.1f} s; "
              f"{done[-1]['file_mb']:.1f} MB, {statistics.median(r['written_per_byte'] for r in done):.2f}x "
              f"written, peak RSS {max(r['rss_mb'] for r in done):.0f} MB")


if __name__ == "__main__":
    main()
