"""How stale a catalog gets when the Hub changes repos without a commit, under two schedules.

    python benchmarks/staleness.py                         # 200,000 models, a simulated week (~15 min)
    python benchmarks/staleness.py --models 20000 --hours 48   # a quick run
    python benchmarks/staleness.py --plans --models 20000 --page-size 10   # the lap per plan, to scale

``--plans`` measures hourly plain syncs under the Hub's anonymous, free and PRO quotas instead
(the emulator's fixed window, fresh each simulated hour): the lap's pages come from ``--budget``
(5 % of the window, the default), and each hour ``--deletions`` repos are deleted or made private
too, to measure how long a deleted repo stays live (worst and mean, in simulated hours). With
``--page-size 10``, 20,000 models are 2,000 pages, as 2,000,000 are at the Hub's 1,000: the lap
is as long in runs as on the whole Hub, for a hundredth of the work.

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
from harvester.emulator import HubEmulator, Quota, items
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
        stored = conn.execute("SELECT v.id, CAST(v.raw AS TEXT) FROM models_raw v JOIN models r ON r.id = v.id "
                              "WHERE r.deleted_at IS NULL")
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


PLANS = {"anonymous": 500, "free": 1_000, "PRO": 2_500}  # requests per 5 minutes in the API bucket


def run_schedule(name: str, args: argparse.Namespace, hourly: Callable[[SyncConfig, int], list[dict]],
                 quota: int | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="harvester-staleness-") as tmp, \
            HubEmulator(models=args.models, seed=args.seed) as hub:
        db = Path(tmp) / "hub.db"
        base = SyncConfig(db_url=f"sqlite:///{db}", endpoint=hub.url, verify_pages=0, page_size=args.page_size)
        started = time.perf_counter()
        hour_started = [time.time()]  # wall time at which each simulated hour began; hour 0 is the crawl
        crawl = sync(base)
        print(f"[{name}] initial crawl: {crawl['requests']} requests, {time.perf_counter() - started:.0f} s",
              flush=True)
        requests, days, gone = [], [], {}
        corpus = hub.corpora["models"]
        drift = max(1, round(args.models * args.drift))
        for hour in range(1, args.hours + 1):
            hour_started.append(time.time())
            corpus.drift(drift)
            half = args.deletions // 2
            for repo_id in corpus.delete(half) + corpus.make_private(args.deletions - half):
                gone[repo_id] = hour
            if quota is not None:  # each simulated hour begins a fresh window of the plan
                hub.faults.quota = Quota(quota, 300.0)
            requests.append(sum(run["requests"] for run in hourly(base, hour)))
            for repo_id in _marked_deleted(db, [r for r, h in gone.items() if h >= 0]):
                gone[repo_id] = -(hour - gone[repo_id] + 1)  # hours it stayed live, stored negative once known
            if hour % HOURS_PER_DAY == 0 or hour == args.hours:
                bound = staleness_hours(base.db_url, hour_started)
                wrong = out_of_date(hub, db)
                days.append((hour, bound, wrong))
                print(f"[{name}] hour {hour}: staleness bound {bound} h, {wrong:,} live rows out of date, "
                      f"{time.perf_counter() - started:.0f} s so far", flush=True)
        stayed = [-h for h in gone.values() if h < 0]
        return {"requests": requests, "days": days, "size": db.stat().st_size, "stayed": stayed,
                "still_live": sum(h >= 0 for h in gone.values())}


def _marked_deleted(db: Path, repo_ids: list[str]) -> list[str]:
    """Which of these repos the catalog has marked deleted."""
    with sqlite3.connect(db) as conn:
        return [repo_id for repo_id in repo_ids
                if conn.execute("SELECT deleted_at IS NOT NULL FROM models WHERE id = ?", (repo_id,)).fetchone()
                in ((1,),)]


def lap_schedule(budget: int | None) -> Callable[[SyncConfig, int], list[dict]]:
    """Hourly plain syncs; ``budget`` pages of the lap, or None: what the run's budget leaves."""
    def hourly(base: SyncConfig, hour: int) -> list[dict]:
        return list(sync_kind(SyncConfig(db_url=base.db_url, endpoint=base.endpoint, verify_pages=budget,
                                         page_size=base.page_size)))

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
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--deletions", type=int, default=0, help="repos deleted or made private per hour")
    parser.add_argument("--plans", action="store_true", help="hourly plain syncs per plan, the lap from --budget")
    args = parser.parse_args()
    if args.plans:
        args.deletions = args.deletions or 10
        results = {plan: run_schedule(plan, args, lap_schedule(None), quota) for plan, quota in PLANS.items()}
    else:
        results = {"lap": run_schedule("lap", args, lap_schedule(args.budget)),
                   "today": run_schedule("today", args, todays_schedule)}
    lap = "the lap from a 5 % budget of each plan's window" if args.plans else f"lap budget {args.budget} pages"
    print(f"\n{args.models:,} models in pages of {args.page_size}, {args.drift:.0%} changed without a commit and "
          f"{args.deletions} deleted per simulated hour, {args.hours} hours; {lap}")
    print(f"{'schedule':<8} {'requests/run (mean, max)':>25} {'quota share':>12} "
          + " ".join(f"{'day ' + str(hour // HOURS_PER_DAY) if hour % HOURS_PER_DAY == 0 else 'h ' + str(hour):>18}"
                     for hour, _, _ in next(iter(results.values()))['days']))
    for name, result in results.items():
        mean, most = sum(result["requests"]) / len(result["requests"]), max(result["requests"])
        cells = " ".join(f"{'-' if bound is None else str(bound) + ' h'}, {wrong:,} off".rjust(18)
                         for _, bound, wrong in result["days"])
        print(f"{name:<8} {f'{mean:.1f}, {most}':>25} {most / PLANS.get(name, 500):>12.1%} {cells}")
        if result["stayed"] or result["still_live"]:
            stayed = result["stayed"]
            print(f"{'':<8} deleted repos live for (simulated hours): worst {max(stayed, default=0)}, "
                  f"mean {sum(stayed) / max(1, len(stayed)):.1f}; {result['still_live']} still live at the end")


if __name__ == "__main__":
    main()
