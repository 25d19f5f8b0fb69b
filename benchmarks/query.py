"""Peak memory of `harvester query "SELECT * FROM models"` in each format, on a 100,000-model catalog.

    python benchmarks/query.py                    # 100,000 models (about a minute)
    python benchmarks/query.py --models 20000     # a quick run

Not a test. Builds a catalog from the emulator, then runs the query once per format as its own
process writing to a file (so the table format streams as it does into a pipe) and reports its
wall time, output size and peak RSS (VmHWM, read by the process itself as it ends).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import build_catalog, measured

FORMATS = ("table", "csv", "json", "jsonl")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="harvester-query-") as tmp:
        db = Path(tmp) / "hub.db"
        build_catalog(db, args.models)
        print(f"{args.models:,} models, {db.stat().st_size / 1e6:.0f} MB catalog")
        print(f"{'format':<8} {'wall s':>8} {'output MB':>10} {'peak RSS MB':>12}")
        for format_ in FORMATS:
            out = Path(tmp) / f"out.{format_}"
            with out.open("w") as sink:
                _, wall, rss = measured("query", "--db", str(db), "SELECT * FROM models", "--format", format_,
                                        stdout=sink)
            print(f"{format_:<8} {wall:>8.1f} {out.stat().st_size / 1e6:>10.0f} {rss:>12.0f}")


if __name__ == "__main__":
    main()
