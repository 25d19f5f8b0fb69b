"""What a full crawl costs harvester in CPU, memory and bytes, beside the least any client can do.

    python benchmarks/cost.py                        # 200,000 models (about 5 minutes)
    python benchmarks/cost.py --models 1000000       # per-page cost to a million (about 20 minutes)
    python benchmarks/cost.py --models 20000 --slow-models 10000   # a quick run

Not a test. Needs `pip install -e '.[bench]'` (sqlite-utils). One emulator serves every
contender, each a process of its own, one after the other, so CPU (user + system, read with
``wait4``) and peak RSS (VmHWM, read by the contender) are each contender's alone:

    floor         the pages harvester asks for, fetched and decoded, nothing stored
    harvester     `harvester sync --verify-pages 0` into a new SQLite file, with a per-page clock
    sqlite-utils  the same pages, each item's fields upserted with `Table.upsert_all(pk="id")`:
                  what a bare script does, with no tags, change detection, history or checkpoint

Then, for harvester: bytes per model row (the catalog file after its final checkpoint, over the
rows), bytes written per byte of catalog (the process's ``wchar`` from /proc, WAL and
checkpoints included), CPU per page over the first and the last tenth of the crawl (the first
page, which opens the catalog, left out), and the
wall time against the floor's when the emulator answers each page 0.5 s late, as the Hub does.
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
run = sync(SyncConfig(db_url=f"sqlite:///{sys.argv[2]}", endpoint=sys.argv[1], verify_pages=0), on_page=clock)
costs = []  # per page: its commit's CPU shared among the commit's pages
for (before, done), (after, now) in zip(commits, commits[1:]):
    costs += [(after - before) / (now - done)] * (now - done)
io = dict(line.split(": ") for line in open("/proc/self/io").read().splitlines())
print(json.dumps({"rows": run["rows_inserted"], "pages": run["pages"], "page_cpu": costs,
                  "written": int(io["wchar"]), "hwm_kb": HWM()}))
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
    child = subprocess.Popen([sys.executable, "-c", HWM + program, *args], stdout=subprocess.PIPE, text=True)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"a contender failed with status {status}")
    counted = json.loads(out.splitlines()[-1])
    return {**counted, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": counted["hwm_kb"] / 1024}


def crawl(models: int, workdir: Path) -> dict[str, dict[str, Any]]:
    with HubEmulator(models=models, seed=1) as hub:
        contender(FLOOR, hub.url + "/api/models?limit=1")  # the emulator's sort index, built before timing
        url = first_url(hub.url)
        results = {"floor": contender(FLOOR, url)}
        catalog = workdir / "harvester.db"
        results["harvester"] = contender(HARVESTER, hub.url, str(catalog))
        results["harvester"]["file"] = catalog.stat().st_size
        results["harvester"]["tables"] = bytes_by_table(catalog)
        results["sqlite-utils"] = contender(SQLITE_UTILS, url, str(workdir / "sqlite-utils.db"))
        results["sqlite-utils"]["file"] = (workdir / "sqlite-utils.db").stat().st_size
    return results


def bytes_by_table(catalog: Path) -> dict[str, int]:
    """Bytes of each table and index of a SQLite file (its ``dbstat`` table), the largest first."""
    import sqlite3

    with sqlite3.connect(catalog) as conn:
        rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
    return dict(rows)


def slowed(models: int, workdir: Path) -> tuple[float, float]:
    """Wall times of the floor and of harvester when every page comes 0.5 s late."""
    plan = FaultPlan(faults=[parse_fault("slow=0.5")], seed=1)
    with HubEmulator(models=models, seed=2, faults=plan) as hub:
        floor = contender(FLOOR, first_url(hub.url))["wall"]
        harvester = contender(HARVESTER, hub.url, str(workdir / "slowed.db"))["wall"]
    return floor, harvester


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=200_000)
    parser.add_argument("--slow-models", type=int, default=100_000, help="models of the slowed crawl (0: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="harvester-cost-") as tmp:
        results = crawl(args.models, Path(tmp))
        slow_floor, slow_harvester = slowed(args.slow_models, Path(tmp)) if args.slow_models else (0.0, 0.0)
    base = results["sqlite-utils"]["cpu"]
    print(f"{args.models:,} models, {PAGE:,} a page")
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
          f"{first * 1000:.0f} ms over the first tenth, {last * 1000:.0f} ms over the last ({last / first:.2f}x)")
    print("bytes per row by table and index:", ", ".join(
        f"{name} {size / harvester['rows']:,.0f}" for name, size in harvester["tables"].items()
        if size / harvester["rows"] >= 5))
    if args.slow_models:
        print(f"pages 0.5 s late ({args.slow_models:,} models): floor {slow_floor:.1f} s, harvester "
              f"{slow_harvester:.1f} s ({slow_harvester / slow_floor:.3f}x)")


if __name__ == "__main__":
    main()
