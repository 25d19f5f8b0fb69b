"""Peak memory and time of `harvester export` on a big catalog, for each format.

    pip install -e '.[parquet]'
    python benchmarks/export.py                   # 1,000,000 models (about 10 minutes, most of it the crawl)
    python benchmarks/export.py --models 100000   # a quick run

Not a test. Builds a catalog with `harvester sync` from the emulator (in this process), then
runs `harvester export models` once per format as a separate process and reports its wall time
and peak RSS (the process's own ru_maxrss, read as it exits) and the output's size.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harvester.emulator import HubEmulator

# VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's RSS (the kernel carries the
# forking process's high-water mark across exec), and the parent here holds the emulator.
MEASURED = """
import runpy, sys
sys.argv = ["harvester", *sys.argv[1:]]
try:
    runpy.run_module("harvester", run_name="__main__")
finally:
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print(f"peak_rss_kb={hwm.split()[1]}", file=sys.stderr)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="harvester-export-") as tmp:
        db = Path(tmp) / "hub.db"
        with HubEmulator(models=args.models, seed=1) as hub:
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "harvester", "sync", "--db", str(db), "--endpoint", hub.url,
                            "--quiet", "--verify-pages", "0"], check=True)
            print(f"catalog of {args.models:,} models built in {time.perf_counter() - started:.0f} s "
                  f"({db.stat().st_size / 1e6:.0f} MB)")
        for format_ in ("jsonl", "csv", "parquet"):
            out = Path(tmp) / f"models.{format_}"
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", MEASURED, "export", "--db", str(db), "models",
                                   "--format", format_, "--output", str(out)], capture_output=True, text=True,
                                  check=True)
            rss = int(done.stderr.rsplit("peak_rss_kb=", 1)[1]) / 1024
            print(f"{format_:<8} {time.perf_counter() - started:6.1f} s  peak RSS {rss:5.0f} MB  "
                  f"{out.stat().st_size / 1e6:6.0f} MB  ({done.stderr.splitlines()[0]})")
            out.unlink()


if __name__ == "__main__":
    main()
