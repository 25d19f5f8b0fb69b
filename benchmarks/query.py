"""Peak memory of `harvester query "SELECT * FROM models"` in each format, on a 100,000-model catalog.

    python benchmarks/query.py                    # 100,000 models (about a minute)
    python benchmarks/query.py --models 20000     # a quick run

Not a test. Builds a catalog from the emulator, then runs the query once per format as its own
`python -m harvester query` process writing to a file (so the table format streams as it does
into a pipe) and reports its wall time, output size and peak RSS (the child's ``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harvester.emulator import HubEmulator

FORMATS = ("table", "csv", "json", "jsonl")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="harvester-query-") as tmp:
        db = Path(tmp) / "hub.db"
        with HubEmulator(models=args.models, seed=1) as hub:
            subprocess.run([sys.executable, "-m", "harvester", "sync", "--db", str(db), "--endpoint", hub.url,
                            "--quiet", "--verify-pages", "0"], check=True)
        print(f"{args.models:,} models, {db.stat().st_size / 1e6:.0f} MB catalog")
        print(f"{'format':<8} {'wall s':>8} {'output MB':>10} {'peak RSS MB':>12}")
        for format_ in FORMATS:
            out = Path(tmp) / f"out.{format_}"
            started = time.perf_counter()
            with out.open("w") as sink:
                child = subprocess.Popen([sys.executable, "-m", "harvester", "query", "--db", str(db),
                                          "SELECT * FROM models", "--format", format_], stdout=sink)
                _, status, usage = os_wait4(child.pid)
            assert status == 0, f"{format_}: exit status {status}"
            print(f"{format_:<8} {time.perf_counter() - started:>8.1f} {out.stat().st_size / 1e6:>10.0f} "
                  f"{usage.ru_maxrss / 1024:>12.0f}")


def os_wait4(pid: int) -> tuple[int, int, resource.struct_rusage]:
    import os

    return os.wait4(pid, 0)


if __name__ == "__main__":
    main()
