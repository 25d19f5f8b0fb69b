"""What each field group costs: listing bytes per page and per row, and crawl CPU and catalog
bytes per row for core only, the default groups and every group.

    python benchmarks/fields.py                    # 200,000 models
    python benchmarks/fields.py --models 20000     # a quick run
    python benchmarks/fields.py --fill --models 20000 --page-size 10   # a group added, per plan

Not a test. One emulator serves every contender. Bytes: each group's fields on top of core, over
a walk of the whole corpus in creation order (pages of 1,000). Crawl: `harvester sync --fields
<choice> --verify-pages 0` into a new SQLite file, a process of its own, CPU (user + system)
read with ``wait4``; bytes per row: the file after its final checkpoint, over the rows. Then
``--churn`` models get a new commit and each catalog's incremental walk runs (its requests).

``--fill`` measures instead how many hourly plain syncs it takes to fill in a group added to a
crawled catalog (``--add``), under the Hub's anonymous, free and PRO quotas (the emulator's fixed
window, fresh each simulated hour, as `benchmarks/staleness.py --plans`): the lap's pages come
from the default ``--budget``. With ``--page-size 10``, 20,000 models are 2,000 pages, as
2,000,000 are at the Hub's 1,000: as many runs as on the whole Hub, for a hundredth of the work.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from huggingface_hub.utils import get_session

from harvester.config import SyncConfig
from harvester.emulator import HubEmulator, Quota
from harvester.kinds import KINDS
from harvester.store.engine import open_catalog
from harvester.store.fields import group_progress
from harvester.sync import sync, sync_kind

PLANS = {"anonymous": 500, "free": 1_000, "PRO": 2_500}  # requests per 5 minutes in the API bucket


def page_bytes(endpoint: str, kind: str, fields: tuple[str, ...]) -> tuple[int, int, int]:
    """Bytes, pages and rows of a walk of ``kind`` asking for ``fields``."""
    session = get_session()
    params = [("sort", "createdAt"), *(("expand", name) for name in fields), ("limit", "1000")]
    response = session.get(f"{endpoint}/api/{kind}", params=params, timeout=300)
    total = pages = rows = 0
    while True:
        response.raise_for_status()
        total, pages, rows = total + len(response.content), pages + 1, rows + len(response.json())
        url = response.links.get("next", {}).get("url")
        if not url:
            return total, pages, rows
        response = session.get(url, timeout=300)


def harvester(db: Path, endpoint: str, *args: str) -> tuple[float, float, dict]:
    """CPU seconds (user + system, ``wait4``), wall seconds and the record of a `harvester sync` process."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "harvester", "sync", "--db", str(db), "--endpoint", endpoint,
                                "--verify-pages", "0", "--json", *args], stdout=subprocess.PIPE, text=True)
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    assert status == 0, f"harvester sync {' '.join(args)} failed"
    return usage.ru_utime + usage.ru_stime, time.perf_counter() - started, json.loads(out.splitlines()[-1])


def crawl(endpoint: str, fields: str, where: Path) -> tuple[float, float, int]:
    """CPU seconds, wall seconds and catalog bytes per row of a crawl asking for ``fields``."""
    db = where / f"{fields.replace(',', '_')}.db"
    cpu, wall, _ = harvester(db, endpoint, "--fields", fields)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = conn.execute("SELECT count(*) FROM models").fetchone()[0]
    return cpu, wall, db.stat().st_size // max(rows, 1)


