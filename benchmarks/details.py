"""What the details lane costs per model, as the Hub answers `expand` beside `blobs=true`.

    python benchmarks/details.py                  # 20,000 models (about 3 minutes)
    python benchmarks/details.py --models 2000    # a quick run

Not a test: it asserts nothing about speed. A full crawl, then a details backfill of every model
as a separate `python -m harvester sync --details` process, once per way the Hub may answer the
one request per model (`harvester.hub.repo_pages`): sized files with the lineage (the default),
the pair refused with 400 (`refuse-blobs-expand`: two requests per model), files without sizes
(`ignore-blobs-expand`). Each backfill starts from a copy of the crawled catalog; after each, the
catalog's files, `children_model_count` and `hub_base_models` are checked against the emulator.
It also reports the bytes of one repo's answer for each form of the request, over a sample.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from huggingface_hub.utils import get_session

from harvester.emulator import HubEmulator
from harvester.emulator.items import PROPERTIES, siblings_with_blobs

SCENARIOS = {"one request": None, "pair refused": "refuse-blobs-expand", "sizes ignored": "ignore-blobs-expand"}
NEEDED = [("expand", name) for name in ("sha", "siblings", "usedStorage")]
EXTRAS = [("expand", "baseModels"), ("expand", "childrenModelCount")]
FORMS = {
    "?blobs=true (before)": [("blobs", "true")],
    "?blobs=true&expand=... (now)": [("blobs", "true"), *NEEDED, *EXTRAS],
    "?expand=baseModels&expand=childrenModelCount": EXTRAS,
}


def harvester(db: Path, url: str, *flags: str) -> dict:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "harvester", "sync", "--db", str(db), "--endpoint", url, "--json",
                           "--quiet", *flags], capture_output=True, text=True, check=True)
    return {**json.loads(done.stdout.splitlines()[-1]), "wall": time.perf_counter() - started}


def answer_bytes(hub: HubEmulator, sample: int) -> dict[str, float]:
    """Mean bytes of one repo's answer per form of the request, over ``sample`` models."""
    corpus, session = hub.corpora["models"], get_session()
    rows = [j for j in corpus.live() if not corpus.disabled[j]][:sample]
    return {form: sum(len(session.get(f"{hub.url}/api/models/{corpus.ids[j]}", params=params, timeout=30).content)
                      for j in rows) / len(rows) for form, params in FORMS.items()}


def check(hub: HubEmulator, db: Path) -> str:
    corpus = hub.corpora["models"]
    served = [j for j in corpus.live() if not corpus.disabled[j]]
    with sqlite3.connect(db) as conn:
        files = conn.execute("SELECT count(*), coalesce(sum(size), 0) FROM model_files").fetchone()
        children = dict(conn.execute("SELECT id, children_model_count FROM models_current"))
        bases = set(conn.execute("SELECT model_id, relation, base_id FROM hub_base_models"))
    blobs = [s for j in served for s in siblings_with_blobs(corpus, j)]
    want_bases = {(corpus.ids[j], b["relation"], m["id"]) for j in served
                  if (b := PROPERTIES["baseModels"](corpus, j)) for m in b["models"]}
    ok = (files == (len(blobs), sum(s["size"] for s in blobs)) and bases == want_bases
          and all(children[corpus.ids[j]] == PROPERTIES["childrenModelCount"](corpus, j) for j in served))
    return "equals the emulator" if ok else "MISMATCH"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=20_000)
    parser.add_argument("--sample", type=int, default=1_000, help="models whose answers are weighed")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="harvester-details-") as tmp, \
            HubEmulator(models=args.models, seed=1) as hub:
        crawled = Path(tmp) / "crawled.db"
        crawl = harvester(crawled, hub.url, "--verify-pages", "0")
        print(f"{args.models:,} models: full crawl {crawl['wall']:.1f} s, {crawl['requests']} requests")
        for form, size in answer_bytes(hub, args.sample).items():
            print(f"  {form:<46} {size:>8,.0f} bytes per answer")
        print(f"{'the Hub':<14} {'wall s':>8} {'requests':>9} {'per model':>9} {'stored':>7}  catalog")
        for name, fault in SCENARIOS.items():
            db = Path(tmp) / "details.db"
            shutil.copy(crawled, db)
            hub.faults.clear()
            if fault:
                hub.faults.add(fault)
            run = harvester(db, hub.url, "--details")
            print(f"{name:<14} {run['wall']:>8.1f} {run['requests']:>9,} {run['requests'] / run['rows_seen']:>9.3f} "
                  f"{run['rows_updated']:>7,}  {check(hub, db)}")
            db.unlink()


if __name__ == "__main__":
    main()
