"""A full crawl of the models listing by four contenders against one local Hub emulator.

    pip install -e '.[bench]'                     # dlt[sqlalchemy] and psutil
    python benchmarks/crawl.py                    # 200,000 models, all contenders (about 5 minutes)
    python benchmarks/crawl.py --models 20000     # a quick run
    python benchmarks/crawl.py --skip-dlt         # without dlt

Not a test: it asserts nothing about speed, and its numbers depend on the machine. It starts one
emulator (in this process, in a background thread, so that it can later be mutated) and runs
each contender against it as a separate process, one after the other:

    floor      the same pages harvester asks for (sort=lastModified, harvester's expand list,
               limit=1000) through huggingface_hub's session, following Link headers and
               decoding each page; nothing stored. The least any client can do.
    harvester  `python -m harvester sync --db <fresh file> --endpoint URL --json --verify-pages 0`:
               the walk alone (the lap that follows a plain sync is measured by staleness.py
               and lanes.py).
    naive      what users write today: `list(HfApi(endpoint=URL).list_models(full=True))`, then
               a small SQLAlchemy ORM model and `session.merge()` per row, one commit at the end.
    dlt        dlt's `rest_api` source (header_link paginator, merge on primary key `id`,
               incremental on `lastModified`, the same params) into SQLite through dlt's
               `sqlalchemy` destination, with dlt's defaults otherwise.

Per contender it reports wall time (process start to exit, so interpreter start and imports
count for everyone), rows/s (models in the corpus / wall time), the requests the contender
itself counted, its peak RSS (read by the contender's own process as it ends: VmHWM, or a
child process's ``ru_maxrss`` if larger) and its wall time as a multiple of the floor's. Each
contender that stores rows is checked to hold every model afterwards. One run each: expect
run-to-run noise of 10-20 %.

Then the incremental part: 1,000 models get a new commit in the emulator, and harvester syncs
again into the catalog of its full crawl; its requests and wall time are reported as a share of
its full crawl. dlt runs its pipeline again too, as configured, and once more from a copy of its
post-crawl state with ``row_order="desc"``, dlt's own way to stop reading a sorted source early.

The emulator's sort index is warmed with one small request before every timed run, so no
contender pays for building it. Everything is written to a temporary directory that is removed
at the end (``--keep`` keeps it); nothing goes to the home directory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAGE_SIZE = 1000
CONTENDERS = ("floor", "harvester", "naive", "dlt")


def listing_params() -> list[tuple[str, str]]:
    """The query harvester sends for a models walk (see harvester.lanes.LaneSpec.first_url)."""
    from harvester.kinds import KINDS

    return [("sort", "lastModified"), *(("expand", name) for name in KINDS["models"].listing_fields),
            ("limit", str(PAGE_SIZE))]


# -- contenders: each runs in its own process (`crawl.py --contender NAME ...`) and returns what
#    it counted itself, which that process writes to its --result file with its peak RSS --------


def run_floor(url: str, workdir: Path) -> dict[str, Any]:
    from huggingface_hub.utils import get_session

    session = get_session()
    response = session.get(f"{url}/api/models", params=listing_params(), timeout=120)
    rows = requests = 0
    while True:
        requests += 1
        response.raise_for_status()
        rows += len(response.json())
        next_url = response.links.get("next", {}).get("url")
        if not next_url:
            return {"rows": rows, "requests": requests}
        response = session.get(next_url, timeout=120)


def run_naive(url: str, workdir: Path) -> dict[str, Any]:
    from huggingface_hub import HfApi
    from huggingface_hub.utils import get_session
    from sqlalchemy import JSON, BigInteger, Column, DateTime, String, create_engine, func, select
    from sqlalchemy.orm import DeclarativeBase, Session

    requests = [0]
    get_session().event_hooks["response"].append(lambda response: requests.__setitem__(0, requests[0] + 1))

    class Base(DeclarativeBase):
        pass

    class HubModel(Base):  # plain Column()s: annotations would not resolve inside a function here
        __tablename__ = "models"
        id = Column(String, primary_key=True)
        sha = Column(String)
        last_modified = Column(DateTime(timezone=True))
        downloads = Column(BigInteger)
        likes = Column(BigInteger)
        tags = Column(JSON)

    models = list(HfApi(endpoint=url).list_models(full=True))
    engine = create_engine(f"sqlite:///{workdir / 'naive.db'}")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        for model in models:
            session.merge(HubModel(id=model.id, sha=model.sha, last_modified=model.last_modified,
                                   downloads=model.downloads, likes=model.likes, tags=model.tags))
        session.commit()
        stored = session.scalar(select(func.count()).select_from(HubModel))
    return {"rows": len(models), "stored": stored, "requests": requests[0]}


def run_dlt(url: str, workdir: Path, *, row_order: str | None = None) -> dict[str, Any]:
    """dlt's rest_api source into SQLite; state lives in ``workdir/dlt`` so a rerun is incremental."""
    import dlt
    from dlt.sources.helpers.requests import Client
    from dlt.sources.rest_api import rest_api_source

    from harvester.kinds import KINDS

    requests = [0]
    session = Client(raise_for_status=False).session  # dlt's own default session, counting what it sends
    send = session.send  # (a session response hook would not do: rest_api's per-request hooks replace it)

    def counting_send(request: Any, **kwargs: Any) -> Any:
        requests[0] += 1
        return send(request, **kwargs)

    session.send = counting_send
    incremental: dict[str, Any] = {"cursor_path": "lastModified"}
    if row_order:
        incremental["row_order"] = row_order
    source = rest_api_source({
        "client": {"base_url": url, "paginator": {"type": "header_link"}, "session": session},
        "resources": [{
            "name": "models",
            "write_disposition": "merge",
            "primary_key": "id",
            "endpoint": {
                "path": "api/models",
                "params": {"sort": "lastModified", "expand": list(KINDS["models"].listing_fields), "limit": PAGE_SIZE},
                "incremental": incremental,
            },
        }],
    })
    home = workdir / "dlt"
    pipeline = dlt.pipeline(pipeline_name="hub_models", pipelines_dir=str(home / "pipelines"),
                            destination=dlt.destinations.sqlalchemy(f"sqlite:///{home / 'dlt.db'}"),
                            dataset_name="hub")
    pipeline.run(source)
    loaded = pipeline.last_trace.last_normalize_info.row_counts.get("models", 0)
    steps = {step.step: round((step.finished_at - step.started_at).total_seconds(), 1)
             for step in pipeline.last_trace.steps if step.finished_at}
    with pipeline.sql_client() as client:
        stored = client.execute_sql(f"SELECT count(*) FROM {client.make_qualified_table_name('models')}")[0][0]
    return {"rows": loaded, "stored": stored, "requests": requests[0], "steps_s": steps}


