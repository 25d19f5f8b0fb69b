"""The cards lane: a first fill's requests and time, bytes per card with its index, search latency.

    python benchmarks/cards.py --models 50000 --where "1=1" --slow 0.1 --slow-sample 300
    python benchmarks/cards.py --search-cards 1000000 [--backend postgresql]   # search at scale

Not a test. Builds a catalog of ``--models`` models from the emulator, then times
`harvester sync --cards --where ...` (the first fill, no latency: the harvester's own cost), a
sample of ``--slow-sample`` cards with every answer delayed ``--slow`` seconds (the emulator's
slow fault: the Hub's latency), a second run (nothing due), and a day of commits (``--churn``
repos modified, a listing sync, the lane again). Then the search index's rebuild, the bytes per
stored card of ``<one>_cards`` and of the FTS5 index (SQLite's ``dbstat``), and the latency of a
few searches.

``--search-cards N`` measures the search side alone at a scale the lane would take hours to
fill: a catalog of N models built directly, no HTTP, each row as a crawl with the default field
groups maps it (the emulator's item through `map_item`: the id, author, task, library, license
and card data the index reads), and each model with a card body from the emulator's own
generator (`emulator.cards.card_body`: its size distribution and vocabulary; also for the 8 %
of models the emulator gives no card, so that there are N cards), stored as the lane stores it
(zlib). Then the index's whole rebuild (`refresh_index`: its wall and this process's CPU), the
index's bytes per card, and the same searches (median of 5, limit 20), wall and CPU. PostgreSQL
is a throwaway cluster (tests/postgres_cluster.py, the server's default durability), its CPU
not this process's.
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, insert, text

from harvester import Catalog
from harvester.config import SyncConfig
from harvester.emulator import HubEmulator, cards, items
from harvester.emulator.corpus import Corpus
from harvester.kinds import KINDS
from harvester.mapping.items import map_item
from harvester.search import fts_query, refresh_index
from harvester.store.cards import compress
from harvester.store.clock import wall_clock
from harvester.store.dialect import search_sql
from harvester.store.engine import open_catalog
from harvester.store.schema import model_cards, models
from harvester.sync import sync

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

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


def matches(engine: Engine, words: str) -> int:
    """How many live models match ``words`` (the search's own query, every match: what it ranks)."""
    query = fts_query(words) if engine.dialect.name == "sqlite" else words
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM ({search_sql(engine.dialect, 'models')}) found"),
                            {"query": query, "limit": 10**9}).scalar_one()


def timed_searches(db: str, *, count: bool = False) -> None:
    """Each of `SEARCHES` five times through `Catalog.search` (limit 20): hits, median wall and CPU;
    with ``count``, how many models each matches (not timed)."""
    with Catalog(db) as catalog:
        for words in SEARCHES:
            if count:
                engine = open_catalog(db)
                print(f"{words!r} matches {matches(engine, words):,} models", flush=True)
                engine.dispose()
            walls, cpus = [], []
            for _ in range(5):
                started, cpu = time.perf_counter(), time.process_time()
                found = catalog.search(words, limit=20)
                walls.append(time.perf_counter() - started)
                cpus.append(time.process_time() - cpu)
            print(f"search {words!r}: {len(found)} hits, median {statistics.median(walls) * 1000:.1f} ms "
                  f"(CPU {statistics.median(cpus) * 1000:.1f} ms of this process)", flush=True)


