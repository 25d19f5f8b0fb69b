"""The same full crawl into SQLite and into PostgreSQL, measured in one run.

    python benchmarks/backends.py                  # 200,000 models (about 3 minutes)
    python benchmarks/backends.py --models 20000   # a quick run

Not a test. One emulator (in this process) serves both crawls; each crawl is a separate
`python -m harvester sync` process, so interpreter start and imports count. PostgreSQL is a
throwaway cluster (tests/postgres_cluster.py) with the server's default durability (fsync on),
on the same machine; SQLite is a file in a temporary directory. Then an incremental run after
1,000 changes, on both. Each catalog is checked to hold every model.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from catalog import Catalog  # noqa: E402
from harvester.emulator import HubEmulator  # noqa: E402
from postgres_cluster import ThrowawayCluster  # noqa: E402


def harvester(url: str, endpoint: str) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "harvester", "sync", "--db", url, "--endpoint", endpoint, "--json",
                           "--verify-pages", "0"], capture_output=True, text=True, check=True)  # the walk alone
    return time.perf_counter() - started, json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="harvester-backends-") as tmp, \
            HubEmulator(models=args.models, seed=args.seed) as hub, ThrowawayCluster(durable=True) as cluster:
        catalogs = {"sqlite": Catalog.sqlite(Path(tmp) / "hub.db"),
                    "postgresql": Catalog(cluster.create_database("hub"))}
        print(f"{'backend':<11} {'full s':>7} {'rows/s':>8} {'requests':>8} {'incr. s':>8} {'incr. req':>9}  check")
        results = {}
        for name, catalog in catalogs.items():
            results[name] = harvester(catalog.url, hub.url)
        hub.corpora["models"].modify(1_000)
        for name, catalog in catalogs.items():
            (full, run), (incremental, incr_run) = results[name], harvester(catalog.url, hub.url)
            count = catalog.rows("SELECT count(*) FROM models")[0][0]
            print(f"{name:<11} {full:>7.1f} {args.models / full:>8,.0f} {run['requests']:>8} {incremental:>8.1f} "
                  f"{incr_run['requests']:>9}  {'all models' if count == args.models else f'ONLY {count}'}")
            catalog.dispose()


if __name__ == "__main__":
    main()
