"""How stale a catalog gets when the Hub changes repos without a commit, under two schedules.

    python benchmarks/staleness.py                         # 200,000 models, a simulated week (~15 min)
    python benchmarks/staleness.py --models 20000 --hours 48   # a quick run

Not a test. Each simulated hour, ``--drift`` of the models change without a commit (the
emulator's ``drift``: a Hub-computed tag, sometimes the gating or the inferred task, and the
counters; ``sha`` and ``lastModified`` stay), then the schedule's syncs run, in this process,
against a local emulator. Two schedules, each on a fresh emulator with the same seed (the same
history) and a catalog of its own:

    lap      hourly plain `harvester sync` (the incremental walk, then --verify-pages of the lap)
    today    the schedule before the lap: hourly incremental (--verify-pages 0), daily --stats
             (top 10,000), and a weekly --full, which is the initial crawl here: the week measured
             is the one after it

Reported per schedule: requests per hourly run (mean and largest, against the Hub's anonymous
quota of 500 requests per 5 minutes), the staleness bound that `harvester status` shows
(``oldest_verified_at``, converted to simulated hours) at the end of every day, and how many
live rows then differ from what the Hub serves (their ``raw`` item against the emulator's).
"""

from __future__ import annotations

import argparse
import bisect
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from harvester.config import SyncConfig
from harvester.emulator import HubEmulator, items
from harvester.kinds import KINDS
from harvester.lanes import VERIFY_PAGES
from harvester.store.clock import wall_clock as now
from harvester.store.engine import open_catalog
from harvester.store.status import scope_status
from harvester.sync import sync, sync_kind

HOURS_PER_DAY = 24


def out_of_date(hub: HubEmulator, db: Path) -> int:
    """Live rows whose stored item is not what the Hub serves now, plus repos missing either side."""
    corpus = hub.corpora["models"]
    fields = items.field_set("models", expand=KINDS["models"].listing_fields, full=False, card_data=False)
    expected = {corpus.ids[j]: j for j in corpus.live()}
    wrong = 0
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT id, raw FROM models WHERE deleted_at IS NULL")
        seen = 0
        for repo_id, raw in stored:
            seen += 1
            j = expected.get(repo_id)
            wrong += j is None or json.loads(raw) != items.render(corpus, j, fields)
    return wrong + max(0, len(expected) - seen)


def staleness_hours(db_url: str, hour_started: list[float]) -> float | None:
    """`status`'s oldest_verified_at for models, as simulated hours before the end of the last hour."""
    engine = open_catalog(db_url)
    try:
        [models] = [s for s in scope_status(engine, now=now(), lap_suffix="verify") if s["scope"] == "models"]
    finally:
        engine.dispose()
    if models["oldest_verified_at"] is None:
        return None
    verified = datetime.fromisoformat(models["oldest_verified_at"]).timestamp()
    hour = bisect.bisect_right(hour_started, verified) - 1  # the simulated hour that row was verified in
    return len(hour_started) - hour - 1


def run_schedule(name: str, args: argparse.Namespace, hourly: Callable[[SyncConfig, int], list[dict]]) -> dict:
    with tempfile.TemporaryDirectory(prefix="harvester-staleness-") as tmp, \
            HubEmulator(models=args.models, seed=args.seed) as hub:
        db = Path(tmp) / "hub.db"
        base = SyncConfig(db_url=f"sqlite:///{db}", endpoint=hub.url, verify_pages=0)
        started = time.perf_counter()
        hour_started = [time.time()]  # wall time at which each simulated hour began; hour 0 is the crawl
        crawl = sync(base)
        print(f"[{name}] initial crawl: {crawl['requests']} requests, {time.perf_counter() - started:.0f} s",
              flush=True)
        requests, days = [], []
        corpus = hub.corpora["models"]
        drift = max(1, round(args.models * args.drift))
        for hour in range(1, args.hours + 1):
            hour_started.append(time.time())
            corpus.drift(drift)
            requests.append(sum(run["requests"] for run in hourly(base, hour)))
            if hour % HOURS_PER_DAY == 0 or hour == args.hours:
                bound = staleness_hours(base.db_url, hour_started)
                wrong = out_of_date(hub, db)
                days.append((hour, bound, wrong))
                print(f"[{name}] hour {hour}: staleness bound {bound} h, {wrong:,} live rows out of date, "
                      f"{time.perf_counter() - started:.0f} s so far", flush=True)
        return {"requests": requests, "days": days, "size": db.stat().st_size}


def lap_schedule(budget: int) -> Callable[[SyncConfig, int], list[dict]]:
    def hourly(base: SyncConfig, hour: int) -> list[dict]:
        return list(sync_kind(SyncConfig(db_url=base.db_url, endpoint=base.endpoint, verify_pages=budget)))

    return hourly


def todays_schedule(base: SyncConfig, hour: int) -> list[dict]:
    runs = [sync(base)]
    if hour % HOURS_PER_DAY == 0:
        runs.append(sync(SyncConfig(db_url=base.db_url, endpoint=base.endpoint, lane="stats", top=10_000)))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=200_000)
    parser.add_argument("--hours", type=int, default=168, help="simulated hours (one week: 168)")
    parser.add_argument("--drift", type=float, default=0.01, help="share of models changed without a commit per hour")
    parser.add_argument("--budget", type=int, default=VERIFY_PAGES, help="--verify-pages of the lap schedule")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    results = {"lap": run_schedule("lap", args, lap_schedule(args.budget)),
               "today": run_schedule("today", args, todays_schedule)}
    print(f"\n{args.models:,} models, {args.drift:.0%} changed without a commit per simulated hour, "
          f"{args.hours} hours; lap budget {args.budget} pages")
    print(f"{'schedule':<8} {'requests/run (mean, max)':>25} {'quota share':>12} "
          + " ".join(f"{'day ' + str(hour // HOURS_PER_DAY) if hour % HOURS_PER_DAY == 0 else 'h ' + str(hour):>18}"
                     for hour, _, _ in results['lap']['days']))
    for name, result in results.items():
        mean, most = sum(result["requests"]) / len(result["requests"]), max(result["requests"])
        cells = " ".join(f"{'-' if bound is None else str(bound) + ' h'}, {wrong:,} off".rjust(18)
                         for _, bound, wrong in result["days"])
        print(f"{name:<8} {f'{mean:.1f}, {most}':>25} {most / 500:>12.1%} {cells}")


if __name__ == "__main__":
    main()