def fill(args: argparse.Namespace) -> None:
    """Hourly plain syncs after ``--fields +ADD`` on a crawled catalog, per plan, until every live
    row was read whole since the group was added."""
    print(f"filling in +{args.add} ({args.models:,} models in pages of {args.page_size}, the lap from the "
          "default --budget of each plan's fresh window, one plain sync a simulated hour)")
    for plan, quota in PLANS.items():
        with tempfile.TemporaryDirectory() as where, HubEmulator(models=args.models, seed=1) as hub:
            db = f"sqlite:///{Path(where) / 'hub.db'}"
            sync(SyncConfig(db_url=db, endpoint=hub.url, verify_pages=0, page_size=args.page_size))
            requests, read, live = [], 0, 1
            while read < live and len(requests) < args.max_hours:
                hub.faults.quota = Quota(quota, 300.0)
                added = f"+{args.add}" if not requests else None
                requests.append(sum(run["requests"] for run in sync_kind(
                    SyncConfig(db_url=db, endpoint=hub.url, page_size=args.page_size, fields=added))))
                engine = open_catalog(db)
                _, _, read, live = next(g for g in group_progress(engine, "models") if g.group == args.add)
                engine.dispose()
            print(f"  {plan} ({quota} per 5 min): {len(requests)} runs to fill {read:,} of {live:,} rows; "
                  f"requests per run mean {sum(requests) / len(requests):.1f}, largest {max(requests)}")


def listing_bytes(hub: HubEmulator, args: argparse.Namespace) -> None:
    """Requests and bytes of a walk of each kind with core, each group on top of it, the default
    groups and every group."""
    print(f"listing bytes ({args.models:,} models, {args.others:,} datasets and spaces; pages of 1,000)")
    for kind, spec in KINDS.items():
        core, pages, rows = page_bytes(hub.url, kind, spec.core_fields)
        print(f"  {kind} core: {pages:,} requests, {core / pages:,.0f} B per page, {core / rows:,.0f} B per row")
        for name, group in spec.field_groups.items():
            if name == "core":
                continue
            total, pages, rows = page_bytes(hub.url, kind, (*spec.core_fields, *group.fields))
            print(f"  {kind} +{name}: {total / pages:,.0f} B per page, +{(total - core) / rows:,.0f} B per row"
                  f" ({'default' if group.default else 'not default'})")
        for label, groups in (("the default groups", spec.default_groups), ("every group", spec.field_groups)):
            total, pages, rows = page_bytes(hub.url, kind, spec.fields_of(tuple(groups)))
            print(f"  {kind} {label}: {pages:,} requests, {total / pages:,.0f} B per page, "
                  f"{total / rows:,.0f} B per row", flush=True)


def crawls(hub: HubEmulator, args: argparse.Namespace) -> None:
    """A crawl per choice of groups, ``--repeat`` rounds in alternating order; then the last
    round's catalogs each take an incremental walk after ``--churn`` commits."""
    print(f"crawl of {args.models:,} models")
    choices = ("core", "default", "all")
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.repeat):
            where = Path(tmp) / str(round_)
            where.mkdir()
            for fields in choices if round_ % 2 == 0 else reversed(choices):
                cpu, wall, per_row = crawl(hub.url, fields, where)
                print(f"  --fields {fields}: {cpu:.1f} s CPU, {wall:.1f} s wall, {per_row:,} B per row", flush=True)
        hub.corpora["models"].modify(args.churn)
        print(f"incremental walk after {args.churn:,} commits")
        for fields in choices:
            cpu, wall, record = harvester(where / f"{fields}.db", hub.url)
            print(f"  --fields {fields}: {record['requests']} requests, {record['rows_updated']:,} rows updated, "
                  f"{cpu:.1f} s CPU, {wall:.1f} s wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=200_000)
    parser.add_argument("--others", type=int, default=20_000, help="datasets and spaces each, for their bytes")
    parser.add_argument("--churn", type=int, default=2_000, help="models given a commit before the incremental runs")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the three crawls, in alternating order")
    parser.add_argument("--no-bytes", action="store_true", help="crawls only")
    parser.add_argument("--fill", action="store_true", help="measure how many runs fill in a group added (--add)")
    parser.add_argument("--add", default="gguf", help="the group --fill adds to the defaults")
    parser.add_argument("--page-size", type=int, default=1000, help="--fill's page size")
    parser.add_argument("--max-hours", type=int, default=400, help="--fill gives up after so many runs")
    args = parser.parse_args()
    if args.fill:
        fill(args)
        return
    with HubEmulator(models=args.models, datasets=args.others, spaces=args.others, seed=1) as hub:
        if not args.no_bytes:
            listing_bytes(hub, args)
        crawls(hub, args)

if __name__ == "__main__":
    main()
