"""What the graph costs a crawl, and how fast a big family is read.

    python benchmarks/graph.py                     # 100,000 models crawled twice, a 10,000-model family
    python benchmarks/graph.py --models 20000      # a quick run

Not a test. Two measures:

crawl   `harvester sync --verify-pages 0` of the emulator's models into a new SQLite file, once
        as shipped and once with the edges switched off (`mapping.item_links` answering none, so
        nothing reaches the link tables): CPU (user + system of the process, from ``wait4``),
        wall time and bytes per model row, each run in a process of its own against one emulator.
tree    a catalog holding one base with 10,000 descendants (fine-tunes of fine-tunes five deep,
        quantizations and adapters, a few merges of two parents) among --family-noise other
        models; `harvester tree BASE --json` and the rich tree timed as whole processes, and
        `graph.family` alone, best of five.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from harvester import graph
from harvester.emulator import HubEmulator
from harvester.mapping import map_item
from harvester.store.engine import open_catalog
from harvester.store.repos import upsert_repos

WITHOUT_EDGES = """
import runpy, sys
import harvester.mapping.items
harvester.mapping.items.item_links = lambda kind, item, tags: []
sys.argv = ["harvester", *sys.argv[1:]]
runpy.run_module("harvester", run_name="__main__")
"""
WITH_EDGES = WITHOUT_EDGES.replace("harvester.mapping.items.item_links = lambda kind, item, tags: []\n", "")


def crawl(program: str, endpoint: str, db: Path) -> tuple[float, float, float]:
    """CPU seconds, wall seconds and bytes per model row of one crawl by ``program``."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", program, "sync", "--db", str(db), "--endpoint", endpoint,
                                "--quiet", "--verify-pages", "0"])
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    assert os.waitstatus_to_exitcode(status) == 0, "the crawl failed"
    engine = open_catalog(f"sqlite:///{db}")
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT count(*) FROM models").scalar()
        edges = conn.exec_driver_sql("SELECT count(*) FROM model_links").scalar()
    engine.dispose()
    print(f"    {rows:,} models, {edges:,} model edges")
    return usage.ru_utime + usage.ru_stime, wall, db.stat().st_size / rows


def bench_crawl(models: int, where: Path) -> None:
    with HubEmulator(models=models, seed=1) as hub:
        results = {}
        for name, program in (("without edges", WITHOUT_EDGES), ("with edges", WITH_EDGES)):
            print(f"  crawl {name}:")
            results[name] = crawl(program, hub.url, where / f"{name.replace(' ', '-')}.db")
    (cpu0, wall0, bytes0), (cpu1, wall1, bytes1) = results.values()
    print(f"crawl of {models:,} models: CPU {cpu0:.1f} s without edges, {cpu1:.1f} s with ({cpu1 / cpu0:.3f}x); "
          f"wall {wall0:.1f} s / {wall1:.1f} s; {bytes0:,.0f} / {bytes1:,.0f} bytes per model row")


def family_items(size: int, noise: int) -> list[dict]:
    """A base, ``size`` descendants five generations deep, and ``noise`` unrelated models."""
    items = [{"_id": f"{0:024x}", "id": "base/model", "tags": [], "downloads": 10**9}]
    generation, n = ["base/model"], 0
    relations = ("finetune", "finetune", "finetune", "quantized", "adapter")
    while n < size:
        children = []
        for parent in generation:
            for _ in range(7):
                if n >= size:
                    break
                n += 1
                child = f"fam{n % 97}/model-{n}"
                tags = [f"base_model:{parent}", f"base_model:{relations[n % 5]}:{parent}"]
                if n % 200 == 0 and len(generation) > 1:  # a merge of two parents
                    tags = [f"base_model:merge:{parent}", f"base_model:merge:{generation[0]}"]
                items.append({"_id": f"{n:024x}", "id": child, "tags": tags, "downloads": n})
                children.append(child)
        generation = children
    items += [{"_id": f"{size + 1 + k:024x}", "id": f"other{k % 500}/model-{k}",
               "tags": [f"base_model:finetune:other0/model-{k // 10}"], "downloads": k} for k in range(noise)]
    return items


def bench_tree(size: int, noise: int, where: Path, url: str | None) -> None:
    db = url or f"sqlite:///{where / 'family.db'}"
    engine = open_catalog(db)
    items = family_items(size, noise)
    now = datetime.now(UTC)
    for start in range(0, len(items), 1000):
        with engine.begin() as conn:
            upsert_repos(conn, "models", [map_item("models", item) for item in items[start:start + 1000]], now=now)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        with engine.connect() as conn:
            family = graph.family(conn, "base/model")
        best = min(best, time.perf_counter() - started)
    engine.dispose()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harvester", "tree", "base/model", "--db", str(db), "--json"],
                   check=True, stdout=subprocess.DEVNULL)
    whole = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harvester", "tree", "base/model", "--db", str(db)],
                   check=True, stdout=subprocess.DEVNULL)
    drawn = time.perf_counter() - started
    print(f"tree of a base with {family.size():,} descendants among {len(items):,} models: graph.family "
          f"{best * 1000:.0f} ms (best of 5); as whole processes, `harvester tree --json` {whole * 1000:.0f} ms, "
          f"`harvester tree` (rich) {drawn * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--family", type=int, default=10_000)
    parser.add_argument("--family-noise", type=int, default=200_000)
    parser.add_argument("--skip-crawl", action="store_true")
    parser.add_argument("--tree-db", metavar="URL", default=None,
                        help="an empty catalog database for the tree measure, e.g. PostgreSQL (default: a SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as where:
        if not args.skip_crawl:
            bench_crawl(args.models, Path(where))
        bench_tree(args.family, args.family_noise, Path(where), args.tree_db)


if __name__ == "__main__":
    main()
