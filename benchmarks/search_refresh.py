"""A whole rebuild of the search index, and what it costs a sync that writes meanwhile.

    python benchmarks/search_refresh.py --db /tmp/big/hub.db            # a copy of this catalog
    python benchmarks/search_refresh.py --db /tmp/big/hub.db --chunk 0  # all in one transaction, as before

Not a test. Copies the SQLite catalog, forgets how far its models' index was brought (so the
next refresh rebuilds it whole, as the first one after revision 0014 does), and times
`refresh_index` while another process writes the way a sync does: a short immediate transaction
every half second, with a sync's 30 s busy timeout. Prints the rebuild's time and each write's
wait for the lock: the longest wait is what a sync started during the rebuild would see.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import harvester.search
from harvester.store.engine import BUSY_TIMEOUT, open_catalog

WRITE_EVERY = 0.5  # seconds between a sync's commits, give or take


def write_like_a_sync(path: str, stop: multiprocessing.Event, waits: multiprocessing.Queue) -> None:
    """Until ``stop``: take the write lock, write a row, commit; report each wait, or the error."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
    conn.execute("CREATE TABLE IF NOT EXISTS bench_writes (at REAL)")
    while not stop.is_set():
        started = time.perf_counter()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            waits.put(str(exc))
            continue
        waits.put(time.perf_counter() - started)
        conn.execute("INSERT INTO bench_writes VALUES (?)", (time.time(),))
        conn.execute("COMMIT")
        time.sleep(WRITE_EVERY)
    conn.close()
    waits.put(None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, required=True, help="a SQLite catalog (copied; the original is not changed)")
    parser.add_argument("--chunk", type=int, default=harvester.search.CHUNK,
                        help="row keys per transaction (0: the whole rebuild in one, as before chunking)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.db.parent) as scratch:
        copy = Path(scratch) / "hub.db"
        shutil.copy(args.db, copy)
        with sqlite3.connect(copy) as conn:
            conn.execute("DELETE FROM search_indexed WHERE kind = 'models'")
            models = conn.execute("SELECT count(*) FROM models").fetchone()[0]
        if args.chunk == 0:
            harvester.search.CHUNK = 1 << 62
        else:
            harvester.search.CHUNK = args.chunk
        engine = open_catalog(f"sqlite:///{copy}", upgrade=False)
        stop, waits = multiprocessing.Event(), multiprocessing.Queue()
        writer = multiprocessing.Process(target=write_like_a_sync, args=(str(copy), stop, waits))
        writer.start()
        time.sleep(1)
        started = time.perf_counter()
        indexed = harvester.search.refresh_index(engine, "models")
        took = time.perf_counter() - started
        stop.set()
        seen = list(iter(waits.get, None))
        writer.join()
        engine.dispose()
    failures = [w for w in seen if isinstance(w, str)]
    timed = [w for w in seen if not isinstance(w, str)]
    print(f"{models:,} models, {indexed:,} indexed in {took:.1f} s "
          f"({'one transaction' if args.chunk == 0 else f'{args.chunk:,} row keys per transaction'})")
    print(f"a writer every {WRITE_EVERY} s meanwhile: {len(timed)} writes, {len(failures)} gave up "
          f"({failures[0] if failures else 'none'}); wait for the lock: median {statistics.median(timed):.3f} s, "
          f"longest {max(timed):.2f} s")


if __name__ == "__main__":
    main()
