"""Unattended operation: overlapping runs, stale and lost locks, readers during a sync, and what
cron and monitoring see (exit codes, --quiet, JSON logs, status --json)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import IO

import pytest
from click.testing import CliRunner
from sqlalchemy.exc import SQLAlchemyError

from catalog import Catalog
from harvester.cli import main
from harvester.emulator import HubEmulator
from harvester.errors import Locked, LockLost
from harvester.store.dialect import read_only
from harvester.store.engine import create_catalog_engine, open_catalog
from harvester.store.locks import ScopeLock, this_host
from harvester.sync import sync
from helpers import PAGE, assert_catalog_equals_corpus, config, runs, sigkill_after, wait_for_pages

MODELS = 600


@pytest.fixture
def hub(make_hub):
    """An emulator of each test's own: the tests here change its corpus or its faults."""
    return make_hub(models=MODELS, seed=91)


def start_cli(hub: HubEmulator, db: Catalog, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HARVESTER_DB": db.url}
    return subprocess.Popen([sys.executable, "-m", "harvester", "sync", "--page-size", str(PAGE), *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_until(stream: IO[str], text: str, timeout: float = 30) -> list[str]:
    """The lines ``stream`` gives up to the first that holds ``text`` (which must come within ``timeout``)."""
    lines: list[str] = []

    def read() -> None:
        for line in stream:
            lines.append(line)
            if text in line:
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    assert lines and text in lines[-1], f"no line with {text!r} in {lines}"
    return lines


def plant_lock(db: Catalog, *, host: str, pid: int, expires_in: float) -> None:
    expires = datetime.now(UTC) + timedelta(seconds=expires_in)
    db.execute("INSERT INTO sync_locks (scope, owner, host, pid, run_id, ttl_seconds, acquired_at, expires_at) "
               "VALUES ('models', 'someone-else', :host, :pid, 99, 30, :now, :expires)",
               host=host, pid=pid, now=datetime.now(UTC), expires=expires)


def test_two_overlapping_syncs_end_equal_to_the_hub_with_exactly_one_walk(hub, db):
    hub.faults.add("slow=0.03")  # the first run takes about half a second
    first, second = (start_cli(hub, db, "--wait", "60", "--verify-pages", "0") for _ in range(2))
    outs = [p.communicate(timeout=120) for p in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), outs
    assert_catalog_equals_corpus(hub, db)
    modes = sorted(run["mode"] for run in runs(db))
    assert modes == ["full", "incremental"], "the second run waited, then found only the first's work done"
    assert len(hub.listing_requests()) <= MODELS // PAGE + 3, "one walk, its catch-up page, one incremental page"


def test_a_second_sync_that_will_not_wait_exits_5_and_touches_nothing(hub, db):
    hub.faults.add("slow=60,after=3")  # the holder waits on its fourth page until the faults are cleared
    holder = start_cli(hub, db)
    try:
        wait_for_pages(db, 3)
        result = CliRunner().invoke(main, ["sync", "--db", db.url, "--endpoint", hub.url])
        assert result.exit_code == 5
        assert "another run holds 'models'" in result.stderr and "--wait" in result.stderr
        waited = CliRunner().invoke(main, ["sync", "--db", db.url, "--endpoint", hub.url, "--wait", "0.2"])
        assert waited.exit_code == 5 and "after 0.2 s of waiting" in waited.stderr and "--wait" not in waited.stderr
        assert [run["status"] for run in runs(db)] == ["running"], "no run recorded, none abandoned"
    finally:
        hub.faults.clear()
        holder.communicate(timeout=120)
    assert holder.returncode == 0
    assert_catalog_equals_corpus(hub, db)


def test_a_lock_left_on_another_host_is_waited_for_then_taken_over_once_expired(hub, db):
    sync(config(hub, db, max_pages=1))
    plant_lock(db, host="another-machine", pid=1, expires_in=1.5)
    with pytest.raises(Locked, match="another-machine"):
        sync(config(hub, db))
    started = time.monotonic()
    run = sync(config(hub, db, wait=10))
    assert time.monotonic() - started >= 1.0, "it waited for the expiry"
    assert run["status"] == "ok" and run["mode"] == "resume"
    assert_catalog_equals_corpus(hub, db)
    assert db.rows("SELECT count(*) FROM sync_locks") == [(0,)], "released at the end"


def test_ctrl_c_while_waiting_for_a_lock_stops_the_wait(hub, db):
    sync(config(hub, db, max_pages=1))
    plant_lock(db, host="another-machine", pid=1, expires_in=600)
    waiting = start_cli(hub, db, "--wait", "600")
    said = read_until(waiting.stderr, "waiting up to 600 s for another run to release 'models': run 99 on another-")
    waiting.send_signal(signal.SIGINT)
    _, stderr = waiting.communicate(timeout=30)
    assert waiting.returncode == 130 and "while waiting for another run" in stderr, said + [stderr]
    assert [run["mode"] for run in runs(db)] == ["full"], "no run was started"


def test_a_lock_of_a_dead_process_on_this_host_is_taken_over_at_once(hub, db):
    sync(config(hub, db, max_pages=1))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    plant_lock(db, host=this_host(), pid=int(dead.stdout), expires_in=600)
    assert sync(config(hub, db))["status"] == "ok"


def test_a_run_that_lost_its_lock_stops_before_writing_another_page(hub, db):
    stolen = threading.Event()

    def steal(stats) -> None:
        if stats.pages == 2 and not stolen.is_set():
            db.execute("UPDATE sync_locks SET owner = 'thief', run_id = NULL")
            stolen.set()

    with pytest.raises(LockLost, match="lost its lock"):
        sync(config(hub, db, pages_per_commit=1), on_page=steal)
    assert db.rows("SELECT count(*) FROM models") == [(2 * PAGE,)], "not one row after the theft"
    assert runs(db)[-1]["status"] == "failed"


def test_a_reader_never_blocks_a_sync_and_never_sees_half_a_page(hub, db):
    sync(config(hub, db, max_pages=1))
    hub.faults.add("slow=0.02")
    done = threading.Event()
    seen: list[tuple] = []

    def walk() -> None:
        try:
            sync(config(hub, db))
        finally:
            done.set()

    writer = threading.Thread(target=walk)
    writer.start()
    # one statement, one snapshot: the rows and the checkpoint that says how many pages are in
    snapshot = ("SELECT (SELECT count(*) FROM models), (SELECT walk_pages FROM sync_state WHERE scope = 'models'), "
                "(SELECT cursor IS NULL FROM sync_state WHERE scope = 'models')")
    while not done.is_set():
        seen.append(db.rows(snapshot)[0])
    writer.join()
    torn = [(rows, pages) for rows, pages, finished in seen if not finished and rows != pages * PAGE]
    assert len(seen) > 10 and not torn
    assert_catalog_equals_corpus(hub, db)


def test_a_reader_holding_a_long_transaction_keeps_its_snapshot_and_does_not_block_a_sync(hub, db):
    sync(config(hub, db, max_pages=3))
    snapshot = "SELECT (SELECT count(*) FROM models), (SELECT walk_pages FROM sync_state WHERE scope = 'models')"
    if db.backend == "sqlite":
        import sqlite3

        reader = sqlite3.connect(db.path, isolation_level=None)
        reader.execute("BEGIN")
        read = lambda: reader.execute(snapshot).fetchone()  # noqa: E731
    else:
        from sqlalchemy import create_engine, text

        reader = create_engine(db.url).connect().execution_options(isolation_level="REPEATABLE READ")
        read = lambda: tuple(reader.execute(text(snapshot)).one())  # noqa: E731
    try:
        rows, pages = read()
        assert rows == pages * PAGE == 3 * PAGE
        assert sync(config(hub, db))["status"] == "ok", "the sync runs to the end while the reader holds on"
        assert read() == (rows, pages), "the reader still sees the catalog as it was, whole pages only"
    finally:
        reader.close()
    assert db.rows(snapshot)[0][0] == MODELS


def test_quiet_prints_nothing_on_success_and_one_line_on_failure(hub, db):
    ok = CliRunner().invoke(main, ["sync", "--db", db.url, "--endpoint", hub.url, "--quiet"])
    assert ok.exit_code == 0 and ok.output == "" and ok.stderr == ""
    hub.faults.add("503")
    failed = CliRunner().invoke(main, ["sync", "--db", db.url, "--endpoint", hub.url, "--quiet", "--retries", "1"])
    assert failed.exit_code == 3 and failed.stderr.count("\n") == 1 and "HTTP 503" in failed.stderr


def test_json_logs_carry_the_run_id_and_scope(hub, db):
    hub.faults.add("missing-field,times=1")  # one warning during the run
    result = CliRunner().invoke(main, ["sync", "--db", db.url, "--endpoint", hub.url, "--log-format", "json"])
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    warning, summaries = lines[0], [line for line in lines if line.get("event") == "run"]
    assert warning["level"] == "warning" and warning["run_id"] == 1 and warning["scope"] == "models"
    assert [(s["run_id"], s["scope"], s["status"]) for s in summaries] == [(1, "models", "ok")], \
        "a first walk reads everything: no lap follows it"
    again = CliRunner().invoke(main, ["sync", "--db", db.url, "--endpoint", hub.url, "--log-format", "json"])
    summaries = [line for line in map(json.loads, again.stderr.splitlines()) if line.get("event") == "run"]
    assert [(s["run_id"], s["scope"]) for s in summaries] == [(2, "models"), (3, "models:verify")]
    hub.faults.add("503")
    failed = CliRunner().invoke(main, ["sync", "--db", db.url, "--endpoint", hub.url, "--log-format", "json",
                                       "--retries", "1"])
    error = json.loads(failed.stderr.splitlines()[-1])
    assert (error["event"], error["exit_code"], failed.exit_code) == ("error", 3, 3)
    assert (error["scope"], error["run_id"]) == ("models", 4), "the error names the run it ended"


def test_json_output_carries_failed_runs_too(hub, db):
    hub.faults.add("503")
    failed = CliRunner().invoke(main, ["sync", "--db", db.url, "--endpoint", hub.url, "--json", "--retries", "1"])
    [record] = [json.loads(line) for line in failed.stdout.splitlines()]
    assert failed.exit_code == 3 and (record["status"], record["scope"]) == ("failed", "models")
    assert "HTTP 503" in record["error"] and record["id"] == runs(db)[-1]["id"]


def test_status_json_tells_monitoring_how_old_the_last_success_is_and_who_holds_a_lock(hub, db):
    sync(config(hub, db))
    hub.faults.add("slow=0.05")
    hub.corpora["models"].modify(300)
    holder = start_cli(hub, db)
    try:
        deadline = time.monotonic() + 30
        while runs(db)[-1]["status"] != "running" and time.monotonic() < deadline:
            time.sleep(0.01)
        status = json.loads(CliRunner().invoke(main, ["status", "--db", db.url, "--json"]).stdout)[0]
        text = CliRunner().invoke(main, ["status", "--db", db.url], env={"COLUMNS": "400"}).stdout
    finally:
        holder.communicate(timeout=120)
    assert f"run 2, pid {holder.pid}\n" in text, "the text status names the lock holder too"
    assert status["last_run"]["status"] == "running"
    assert status["locked_by"]["run_id"] == 2 and status["locked_by"]["pid"] == holder.pid
    assert 0 <= status["seconds_since_success"] < 60
    assert datetime.fromisoformat(status["last_success_at"]) <= datetime.now(UTC)


def test_status_shows_a_killed_run_as_abandoned_and_its_lock_free_at_once(hub, db):
    hub.faults.add("slow=0.05")
    sigkill_after(start_cli(hub, db), db, 2)
    assert runs(db)[-1]["status"] == "running", "the killed run could not say so itself"
    status = json.loads(CliRunner().invoke(main, ["status", "--db", db.url, "--json"]).stdout)[0]
    assert status["last_run"]["status"] == "abandoned" and status["locked_by"] is None
    assert status["failures_since_success"] == 1, "an abandoned run counts as a failure"
    text = CliRunner().invoke(main, ["status", "--db", db.url]).stdout
    assert "abandoned" in text and "not locked" in text and "running" not in text
    assert runs(db)[-1]["status"] == "abandoned", "status recorded it too"
    assert db.rows("SELECT count(*) FROM sync_locks") == [(0,)]


def test_text_status_says_why_the_last_run_failed_and_how_many_failed_since_the_last_success(hub, db):
    sync(config(hub, db))
    hub.faults.add("502")  # every request, after the retries: the Hub unavailable
    for _ in range(3):
        failed = CliRunner().invoke(main, ["sync", "--db", db.url, "--endpoint", hub.url, "--retries", "1",
                                           "--verify-pages", "0"])
        assert failed.exit_code == 3
    report = json.loads(CliRunner().invoke(main, ["status", "--db", db.url, "--json"]).stdout)[0]
    text = CliRunner().invoke(main, ["status", "--db", db.url]).stdout
    lines = text.splitlines()
    [error] = [line for line in lines if line.startswith("  error: ")]
    assert report["last_run"]["error"].startswith(error.removeprefix("  error: ").removesuffix("…")), error
    assert len(report["last_run"]["error"]) > 80 and error.endswith("…"), "a long error is cut to fit, marked"
    assert report["failures_since_success"] == 3
    assert "  3 runs failed or abandoned since the last success" in lines
    assert max(map(len, lines)) <= 80, text


def test_status_shows_when_another_hosts_lock_expires(hub, db):
    sync(config(hub, db))
    plant_lock(db, host="elsewhere", pid=1, expires_in=600)
    [status] = [s for s in json.loads(CliRunner().invoke(main, ["status", "--db", db.url, "--json"]).stdout)
                if s["scope"] == "models"]
    assert status["locked_by"]["host"] == "elsewhere" and not status["locked_by"]["on_this_host"]
    text = CliRunner().invoke(main, ["status", "--db", db.url]).stdout
    assert f"on elsewhere\n    until {status['locked_by']['expires_at'][11:19]} UTC" in text


def test_the_typed_status_gives_back_exactly_the_json_status_prints(hub, db):
    import harvester

    sync(config(hub, db))
    sync(config(hub, db, author="author-1"))
    plant_lock(db, host="elsewhere", pid=1, expires_in=600)
    printed = CliRunner().invoke(main, ["status", "--db", db.url, "--json"]).stdout
    typed = harvester.Status.from_json(json.loads(printed))
    assert json.dumps(typed.as_json()) + "\n" == printed, "key for key, in the same order"
    models, scoped = typed
    assert (models.scope, scoped.scope) == ("models", "models?author=author-1") and scoped.staleness is None
    assert models.locked_by.host == "elsewhere" and models.locked_by.expires_at > datetime.now(UTC)
    assert models.watermark is not None and models.staleness.live_rows == MODELS
    assert models.staleness.lap.scope == "models:verify" and typed.kinds() == [models]
    with harvester.Catalog(db.url) as catalog:
        report = catalog.status()
    assert isinstance(report, harvester.Status) and report[0].failures_since_success == 0
    assert [{**s, "seconds_since_success": None} for s in report.as_json()] == [
        {**s, "seconds_since_success": None} for s in json.loads(printed)]


def test_upgrade_and_reset_state_are_what_db_upgrade_and_state_reset_do(hub, db, tmp_path):
    import harvester
    from harvester.store.engine import SCHEMA_HEAD

    fresh = tmp_path / "fresh.db"
    assert harvester.upgrade(fresh) == SCHEMA_HEAD and fresh.exists()
    assert CliRunner().invoke(main, ["db", "upgrade", "--db", str(fresh)]).stdout == (
        f"catalog at schema revision {SCHEMA_HEAD}\n")
    sync(config(hub, db))
    sync(config(hub, db, kind="datasets"))
    with pytest.raises(harvester.ConfigError, match="kind must be one of"):
        harvester.reset_state(db.url, kind="papers")
    states = db.rows("SELECT count(*) FROM sync_state")[0][0]
    assert harvester.reset_state(db.url, kind="datasets") == 1
    assert harvester.reset_state(db.url, kind="datasets") == 0
    assert db.rows("SELECT count(*) FROM sync_state") == [(states - 1,)]
    result = CliRunner().invoke(main, ["state", "reset", "--db", db.url])
    assert result.exit_code == 0 and result.stdout.startswith(f"reset {states - 1} scope")
    assert db.rows("SELECT count(*) FROM sync_state") == [(0,)]
    assert db.rows("SELECT count(*) FROM models") == [(MODELS,)], "rows are kept"


def test_a_lock_that_could_not_be_taken_is_not_released(db, caplog):
    open_catalog(db.url).dispose()
    engine = create_catalog_engine(db.url)
    read_only(engine)  # taking the lock fails, as on a catalog file this user cannot write
    with pytest.raises(SQLAlchemyError), ScopeLock(engine, "models") as lock:
        lock.acquire()
    engine.dispose()
    assert "release" not in caplog.text, "only the real error is reported"