def run_harvester(url: str, workdir: Path) -> dict[str, Any]:
    """Exactly `python -m harvester sync --db workdir/harvester.db --endpoint URL --json --verify-pages 0`.

    Run through runpy (what `-m` does) only so that this process can read its own peak RSS after
    harvester exits; its run record goes to stdout as usual.
    """
    import runpy

    sys.argv = ["harvester", "sync", "--db", str(workdir / "harvester.db"), "--endpoint", url, "--json",
                "--verify-pages", "0"]
    try:
        runpy.run_module("harvester", run_name="__main__", alter_sys=True)
    except SystemExit as exit_:
        if exit_.code not in (None, 0):
            raise
    sys.stdout.flush()
    return {}


def run_contender(name: str, url: str, workdir: Path) -> dict[str, Any]:
    if name == "harvester":
        return run_harvester(url, workdir)
    if name == "floor":
        return run_floor(url, workdir)
    if name == "naive":
        return run_naive(url, workdir)
    if name == "dlt":
        return run_dlt(url, workdir)
    if name == "dlt-desc":
        return run_dlt(url, workdir, row_order="desc")
    raise SystemExit(f"unknown contender {name!r}")


# -- the driver -------------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    wall: float
    rows: int  # rows the contender read (or loaded, for dlt)
    requests: int
    peak_rss_mb: float
    stored: int | None = None  # rows its store holds afterwards
    extra: dict[str, Any] | None = None
    cpu: float = 0.0  # user + system seconds of the contender's process (and any it started)
    emulator_cpu: float = 0.0  # of the emulator meanwhile (this process, which otherwise only waits)

    def least_wall(self, cores: int) -> float:
        """The shortest wall time this much work allows on ``cores`` cores: the contender and the
        emulator share them, and the emulator serves pages from one thread (Python's GIL)."""
        return max(self.emulator_cpu, (self.cpu + self.emulator_cpu) / cores)


