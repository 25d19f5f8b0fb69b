"""A first crawl at a chosen pace, by pages per commit: bytes written, CPU and peak RSS.

    python benchmarks/load_cadence.py 100000 0.5 1,10   # 100,000 models, pages 0.5 s late, 1 and 10

Not a test. One emulator (in this process) answers every page ``late`` seconds late; each crawl
is `harvester sync --verify-pages 0` with ``pages_per_commit`` set, a process of its own run from
outside the checkout (so PYTHONPATH can name the code measured). A first walk is a bulk load
(`store.loading`): 1 commits every page, as any walk at the Hub's pace did before it; 10 is the
load's cadence. Bytes written are the process's ``wchar`` (WAL and checkpoints included), over
the catalog file's size.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from harvester.emulator import FaultPlan, HubEmulator, parse_fault

PROGRAM = """
import json, sys
from harvester.config import SyncConfig
from harvester.sync import sync
run = sync(SyncConfig(db_url=sys.argv[2], endpoint=sys.argv[1], verify_pages=0, pages_per_commit=int(sys.argv[3])))
io = dict(line.split(": ") for line in open("/proc/self/io").read().splitlines())
hwm = int(next(line for line in open("/proc/self/status") if line.startswith("VmHWM:")).split()[1])
print(json.dumps({"rows": run["rows_inserted"], "written": int(io["wchar"]), "hwm_kb": hwm}))
"""


def main() -> None:
    models, late, cadences = int(sys.argv[1]), float(sys.argv[2]), [int(n) for n in sys.argv[3].split(",")]
    plan = FaultPlan(faults=[parse_fault(f"slow={late}")], seed=1) if late else None
    with HubEmulator(models=models, seed=1, faults=plan) as hub, tempfile.TemporaryDirectory() as tmp:
        for every in cadences:
            catalog = f"{tmp}/every-{every}.db"
            started = time.perf_counter()
            child = subprocess.Popen([sys.executable, "-c", PROGRAM, hub.url, f"sqlite:///{catalog}", str(every)],
                                     stdout=subprocess.PIPE, text=True, cwd=tmp)
            out = child.stdout.read()
            _, status, usage = os.wait4(child.pid, 0)
            if status:
                raise SystemExit(f"the crawl failed with status {status}")
            counted, size = json.loads(out.splitlines()[-1]), os.path.getsize(catalog)
            print(f"{every} pages a commit: wall {time.perf_counter() - started:.1f} s, CPU "
                  f"{usage.ru_utime + usage.ru_stime:.1f} s, {counted['written'] / 1e6:,.0f} MB written for a "
                  f"{size / 1e6:,.0f} MB catalog ({counted['written'] / size:.2f}x), peak RSS "
                  f"{counted['hwm_kb'] / 1024:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
