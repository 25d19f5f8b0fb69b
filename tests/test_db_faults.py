"""A full disk or a locked catalog: a clear failure, nothing half-written, and the next run resumes."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, event

from harvester.cli import main
from harvester.errors import CatalogError
from harvester.sync import sync
from helpers import PAGE, assert_catalog_equals_corpus, catalog, config, runs, wait_for_pages

pytestmark = pytest.mark.sqlite_only  # SQLite's own file: its page cap (a full disk) and its write lock


@pytest.fixture
def hub(make_hub):
    """An emulator of each test's own: the tests here change its corpus or its faults."""
    return make_hub(models=1_000, seed=33)


@pytest.fixture
def page_limit():
    """Cap the pages of every SQLite connection opened from now on: a disk that fills up."""
    limit: dict[str, int | None] = {"pages": None}

    def cap(dbapi_connection, _record) -> None:
        if limit["pages"] is not None:
            dbapi_connection.execute(f"PRAGMA max_page_count={limit['pages']}")

    event.listen(Engine, "connect", cap)
    yield limit
    event.remove(Engine, "connect", cap)


def pages_in(db) -> int:
    with sqlite3.connect(db.path) as conn:
        return conn.execute("PRAGMA page_count").fetchone()[0]


def assert_checkpoint_matches_rows(db) -> None:
    """The stored cursor is exactly the page after the last committed rows."""
    with sqlite3.connect(db.path) as conn:
        cursor, walk_pages = conn.execute("SELECT cursor, walk_pages FROM sync_state").fetchone()
    assert cursor is not None, "the walk must be resumable"
    assert len(catalog(db)) == walk_pages * PAGE


def test_a_full_disk_fails_clearly_and_the_next_run_resumes(hub, db, page_limit):
    sync(config(hub, db, max_pages=2))
    page_limit["pages"] = pages_in(db) + 60  # room for a few more pages, not for the whole walk
    with pytest.raises(CatalogError, match=r"cannot write to catalog .*full.*free some space"):
        sync(config(hub, db))
    assert_checkpoint_matches_rows(db)
    assert 2 * PAGE <= len(catalog(db)) < 1_000  # the batch of pages the disk could not take is rolled back
    page_limit["pages"] = None
    run = sync(config(hub, db))
    assert run["mode"] == "resume" and run["status"] == "ok"
    assert_catalog_equals_corpus(hub, db)
    failed = runs(db)[1]
    assert failed["status"] in ("failed", "abandoned")
    assert failed["status"] == "abandoned" or ("database or disk is full" in failed["error"]
                                               and "sqlalche.me" not in failed["error"]), failed["error"]


def test_a_full_disk_through_the_cli_is_one_line_and_exit_1(hub, db, page_limit):
    sync(config(hub, db, max_pages=1))
    page_limit["pages"] = pages_in(db) + 30
    result = CliRunner().invoke(main, ["sync", "--db", str(db), "--endpoint", hub.url, "--page-size", str(PAGE)])
    assert result.exit_code == 1
    assert result.stderr.startswith("harvester: error: cannot write to catalog") and "Traceback" not in result.stderr