def child_env(workdir: Path) -> dict[str, str]:
    """Keep every contender off the network and out of the home directory."""
    env = dict(os.environ)
    env.update({
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HOME": str(workdir / "hf-home"),
        "DLT_DATA_DIR": str(workdir / "dlt-home"),
        "DLT_PROJECT_DIR": str(workdir / "dlt-project"),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM), or a child's if larger (dlt may start workers).

    Not ``ru_maxrss`` from the driver's ``wait4``: a child forked from the driver inherits, at
    exec, the high-water mark of the driver's memory, which holds the emulator's corpus.
    """
    with open("/proc/self/status") as status:
        own = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def run_child(label: str, contender: str, url: str, workdir: Path) -> Result:
    """Run one contender in its own process: wall time from start to exit, its own counts."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--contender", contender, "--endpoint", url,
            "--workdir", str(workdir), "--result", str(workdir / f"{label}.json")]
    log = workdir / f"{label}.log"
    with open(workdir / f"{label}.out", "w") as out, open(log, "w") as err:
        started, before = time.perf_counter(), cpu_seconds()
        code = subprocess.run(argv, stdout=out, stderr=err, cwd=workdir, env=child_env(workdir)).returncode
        wall, after = time.perf_counter() - started, cpu_seconds()
    if code != 0:
        raise RuntimeError(f"{label} exited with {code}:\n{log.read_text()[-3000:]}")
    record = json.loads((workdir / f"{label}.json").read_text())
    if contender == "harvester":  # its own run record, from its stdout
        record.update(json.loads((workdir / f"{label}.out").read_text().strip().splitlines()[-1]))
        record.update(rows=record["rows_seen"], stored=count_rows(workdir / "harvester.db"))
    return Result(label, wall, record["rows"], record["requests"], record["peak_rss_mb"], record.get("stored"),
                  record, cpu=after[1] - before[1], emulator_cpu=after[0] - before[0])


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds (user + system) of this process (the emulator's) and of its waited-for children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def count_rows(db: Path, table: str = "models") -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def warm(url: str) -> None:
    """One small request in the walk's sort, so the emulator builds its index outside any timing."""
    from huggingface_hub.utils import get_session

    params = [(k, v) for k, v in listing_params() if k != "limit"] + [("limit", "1")]
    get_session().get(f"{url}/api/models", params=params, timeout=120).raise_for_status()


def harvester_version() -> str:
    """The commit harvester runs from, so numbers can be matched to code (others edit it)."""
    repo = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "harvester", "migrations"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{head}{' with uncommitted changes' if dirty else ''}"


def vm_hwm_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM:"))


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:  # first column left-aligned, numbers right-aligned
        return "  ".join(cell.ljust(width) if i == 0 else cell.rjust(width)
                         for i, (cell, width) in enumerate(zip(cells, widths, strict=True)))

    print(f"\n{title}")
    print(line(header))
    print(line(["-" * width for width in widths]))
    for row in rows:
        print(line(row))


def check_stored(result: Result, models: int) -> None:
    if result.stored is not None and result.stored != models:
        print(f"  warning: {result.label} holds {result.stored:,} rows, the corpus has {models:,}", flush=True)


def full_crawl(args: argparse.Namespace, url: str, workdir: Path) -> dict[str, Result]:
    results: dict[str, Result] = {}
    for name in CONTENDERS:
        if name == "dlt" and args.skip_dlt:
            continue
        warm(url)
        print(f"running {name} ...", flush=True)
        result = run_child(name, name, url, workdir)
        check_stored(result, args.models)
        steps = (result.extra or {}).get("steps_s")
        stored = result.stored if result.stored is not None else "-"
        print(f"  {result.wall:.1f} s, CPU {result.cpu:.1f} s (emulator {result.emulator_cpu:.1f} s), "
              f"{result.requests} requests, {result.rows:,} rows read, stored {stored}, "
              f"peak RSS {result.peak_rss_mb:.0f} MB"
              f"{f', steps (s): {steps}' if steps else ''}", flush=True)
        results[name] = result
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=200_000, help="models in the emulator [200,000]")
    parser.add_argument("--modify", type=int, default=1_000, help="models changed before the incremental run")
    parser.add_argument("--skip-dlt", action="store_true", help="leave dlt out")
    parser.add_argument("--keep", action="store_true", help="keep the working directory (databases, logs)")
    parser.add_argument("--contender", choices=[*CONTENDERS, "dlt-desc"], help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.contender:  # inside a contender's own process
        result = run_contender(args.contender, args.endpoint, args.workdir)
        args.result.write_text(json.dumps({**result, "peak_rss_mb": peak_rss_mb()}))
        return

    from harvester.emulator import HubEmulator

    workdir = Path(tempfile.mkdtemp(prefix="harvester-crawl-"))
    started = time.perf_counter()
    load = os.getloadavg()[0]  # before the emulator starts: other work on the machine skews every number
    hub = HubEmulator(models=args.models, seed=0).start()
    print(f"emulator: {args.models:,} models at {hub.url}, built in {time.perf_counter() - started:.1f} s; "
          f"harvester at {harvester_version()}; load average before it {load:.2f}; work dir {workdir}",
          flush=True)
    try:
        results = full_crawl(args, hub.url, workdir)
        floor = results["floor"].wall
        cores = os.cpu_count() or 1
        print_table(
            f"Full crawl of {args.models:,} models (page size {PAGE_SIZE}; one run each; "
            f"{os.cpu_count()} cores shared with the emulator)",
            ["contender", "wall s", "rows/s", "requests", "peak RSS MB", "x floor", "CPU s", "emulator CPU s",
             "least wall s"],
            [[name, f"{r.wall:.1f}", f"{args.models / r.wall:,.0f}", str(r.requests), f"{r.peak_rss_mb:.0f}",
              f"{r.wall / floor:.2f}", f"{r.cpu:.1f}", f"{r.emulator_cpu:.1f}", f"{r.least_wall(cores):.1f}"]
             for name, r in results.items()],
        )
        print(f"least wall: the shortest wall the CPU work allows on {cores} cores, max(emulator CPU, "
              f"(CPU + emulator CPU) / {cores}),\nhowever the contender were built: the emulator serves pages "
              f"from one thread and shares the cores.")

        changed = hub.corpora["models"].modify(args.modify)
        print(f"\nmodified {len(changed):,} models in the emulator", flush=True)
        if "dlt" in results:
            shutil.copytree(workdir / "dlt", workdir / "dlt-desc" / "dlt")  # the same post-crawl state, twice
        rows: list[list[str]] = []
        incremental: list[tuple[Result, Result]] = []
        warm(hub.url)
        inc = run_child("harvester-incremental", "harvester", hub.url, workdir)
        record = inc.extra or {}
        print(f"  harvester: mode {record.get('mode')}, {inc.requests} requests, rows seen {inc.rows:,}: "
              f"{record.get('rows_inserted')} inserted, {record.get('rows_updated')} updated, "
              f"{record.get('rows_unchanged')} unchanged", flush=True)
        incremental.append((inc, results["harvester"]))
        if "dlt" in results:
            warm(hub.url)
            incremental.append((run_child("dlt-incremental", "dlt", hub.url, workdir), results["dlt"]))
            warm(hub.url)
            incremental.append((run_child("dlt-incremental-desc", "dlt-desc", hub.url, workdir / "dlt-desc"),
                                results["dlt"]))
        for result, full in incremental:
            check_stored(result, args.models)
            if (result.extra or {}).get("steps_s"):
                print(f"  {result.label}: steps (s) {result.extra['steps_s']}", flush=True)
            rows.append([result.label, f"{result.wall:.1f}", str(result.requests), f"{result.rows:,}",
                         f"{result.peak_rss_mb:.0f}", f"{result.requests / full.requests:.1%}",
                         f"{result.wall / full.wall:.1%}"])
        print_table(
            f"Incremental run after {args.modify:,} of {args.models:,} models changed (fewest requests "
            f"possible: {-(-args.modify // PAGE_SIZE)} page(s) hold the changes, 1 more shows where they end)",
            ["run", "wall s", "requests", "rows read", "peak RSS MB", "requests/full", "wall/full"],
            rows,
        )
        print(f"\nemulator and driver peak RSS {vm_hwm_mb():.0f} MB")
    finally:
        hub.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