def fill_directly(engine: Engine, count: int, chunk: int = 20_000) -> tuple[int, int]:
    """``count`` models (rows as a crawl maps them) with a card each, inserted in bulk; the bytes
    of the card bodies as generated, and of those stored."""
    started = time.perf_counter()
    corpus = Corpus.generate("models", count, seed=1)
    fields = items.field_set("models", expand=KINDS["models"].listing_fields, full=False, card_data=False)
    now, raw, stored = wall_clock(), 0, 0
    print(f"emulator corpus of {count:,} models: {time.perf_counter() - started:.0f} s", flush=True)
    for low in range(0, count, chunk):
        rows, bodies = [], []
        for j in range(low, min(low + chunk, count)):
            item = items.render(corpus, j, fields)
            row = map_item("models", item).row
            rows.append({**row, "row_key": j + 1, "first_seen_at": now, "last_seen_at": now, "verified_at": now})
            body = ("\n" + cards.card_body(corpus, j, item.get("cardData"))).encode()  # as the lane strips the front
            packed = compress(body)
            raw, stored = raw + len(body), stored + len(packed)
            bodies.append({"model_key": j + 1, "sha": row["sha"], "state": "card", "body": packed, "size": len(body),
                           "truncated": False, "fetched_at": now})
        with engine.begin() as conn:
            conn.execute(insert(models), rows)
            conn.execute(insert(model_cards), bodies)
        if (low // chunk) % 10 == 9:
            print(f"  {low + chunk:,} models and cards stored, {time.perf_counter() - started:.0f} s", flush=True)
    print(f"{count:,} models and cards built and stored: {time.perf_counter() - started:.0f} s", flush=True)
    return raw, stored


@contextlib.contextmanager
def scale_catalog(backend: str, where: Path) -> Iterator[str]:
    """A new empty catalog's URL on ``backend``."""
    if backend == "sqlite":
        yield f"sqlite:///{where / 'hub.db'}"
        return
    from postgres_cluster import ThrowawayCluster

    with ThrowawayCluster(durable=True) as cluster:
        yield cluster.create_database("hub")


def index_bytes(engine: Engine, db: str) -> tuple[int, int]:
    """Bytes of ``model_cards`` and of the search index (every table and index of it)."""
    if engine.dialect.name == "sqlite":
        sizes = table_bytes(Path(db.removeprefix("sqlite:///")), ("model_cards", "models_search"))
        return sizes.get("model_cards", 0), sum(v for k, v in sizes.items() if k.startswith("models_search"))
    with engine.connect() as conn:
        size = "SELECT pg_total_relation_size(:name)"
        return (conn.execute(text(size), {"name": "model_cards"}).scalar_one(),
                conn.execute(text(size), {"name": "models_search"}).scalar_one())


def search_at_scale(count: int, backend: str) -> None:
    """`--search-cards`: the index's rebuild, its bytes and search latency at ``count`` cards."""
    with tempfile.TemporaryDirectory() as tmp, scale_catalog(backend, Path(tmp)) as db:
        engine = open_catalog(db)
        raw, stored = fill_directly(engine, count)
        print(f"card bodies: {raw / count:,.0f} bytes each as generated, {stored / count:,.0f} compressed", flush=True)
        started, cpu = time.perf_counter(), time.process_time()
        indexed = refresh_index(engine, "models")
        print(f"search index rebuild ({backend}): {indexed:,} models in {time.perf_counter() - started:.0f} s "
              f"({time.process_time() - cpu:.0f} s CPU of this process)", flush=True)
        cards_bytes, index = index_bytes(engine, db)
        print(f"per card: model_cards {cards_bytes / count:,.0f} bytes, the search index {index / count:,.0f} "
              f"({index / 1e9:.2f} GB in all)", flush=True)
        engine.dispose()
        timed_searches(db, count=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=50_000)
    parser.add_argument("--where", default=None, help="the lane's --where (default: its own)")
    parser.add_argument("--slow", type=float, default=0.1, help="seconds each answer of the sample waits")
    parser.add_argument("--slow-sample", type=int, default=300)
    parser.add_argument("--churn", type=int, default=2_000)
    parser.add_argument("--search-cards", type=int, default=0, help="instead: search at this many cards")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite", help="--search-cards's")
    args = parser.parse_args()
    if args.search_cards:
        search_at_scale(args.search_cards, args.backend)
        return
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
        timed_searches(db)


if __name__ == "__main__":
    main()
