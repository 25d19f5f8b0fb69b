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
import tempfile
from pathlib import Path

from common import build_catalog, measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="harvester-export-") as tmp:
        db = Path(tmp) / "hub.db"
        took = build_catalog(db, args.models)
        print(f"catalog of {args.models:,} models built in {took:.0f} s ({db.stat().st_size / 1e6:.0f} MB)")
        for format_ in ("jsonl", "csv", "parquet"):
            out = Path(tmp) / f"models.{format_}"
            stderr, wall, rss = measured("export", "--db", str(db), "models", "--format", format_, "--output", str(out))
            print(f"{format_:<8} {wall:6.1f} s  peak RSS {rss:5.0f} MB  "
                  f"{out.stat().st_size / 1e6:6.0f} MB  ({stderr.splitlines()[0]})")
            out.unlink()

if __name__ == "__main__":
    main()
