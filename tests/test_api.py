"""`harvester.Catalog`, the Python API: the same change feed, queries and status as the CLI, read-only,
and the README's "Python API" examples run as written."""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.exc import SQLAlchemyError

import harvester
from harvester.cli import main
from harvester.render import plain
from harvester.sync import sync
from helpers import assert_catalog_equals_corpus, config

README = Path(__file__).resolve().parent.parent / "README.md"


def python_api_blocks() -> list[str]:
    text = README.read_text()
    start = text.index("## Python API")
    section = text[start:text.index("\n## ", start + 1)]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


@pytest.fixture
def hub(make_hub):
    """An emulator of each test's own: the tests here change its corpus or its faults."""
    return make_hub(models=300, datasets=40, seed=5)


def cli_changes(db, *args: str) -> list[dict]:
    result = CliRunner().invoke(main, ["changes", "--db", db.url, *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_the_change_feed_is_what_the_cli_prints_and_hands_on_its_position(hub, db):
    sync(config(hub, db))
    sync(config(hub, db, kind="datasets"))
    *printed, last = cli_changes(db)
    with harvester.Catalog(db.url) as catalog:
        feed = catalog.changes()
        changes = list(feed)
        assert [json.loads(json.dumps(c.as_dict(), default=plain)) for c in changes] == printed
        assert feed.position == last["next_since"] == changes[-1].seq == 340
        assert all(isinstance(c, harvester.Change) and c.change == "insert" for c in changes)

        first = catalog.changes(since=0, kinds="datasets", limit=7)
        assert [c.kind for c in first] == ["datasets"] * 7
        rest = catalog.changes(since=first.position, kinds=["datasets"])
        assert len(list(rest)) == 33 and rest.position == 340
        nothing = catalog.changes(since=rest.position)
        assert list(nothing) == [] and nothing.position == 340, "an empty feed keeps its starting position"

        renamed = dict(hub.corpora["models"].rename(2))
        sync(config(hub, db))
        moved = [c for c in catalog.changes(since=340) if c.change == "rename"]
        assert {(c.previous_id, c.repo_id) for c in moved} == set(renamed.items())
        assert all(c.fields == ("id",) for c in moved)


def test_follow_yields_what_later_syncs_commit_and_ends_when_stopped(hub, db):
    sync(config(hub, db, kind="datasets"))
    stop = threading.Event()
    seen: list[harvester.Change] = []
    with harvester.Catalog(db.url) as catalog:
        feed = catalog.follow(since=0, kinds="models", interval=0.05, stop=stop)

        def consume() -> None:
            for change in feed:
                seen.append(change)
                if len(seen) == 300:
                    stop.set()  # from the loop itself: the feed ends before its next change

        reader = threading.Thread(target=consume)
        reader.start()
        time.sleep(0.3)
        assert seen == [], "datasets are not followed"
        sync(config(hub, db))  # 300 models
        hub.corpora["models"].modify(5)
        reader.join(timeout=30)
        assert not reader.is_alive(), "setting stop ended the feed"
    assert [c.seq for c in seen] == list(range(41, 341))
    assert feed.position == 340

    stop = threading.Event()
    with harvester.Catalog(db.url) as catalog:
        sync(config(hub, db))
        later = catalog.follow(since=feed.position, interval=0.05, stop=stop)
        threading.Timer(0.5, stop.set).start()
        assert {c.change for c in later} == {"update"} and later.position == 345, "resumed where it stopped"


def test_query_streams_dicts_and_refuses_to_change_anything(hub, db):
    sync(config(hub, db))
    with harvester.Catalog(db.url) as catalog:
        result = catalog.query("SELECT id, downloads FROM models_current ORDER BY downloads DESC, id")
        assert result.columns == ["id", "downloads"]
        rows = list(result)
        assert len(rows) == 300 and set(rows[0]) == {"id", "downloads"}
        assert rows == [{"id": i, "downloads": d} for i, d in
                        db.rows("SELECT id, downloads FROM models_current ORDER BY downloads DESC, id")]
        assert next(catalog.query("models"))["id"], "a table by name, as export takes it"
        for sql in ("DELETE FROM models", "DROP TABLE changes", "UPDATE models SET likes = 0"):
            with pytest.raises(harvester.QueryRefused, match="read-only|refused"):
                catalog.query(sql)
        with pytest.raises(harvester.QueryRefused, match="no table or view named 'nothere'"):
            catalog.query("nothere")
        with pytest.raises(SQLAlchemyError, match="readonly|read-only|read only"), catalog.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM models")
    assert db.rows("SELECT count(*) FROM models") == [(300,)]


def test_closing_the_catalog_ends_what_is_still_being_read(hub, db):
    """A half-read result holds a connection, and on SQLite a snapshot that keeps what syncs write
    in the write-ahead log instead of the database: closing the catalog closes it too."""
    sync(config(hub, db))
    catalog = harvester.Catalog(db.url)
    result = catalog.query("SELECT a.id FROM models a, models b")  # more rows than one fetch reads
    feed = catalog.changes(since=0)
    followed = catalog.follow(since=0, interval=0.05)
    assert next(result)["id"] and next(feed).seq == 1 and next(followed).seq == 1
    hub.corpora["models"].modify(3)
    sync(config(hub, db))  # the write-ahead log holds what this sync wrote
    if db.backend == "sqlite":
        assert _checkpoint_blocked(db), "a half-read result holds its snapshot"
    catalog.close()
    assert list(result) == [] and list(feed) == [] and list(followed) == []
    if db.backend == "sqlite":
        assert not _checkpoint_blocked(db)


def test_closing_the_catalog_ends_a_feed_another_thread_is_following(hub, db):
    sync(config(hub, db))
    catalog = harvester.Catalog(db.url)
    seen: list[int] = []
    failed: list[BaseException] = []

    def consume() -> None:
        try:
            seen.extend(change.seq for change in catalog.follow(since=0, interval=0.05))
        except BaseException as exc:  # noqa: BLE001 - what the follower met is the test's outcome
            failed.append(exc)

    follower = threading.Thread(target=consume)
    follower.start()
    deadline = time.monotonic() + 30
    while len(seen) < 300 and time.monotonic() < deadline:
        time.sleep(0.01)
    catalog.close()  # the follower is waiting for the next poll: its generator is running in its thread
    follower.join(timeout=10)
    assert not follower.is_alive() and failed == [], "the feed ended at its next poll"
    assert seen == list(range(1, 301))


def _checkpoint_blocked(db) -> bool:
    """Whether a reader keeps SQLite from checkpointing the whole write-ahead log and truncating it."""
    conn = sqlite3.connect(db.path, timeout=0)  # a reader in the way: say so now, not after the busy timeout
    try:
        [(busy, _, _)] = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        return busy == 1
    finally:
        conn.close()


def test_query_as_pandas_or_arrow_holds_the_same_rows(hub, db):
    sync(config(hub, db))
    sql = "SELECT author, count(*) AS models, sum(downloads) AS downloads FROM models GROUP BY author ORDER BY 3 DESC"
    expected = db.rows(sql)
    with harvester.Catalog(db.url) as catalog:
        frame = catalog.query(sql, as_="pandas")
        assert list(frame.columns) == ["author", "models", "downloads"]
        assert [tuple(row) for row in frame.itertuples(index=False)] == expected
        table = catalog.query("models_current", as_="arrow")
        assert table.num_rows == 300 and str(table.schema.field("downloads").type) == "int64"
        assert str(table.schema.field("last_modified").type).startswith("timestamp")
        empty = catalog.query("SELECT id FROM models WHERE id = 'none'", as_="arrow")
        assert empty.num_rows == 0 and empty.column_names == ["id"]


@pytest.mark.parametrize(("as_", "module", "hint"), [("pandas", "pandas", "pip install pandas"),
                                                     ("arrow", "pyarrow", "pip install 'hf-harvester[parquet]'")])
def test_a_missing_pandas_or_pyarrow_is_named_with_what_to_install(hub, db, monkeypatch, as_, module, hint):
    sync(config(hub, db, max_pages=1))
    monkeypatch.setitem(sys.modules, module, None)
    with harvester.Catalog(db.url) as catalog, pytest.raises(harvester.ConfigError) as raised:
        catalog.query("models", as_=as_)
    assert hint in str(raised.value) and f"as_='{as_}'" in str(raised.value)


def test_export_writes_what_the_cli_exports_to_a_stream_a_path_or_parquet(hub, db, tmp_path):
    import pyarrow.parquet as pq

    sync(config(hub, db))
    sql = "SELECT id, likes, card_data FROM models ORDER BY id"
    printed = CliRunner().invoke(main, ["export", "--db", db.url, sql, "--format", "csv"]).stdout
    with harvester.Catalog(db.url) as catalog:
        stream = io.StringIO()
        assert catalog.export(sql, format="csv", out=stream) == 300
        assert stream.getvalue().replace("\r\n", "\n") == printed, "CliRunner reads CRLF as LF"
        assert catalog.export("models", out=tmp_path / "models.jsonl") == 300
        assert [json.loads(line)["id"] for line in (tmp_path / "models.jsonl").open()] == [
            row["id"] for row in catalog.query("models")]
        assert catalog.export("models_current", format="parquet", out=str(tmp_path / "m.parquet")) == 300
        assert pq.read_table(tmp_path / "m.parquet").num_rows == 300
        with pytest.raises(harvester.ConfigError, match="give out as a path"):
            catalog.export("models", format="parquet", out=io.StringIO())
        with pytest.raises(harvester.ConfigError, match="format must be one of"):
            catalog.export("models", format="xml", out=io.StringIO())
        with pytest.raises(harvester.QueryRefused, match="nothing was changed"):
            catalog.export("DELETE FROM models", out=tmp_path / "nothing.jsonl")
    assert not (tmp_path / "nothing.jsonl").exists() and db.rows("SELECT count(*) FROM models") == [(300,)]


def test_search_finds_what_the_cli_finds(hub, db):
    sync(config(hub, db))
    sync(config(hub, db, kind="datasets"))
    [(author,)] = db.rows("SELECT author FROM models ORDER BY row_key LIMIT 1")
    printed = json.loads(CliRunner().invoke(main, ["search", "--db", db.url, author, "--json"]).stdout)
    with harvester.Catalog(db.url) as catalog:
        found = catalog.search(author)
        assert found and [{k: plain(v) for k, v in row.items()} for row in found] == printed
        assert len(catalog.search(author, limit=2)) == 2
        assert {row["id"] for row in catalog.search(author, kind="datasets")} <= {
            row["id"] for row in catalog.query("datasets")}
        assert catalog.search("   ") == []
        with pytest.raises(harvester.ConfigError, match="kinds must be among"):
            catalog.search(author, kind="papers")
        with pytest.raises(harvester.ConfigError, match="limit"):
            catalog.search(author, limit=0)


def test_status_is_the_cli_reports_and_counts_failures_since_the_last_success(hub, db):
    sync(config(hub, db))
    hub.faults.add("503")
    for _ in range(2):
        with pytest.raises(harvester.HarvesterError):
            sync(config(hub, db, attempts=1))
    hub.faults.clear()
    with harvester.Catalog(db.url) as catalog:
        report = catalog.status()
        [models] = report
        printed = json.loads(CliRunner().invoke(main, ["status", "--db", db.url, "--json"]).stdout)
        assert [{**s, "seconds_since_success": None} for s in printed] == [
            {**s, "seconds_since_success": None} for s in report.as_json()]
        assert models.failures_since_success == 2 and models.last_run.status == "failed"
        sync(config(hub, db))
        assert catalog.status()[0].failures_since_success == 0


def test_a_catalog_opens_only_a_current_catalog_and_takes_arguments_it_can_use(tmp_path, hub, db):
    missing = tmp_path / "nothere.db"
    with pytest.raises(harvester.CatalogError, match="no catalog at"):
        harvester.Catalog(missing)
    assert not missing.exists(), "opening creates nothing"
    sync(config(hub, db, max_pages=1))
    catalog = harvester.Catalog(db.url)
    for call in (lambda: catalog.changes(since=-1), lambda: catalog.changes(kinds="model"),
                 lambda: catalog.changes(limit=0), lambda: catalog.follow(interval=0),
                 lambda: catalog.query("models", as_="polars")):
        with pytest.raises(harvester.ConfigError):
            call()
    catalog.close()
    with pytest.raises(harvester.ConfigError, match="closed"):
        catalog.query("models")
    assert repr(catalog).startswith("Catalog(")


def test_importing_harvester_does_not_import_sqlalchemy():
    done = subprocess.run([sys.executable, "-c", "import sys, harvester; print('sqlalchemy' in sys.modules, "
                           "sorted(harvester.__all__) == sorted(set(harvester.__all__)))"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"]


# The README's "Python API" examples, run as written against a catalog the emulator filled.

def test_there_are_python_api_examples_to_run():
    blocks = python_api_blocks()
    assert len(blocks) == 3
    assert len([line for line in blocks[0].splitlines() if line.strip()]) == 3, "following takes three lines"
    assert len([line for line in blocks[2].splitlines() if line.strip()]) == 3, "a whole sync takes three lines"


def test_the_three_line_follow_example_prints_changes_as_syncs_commit_them(tmp_path, hub):
    from catalog import Catalog as CatalogReader

    db = CatalogReader.sqlite(tmp_path / "hub.db")
    sync(config(hub, db, kind="datasets"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    follower = subprocess.Popen([sys.executable, "-c", python_api_blocks()[0]], cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [follower.stdout.readline() for _ in range(40)]
        assert all(line.split()[1:2] == ["insert"] for line in lines), lines
        sync(config(hub, db))  # committed while it follows: it prints these as well, within a poll
        later = [follower.stdout.readline() for _ in range(300)]
        assert [int(line.split()[0]) for line in lines + later] == list(range(1, 341))
    finally:
        follower.kill()  # the example follows forever, as a notebook cell does until interrupted
        follower.communicate()
    db.dispose()


def test_the_python_api_walkthrough_runs(tmp_path, hub):
    from catalog import Catalog as CatalogReader

    db = CatalogReader.sqlite(tmp_path / "hub.db")
    sync(config(hub, db))
    done = subprocess.run([sys.executable, "-c", python_api_blocks()[1]], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "position.txt").read_text().strip() == "300"
    assert done.stdout.strip()
    db.dispose()


def test_the_three_line_sync_example_runs_each_kind_and_its_lap(tmp_path, hub):
    from catalog import Catalog as CatalogReader

    env = {**os.environ, "HF_ENDPOINT": hub.url}
    done = subprocess.run([sys.executable, "-c", python_api_blocks()[2]], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "models [('models', 'ok', 300)]",  # a first walk reads everything: no lap re-reads it
        "datasets [('datasets', 'ok', 40)]",
    ]
    db = CatalogReader.sqlite(tmp_path / "hub.db")
    assert_catalog_equals_corpus(hub, db)
    assert_catalog_equals_corpus(hub, db, "datasets")
    db.dispose()


def test_follow_survives_a_poll_that_fails_and_misses_nothing(hub, db, monkeypatch):
    """A database restart or a dropped connection fails one poll: the feed tries again from the last
    change it yielded, rather than ending as if the feed were done."""
    import harvester.store.changes as changes_module

    sync(config(hub, db))
    real, failures = changes_module.read_changes, []

    def flaky(engine, *, since, kinds=None, limit=None):
        rows = real(engine, since=since, kinds=kinds, limit=limit)
        for n, row in enumerate(rows):
            if n == 100 and not failures:  # mid-poll, after 100 changes went out
                failures.append(since)
                rows.close()
                raise SQLAlchemyError("server closed the connection unexpectedly")
            yield row

    monkeypatch.setattr(changes_module, "read_changes", flaky)
    stop = threading.Event()
    seen: list[int] = []
    with harvester.Catalog(db.url) as catalog:
        for change in catalog.follow(since=0, interval=0.05, stop=stop):
            seen.append(change.seq)
            if len(seen) == 300:
                stop.set()
    assert failures == [0], "one poll failed"
    assert seen == list(range(1, 301)), "every change once, in order"


def test_arrow_refuses_a_column_whose_later_rows_do_not_fit_its_type(hub, db):
    sync(config(hub, db))
    ints_then_halves = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) "
                        "SELECT CASE WHEN i > 1000 THEN i + 0.5 ELSE i END AS v FROM n")
    with harvester.Catalog(db.url) as catalog:
        try:  # SQLite gives ints, then floats: the first 1,000 rows typed the column int64
            late = catalog.query(ints_then_halves, as_="arrow").column("v").to_pylist()
        except harvester.ConfigError as refused:
            assert "does not fit" in str(refused) and db.backend == "sqlite"
        else:  # PostgreSQL types the whole column numeric
            assert late[1200] == 1201.5, "never truncated"
        mixed = catalog.query(ints_then_halves.replace("1000", "10"), as_="arrow")
    assert mixed.column("v").to_pylist()[:12] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11.5, 12.5]


@pytest.mark.sqlite_only
def test_status_waits_a_moment_at_most_behind_a_sync_holding_the_write_lock(hub, db):
    import sqlite3

    sync(config(hub, db))
    writer = sqlite3.connect(db.path)
    writer.execute("BEGIN IMMEDIATE")
    try:
        with harvester.Catalog(db.url) as catalog:
            started = time.monotonic()
            report = catalog.status()
            waited = time.monotonic() - started
    finally:
        writer.rollback()
        writer.close()
    assert report and waited < 10, "nothing to repair: no write lock asked for"
