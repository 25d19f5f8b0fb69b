"""What each sync lane costs after a day of churn, against one local Hub emulator.

    python benchmarks/lanes.py                    # 200,000 models, 1 % churn (about 10 minutes)
    python benchmarks/lanes.py --models 20000     # a quick run

Not a test: it asserts nothing about speed. It builds a catalog (a full crawl, then a details
backfill of every repo), applies churn to the emulator, then runs each lane once as a separate
`python -m harvester sync` process and reports its wall time and requests:

    incremental   the listing from the top down to the watermark (hourly), without the lap
    lap           the same, then the next 12 pages of the verification lap (every plain sync)
    details       files, safetensors and config of repos whose sha moved (after each incremental)
    stats         counters of the top 10,000 repos, history sampled where they moved (daily)
    reconcile     ids only, to find deletions (weekly)
    full          the whole listing with every field (monthly, or never)

Churn, as a share of the corpus ("1 %" by default): that many repos get a new commit and as
many have their counters move; a tenth of that are added, a tenth deleted, a fiftieth renamed.
After the lanes, the catalog is checked against the emulator: live rows, deleted rows, and the
files of every repo that is not disabled (the Hub refuses those pages).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harvester.emulator import HubEmulator
from harvester.emulator.items import siblings_with_blobs

LANES = {
    "incremental": ["--verify-pages", "0"],
    "lap": [],  # the record printed is the lap's own run
    "details": ["--details"],
    "stats": ["--stats", "--top", "10000"],
    "reconcile": ["--reconcile"],
    "full": ["--full"],
}


def harvester(db: Path, url: str, *flags: str) -> dict:
    """One `harvester sync` process; its last run's record and the whole process's wall time."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "harvester", "sync", "--db", str(db), "--endpoint", url, "--json",
                           *flags], capture_output=True, text=True, check=True)
    return {**json.loads(done.stdout.splitlines()[-1]), "wall": time.perf_counter() - started}


def churn(hub: HubEmulator, share: float) -> dict[str, int]:
    corpus = hub.corpora["models"]
    n = max(1, round(len(corpus) * share))
    changes = {"modified": len(corpus.modify(n)), "counters moved": len(corpus.bump_counters(n)),
               "added": len(corpus.add(n // 10)), "deleted": len(corpus.delete(n // 10)),
               "renamed": len(corpus.rename(n // 50))}
    return changes


def check(hub: HubEmulator, db: Path) -> str:
    corpus = hub.corpora["models"]
    with sqlite3.connect(db) as conn:
        live = {row[0] for row in conn.execute("SELECT id FROM models WHERE deleted_at IS NULL")}
        files = conn.execute("SELECT count(*), coalesce(sum(size), 0) FROM model_files JOIN models ON id = model_id "
                             "WHERE deleted_at IS NULL").fetchone()
    expected = {corpus.ids[j] for j in corpus.live()}
    # a disabled repo's page is refused (403), as on the Hub, so its files are never fetched
    expected_files = [s for j in corpus.live() if not corpus.disabled[j] for s in siblings_with_blobs(corpus, j)]
    want = (len(expected_files), sum(s["size"] for s in expected_files))
    ok = live == expected and files == want
    return "catalog equals the emulator" if ok else f"MISMATCH: {len(live ^ expected)} ids, files {files} != {want}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=200_000)
    parser.add_argument("--churn", type=float, default=0.01, help="share of the corpus that changes")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="harvester-lanes-") as tmp, \
            HubEmulator(models=args.models, seed=args.seed) as hub:
        db = Path(tmp) / "hub.db"
        crawl = harvester(db, hub.url, "--verify-pages", "0")
        backfill = harvester(db, hub.url, "--details")
        harvester(db, hub.url, "--stats", "--top", "10000")  # the first sample of every top repo
        print(f"{args.models:,} models: full crawl {crawl['wall']:.1f} s, {crawl['requests']} requests; "
              f"details backfill {backfill['wall']:.1f} s, {backfill['requests']:,} requests")
        changes = churn(hub, args.churn)
        print("churn: " + ", ".join(f"{count:,} {what}" for what, count in changes.items()))
        print(f"{'lane':<12} {'wall s':>8} {'requests':>9} {'rows seen':>10} {'updated':>8} {'inserted':>8} "
              f"{'deleted':>8} {'samples':>8}")
        for lane, flags in LANES.items():
            run = harvester(db, hub.url, *flags)
            print(f"{lane:<12} {run['wall']:>8.1f} {run['requests']:>9,} {run['rows_seen']:>10,} "
                  f"{run['rows_updated']:>8,} {run['rows_inserted']:>8,} {run['rows_deleted']:>8,} "
                  f"{run['samples_taken']:>8,}")
        print(check(hub, db), f"({db.stat().st_size / 1e6:.0f} MB catalog)")


if __name__ == "__main__":
    main()
