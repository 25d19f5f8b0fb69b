"""What a first crawl costs harvester in CPU, memory and bytes, beside the least any client can do.

    python benchmarks/cost.py                            # 200,000 models, fast and at the Hub's pace
    python benchmarks/cost.py --models 1000000 --pace fast   # to a million, as fast as the emulator goes
    python benchmarks/cost.py --models 20000 --pace hub      # a quick run at the Hub's pace

Not a test. Needs `pip install -e '.[bench]'` (sqlite-utils). One emulator per pace serves every
contender, each a process of its own, one after the other, so CPU (user + system, read with
``wait4``) and peak RSS (VmHWM, read by the contender) are each contender's alone:

    floor         the pages harvester asks for, fetched and decoded, nothing stored
    harvester     `harvester sync --verify-pages 0` into a new SQLite file, with a per-page clock
    sqlite-utils  the same pages, each item's fields upserted with `Table.upsert_all(pk="id")`:
                  what a bare script does, with no tags, change detection, history or checkpoint

Each pace is measured on its own: ``fast`` (the emulator as fast as it goes: pages arrive faster
than the catalog commits them) and ``hub`` (each page answered 0.5 s late, as the real Hub is:
slower than a commit). For harvester: bytes per model row (the catalog file after its final
checkpoint, over the rows), bytes written per byte of catalog (the process's ``wchar`` from
/proc, WAL and checkpoints included), CPU per page over the first and the last tenth of the
crawl (the first page, which opens the catalog, left out), the wall time from its last page's
commit to its end (the deferred indexes built, `store.loading`), and the wall time against the
floor's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harvester.emulator import FaultPlan, HubEmulator, parse_fault
from harvester.kinds import KINDS

PAGE = 1000


def first_url(endpoint: str) -> str:
    from urllib.parse import urlencode

    params = [("sort", "lastModified"), *(("expand", name) for name in KINDS["models"].listing_fields),
              ("limit", str(PAGE))]
    return f"{endpoint}/api/models?{urlencode(params)}"


# Each contender is a small program run as `python -c`; it prints one JSON line of what it counted.
FLOOR = """
import json, sys
from huggingface_hub.utils import get_session
session, url, rows = get_session(), sys.argv[1], 0
while url:
    response = session.get(url, timeout=120)
    response.raise_for_status()
    rows += len(response.json())
    url = response.links.get("next", {}).get("url")
print(json.dumps({"rows": rows, "hwm_kb": HWM()}))
"""

SQLITE_UTILS = """
import json, sys
import sqlite_utils
from huggingface_hub.utils import get_session
session, url, rows = get_session(), sys.argv[1], 0
table = sqlite_utils.Database(sys.argv[2])["models"]
while url:
    response = session.get(url, timeout=120)
    response.raise_for_status()
    items = response.json()
    table.upsert_all(items, pk="id", alter=True)
    rows += len(items)
    url = response.links.get("next", {}).get("url")
print(json.dumps({"rows": rows, "stored": table.count, "hwm_kb": HWM()}))
"""

HARVESTER = """
import json, sys, time
from harvester.config import SyncConfig
from harvester.sync import sync
commits = [(time.process_time(), 0)]
def clock(stats):  # called after each commit, which may hold several pages
    commits.append((time.process_time(), stats.pages))
last_commit = [time.perf_counter()]
def clocked(stats):
    clock(stats)
    last_commit[0] = time.perf_counter()
run = sync(SyncConfig(db_url=sys.argv[2], endpoint=sys.argv[1], verify_pages=0), on_page=clocked)
finish = time.perf_counter() - last_commit[0]
costs = []  # per page: its commit's CPU shared among the commit's pages
for (before, done), (after, now) in zip(commits, commits[1:]):
    costs += [(after - before) / (now - done)] * (now - done)
io = dict(line.split(": ") for line in open("/proc/self/io").read().splitlines())
print(json.dumps({"rows": run["rows_inserted"], "pages": run["pages"], "page_cpu": costs,
                  "written": int(io["wchar"]), "finish": finish, "hwm_kb": HWM()}))
"""


# Peak RSS as the process itself reads it (VmHWM): the parent's ru_maxrss for a child starts at
# the parent's own RSS, which holds the emulator (see common.py).
HWM = """
def HWM():
    return int(next(line for line in open("/proc/self/status") if line.startswith("VmHWM:")).split()[1])
