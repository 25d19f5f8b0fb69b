"""The cards lane: a first fill's requests and time, bytes per card with its index, search latency.

    python benchmarks/cards.py --models 50000 --where "1=1" --slow 0.1 --slow-sample 300

Not a test. Builds a catalog of ``--models`` models from the emulator, then times
`harvester sync --cards --where ...` (the first fill, no latency: the harvester's own cost), a
sample of ``--slow-sample`` cards with every answer delayed ``--slow`` seconds (the emulator's
slow fault: the Hub's latency), a second run (nothing due), and a day of commits (``--churn``
repos modified, a listing sync, the lane again). Then the search index's rebuild, the bytes per
stored card of ``<one>_cards`` and of the FTS5 index (SQLite's ``dbstat``), and the latency of a
few searches.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from harvester import Catalog
from harvester.config import SyncConfig
from harvester.emulator import HubEmulator
from harvester.search import refresh_index
from harvester.store.engine import open_catalog
from harvester.sync import sync

SEARCHES = ("function calling", "medical", "not for commercial use", "Japanese kanji", "llama", "zzqx nothing")


def run(db: str, hub: HubEmulator, **settings) -> tuple[dict, float]:
    started = time.perf_counter()
    record = sync(SyncConfig(db_url=db, endpoint=hub.url, verify_pages=0 if settings.get("lane") is None else None,
                             **settings))
    return record, time.perf_counter() - started


def table_bytes(path: Path, prefixes: tuple[str, ...]) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    return {name: size for name, size in rows if name.startswith(prefixes)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=50_000)
    parser.add_argument("--where", default=None, help="the lane's --where (default: its own)")
    parser.add_argument("--slow", type=float, default=0.1, help="seconds each answer of the sample waits")
    parser.add_argument("--slow-sample", type=int, default=300)
    parser.add_argument("--churn", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, HubEmulator(models=args.models, seed=1) as hub:
        path = Path(tmp) / "hub.db"
        db = f"sqlite:///{path}"
        _, listing = run(db, hub)
        print(f"listing walk of {args.models:,} models: {listing:.1f} s")
        cards = dict(lane="cards", where=args.where)
        hub.faults.add(f"slow={args.slow},every=1")
        sample, slow = run(db, hub, max_repos=args.slow_sample, **cards)
        hub.faults.clear()
        print(f"{sample['requests']} cards at {args.slow} s latency: {slow:.1f} s, "
              f"{slow / max(1, sample['requests']) * 1000:.0f} ms per card")
        first, fill = run(db, hub, **cards)
        requests = first["requests"] + sample["requests"]
        print(f"first fill: {requests:,} requests, {first['rows_updated']:,} cards changed, {fill:.1f} s "
              f"({fill / max(1, first['requests']) * 1000:.1f} ms per card without latency)")
        again, idle = run(db, hub, **cards)
        print(f"second run: {again['requests']} requests, {idle:.2f} s")
        hub.corpora["models"].modify(args.churn)
        run(db, hub)
        day, churn = run(db, hub, **cards)
        print(f"after {args.churn:,} commits: {day['requests']:,} requests, {churn:.1f} s")
        engine = open_catalog(db)
        started = time.perf_counter()
        indexed = refresh_index(engine, "models")
        print(f"search index rebuild: {indexed:,} models in {time.perf_counter() - started:.1f} s")
        with sqlite3.connect(path) as conn:
            stored, served = conn.execute("SELECT count(*), sum(size) FROM model_cards WHERE state = 'card'").fetchone()
            conn.execute("VACUUM")
        sizes = table_bytes(path, ("model_cards", "models_search"))
        cards_bytes = sizes.get("model_cards", 0)
        index_bytes = sum(size for name, size in sizes.items() if name.startswith("models_search"))
        content = sizes.get("models_search_content", 0)
        print(f"{stored:,} cards, {served / max(1, stored):,.0f} bytes each as served; per card: "
              f"model_cards {cards_bytes / stored:,.0f} bytes, FTS5 {index_bytes / stored:,.0f} "
              f"(of which its copy of the text {content / stored:,.0f}); per 1,000 cards "
              f"{(cards_bytes + index_bytes) / stored * 1000 / 1e6:.1f} MB")
        engine.dispose()
        with Catalog(db) as catalog:
            for words in SEARCHES:
                times = []
                for _ in range(5):
                    started = time.perf_counter()
                    found = catalog.search(words, limit=20)
                    times.append(time.perf_counter() - started)
                print(f"search {words!r}: {len(found)} hits, median {statistics.median(times) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