def test_a_catalog_locked_at_start_fails_clearly(hub, db):
    sync(config(hub, db, max_pages=1))
    holder = sqlite3.connect(db.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(CatalogError, match="database is locked: another process holds the catalog"):
            sync(config(hub, db, busy_timeout=0.2))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert sync(config(hub, db))["status"] == "ok"
    assert_catalog_equals_corpus(hub, db)


def test_a_catalog_locked_mid_walk_keeps_every_committed_page(hub, db):
    hub.faults.add("slow=0.05")
    outcome: dict[str, BaseException | None] = {"error": None}

    def run() -> None:
        try:
            # a page a commit, as in any walk at the Hub's pace: a first walk's bulk load commits
            # ten together, and could end before the catalog is locked mid-walk
            sync(config(hub, db, busy_timeout=0.3, pages_per_commit=1))
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    wait_for_pages(db, 3)
    holder = sqlite3.connect(db.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    worker.join(timeout=30)
    holder.execute("ROLLBACK")
    holder.close()
    assert isinstance(outcome["error"], CatalogError) and "locked" in str(outcome["error"])
    assert_checkpoint_matches_rows(db)
    hub.faults.clear()
    run_record = sync(config(hub, db))
    assert run_record["mode"] == "resume"
    assert_catalog_equals_corpus(hub, db)
    assert "running" not in [r["status"] for r in runs(db)]


def test_a_damaged_catalog_stops_a_sync_before_it_writes_anything_and_says_how_to_rebuild(hub, db):
    sync(config(hub, db))
    db.dispose()
    size = db.path.stat().st_size
    with open(db.path, "r+b") as file:  # 64 KB of a bad disk or a bad copy, mid-file
        file.seek(size // 2 // 4096 * 4096)
        file.write(bytes(range(256)) * 256)
    damaged = db.path.read_bytes()
    hub.corpora["models"].modify(100)
    asked = len(hub.requests)
    result = CliRunner().invoke(main, ["sync", "--db", str(db), "--endpoint", hub.url])
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"harvester: error: catalog {str(db.path)!r} is damaged")
    assert "PRAGMA integrity_check" in line and "harvester sync --full --db NEW_FILE" in line
    assert "nothing was written" in line and "sqlalche.me" not in line
    assert db.path.read_bytes() == damaged and len(hub.requests) == asked


READERS = [["status"], ["changes"], ["query", "SELECT * FROM models"], ["export", "models"],
           ["export", "models", "--format", "csv"], ["search", "bert"], ["tree", "x/y"], ["uses", "x/y"]]


@pytest.mark.parametrize("damage", ["whole", "middle"])
@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_every_reading_command_meets_a_damaged_catalog_with_the_same_exit_code_and_one_line(hub, db, command,
                                                                                             damage):
    sync(config(hub, db))
    db.dispose()
    size = db.path.stat().st_size
    with open(db.path, "r+b") as file:  # all after the first two pages (a copy gone wrong), or 64 KB mid-file
        file.seek(8192 if damage == "whole" else size // 2 // 4096 * 4096)
        file.write(bytes(range(256)) * (size // 256 if damage == "whole" else 256))
    result = CliRunner().invoke(main, [*command, "--db", str(db)])
    if damage == "middle" and command[0] not in ("query", "export"):
        assert result.exit_code in (0, 1), "what reads no damaged page answers"
        return
    assert result.exit_code == 1, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("harvester: error:") and "PRAGMA integrity_check" in line, line
    assert "sqlalche.me" not in line and "Background" not in line


def test_sync_json_prints_a_lap_that_failed_on_the_catalog_after_its_walk_ended_well(hub, db):
    def fail_the_lap(conn, _cursor, statement, parameters, _context, _many) -> None:
        if "sync_state" in statement and "models:verify" in str(parameters) and not statement.startswith("SELECT"):
            raise sqlite3.OperationalError("database or disk is full")

    sync(config(hub, db))  # the first walk, which was a lap: the next sync's walk is followed by one
    event.listen(Engine, "before_cursor_execute", fail_the_lap)
    try:
        result = CliRunner().invoke(main, ["sync", "--db", str(db), "--endpoint", hub.url, "--json",
                                           "--page-size", str(PAGE), "--verify-pages", "2"])
    finally:
        event.remove(Engine, "before_cursor_execute", fail_the_lap)
    assert result.exit_code == 1, result.stderr
    walk, lap = (json.loads(line) for line in result.stdout.splitlines())
    assert (walk["scope"], walk["status"]) == ("models", "ok")
    assert (lap["scope"], lap["status"]) == ("models:verify", "failed"), "the failed run is printed too"
    assert lap["error"].startswith("cannot write to catalog") and "database or disk is full" in lap["error"]
    [line] = result.stderr.splitlines()
    assert line.startswith("harvester: error: cannot write to catalog") and "sqlalche.me" not in line