"""


def contender(program: str, *args: str) -> dict[str, Any]:
    """Run one contender; its own counts and peak RSS, plus wall and CPU from the kernel."""
    started = time.perf_counter()
    # Not in the checkout: `python -c` puts its working directory first on sys.path, ahead of a
    # PYTHONPATH that names another checkout to measure.
    child = subprocess.Popen([sys.executable, "-c", HWM + program, *args], stdout=subprocess.PIPE, text=True,
                             cwd=tempfile.gettempdir())
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"a contender failed with status {status}")
    counted = json.loads(out.splitlines()[-1])
    return {**counted, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": counted["hwm_kb"] / 1024}


def crawl(models: int, workdir: Path, *, late: float = 0.0) -> dict[str, dict[str, Any]]:
    """Each contender's first crawl of ``models`` models, each page answered ``late`` seconds late."""
    plan = FaultPlan(faults=[parse_fault(f"slow={late}")], seed=1) if late else None
    with HubEmulator(models=models, seed=1, faults=plan) as hub:
        contender(FLOOR, hub.url + "/api/models?limit=1")  # the emulator's sort index, built before timing
        url = first_url(hub.url)
        results = {"floor": contender(FLOOR, url)}
        catalog = workdir / f"harvester-{late}.db"
        results["harvester"] = contender(HARVESTER, hub.url, f"sqlite:///{catalog}")
        results["harvester"]["file"] = catalog.stat().st_size
        results["harvester"]["tables"] = bytes_by_table(catalog)
        utils = workdir / f"sqlite-utils-{late}.db"
        results["sqlite-utils"] = contender(SQLITE_UTILS, url, str(utils))
        results["sqlite-utils"]["file"] = utils.stat().st_size
    return results


def bytes_by_table(catalog: Path) -> dict[str, int]:
    """Bytes of each table and index of a SQLite file (its ``dbstat`` table), the largest first."""
    import sqlite3

    with sqlite3.connect(catalog) as conn:
        rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
    return dict(rows)


def report(models: int, pace: str, results: dict[str, dict[str, Any]]) -> None:
    base = results["sqlite-utils"]["cpu"]
    print(f"{models:,} models, {PAGE:,} a page, pace {pace}")
    print(f"{'contender':<13} {'wall s':>7} {'CPU s':>7} {'x sqlite-utils CPU':>19} {'peak RSS MB':>12} "
          f"{'bytes/row':>10}")
    for name, result in results.items():
        per_row = f"{result['file'] / result['rows']:,.0f}" if "file" in result else "-"
        print(f"{name:<13} {result['wall']:>7.1f} {result['cpu']:>7.1f} {result['cpu'] / base:>19.2f} "
              f"{result['rss_mb']:>12.0f} {per_row:>10}")
    harvester = results["harvester"]
    costs = harvester["page_cpu"][1:]  # the first page's clock includes opening and migrating the catalog
    tenth = max(1, len(costs) // 10)
    first, last = sum(costs[:tenth]) / tenth, sum(costs[-tenth:]) / tenth
    print(f"harvester: {harvester['written'] / harvester['file']:.1f} bytes written per byte of catalog "
          f"({harvester['written'] / 1e6:,.0f} MB for {harvester['file'] / 1e6:,.0f} MB); CPU per page "
          f"{first * 1000:.0f} ms over the first tenth, {last * 1000:.0f} ms over the last ({last / first:.2f}x); "
          f"{harvester['finish']:.1f} s from the last commit to the end (indexes built); wall "
          f"{harvester['wall'] / results['floor']['wall']:.2f}x the floor's")
    print("bytes per row by table and index:", ", ".join(
        f"{name} {size / harvester['rows']:,.0f}" for name, size in harvester["tables"].items()
        if size / harvester["rows"] >= 5))
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=200_000)
    parser.add_argument("--pace", choices=("fast", "hub", "both"), default="both",
                        help="fast: the emulator as fast as it goes; hub: each page 0.5 s late")
    args = parser.parse_args()
    paces = {"fast": 0.0, "hub": 0.5}
    with tempfile.TemporaryDirectory(prefix="harvester-cost-") as tmp:
        for pace, late in paces.items():
            if args.pace in (pace, "both"):
                report(args.models, pace, crawl(args.models, Path(tmp), late=late))


if __name__ == "__main__":
    main()
