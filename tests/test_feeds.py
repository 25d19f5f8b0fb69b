"""Reading the catalog out: read-only SQL from the command line, and exports that round-trip."""

from __future__ import annotations

import csv
import io
import json
import os
import stat

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from harvester import read, render
from harvester.cli import main
from harvester.render import csv_cell
from harvester.sync import sync
from helpers import config


@pytest.fixture(scope="module")
def small_hub(make_module_hub):
    """An emulator shared by this module's tests, which only read it."""
    return make_module_hub(models=300, seed=61)


@pytest.fixture
def synced(small_hub, db):
    sync(config(small_hub, db))
    return db


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_query_prints_a_table_csv_or_json(synced):
    sql = "SELECT pipeline_tag, count(*) AS n FROM models GROUP BY pipeline_tag ORDER BY n DESC, pipeline_tag"
    expected = synced.rows(sql)
    as_json = run("query", "--db", synced.url, sql, "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    assert [(r["pipeline_tag"], r["n"]) for r in json.loads(as_json.stdout)] == expected
    as_csv = list(csv.reader(io.StringIO(run("query", "--db", synced.url, sql, "--format", "csv").stdout)))
    assert as_csv[0] == ["pipeline_tag", "n"] and len(as_csv) == len(expected) + 1
    table = run("query", "--db", synced.url, sql)
    assert "pipeline_tag" in table.stdout and str(expected[0][1]) in table.stdout


@pytest.mark.parametrize("sql", ["DROP TABLE models", "UPDATE models SET likes = 0", "DELETE FROM changes",
                                 "INSERT INTO renames (kind, hub_id, old_id, new_id, renamed_at) "
                                 "VALUES ('models', 'x', 'a', 'b', CURRENT_TIMESTAMP)"])
def test_query_refuses_writes_and_changes_nothing(synced, sql):
    before = synced.rows("SELECT count(*), sum(likes) FROM models")
    result = run("query", "--db", synced.url, sql)
    assert result.exit_code == 2 and "read-only" in result.stderr and "nothing was changed" in result.stderr
    assert synced.rows("SELECT count(*), sum(likes) FROM models") == before
    assert synced.rows("SELECT count(*) FROM renames") == [(0,)]


def test_query_reads_sql_from_stdin_or_a_file_and_it_may_begin_with_comments(synced, tmp_path):
    sql = "-- the busiest models\n/* five of them */\nSELECT id, likes FROM models ORDER BY likes DESC, id LIMIT 5"
    expected = [list(row) for row in synced.rows(sql)]
    for args, stdin in ((["--format", "json", sql], None), (["-", "--format", "json"], sql),
                        (["--file", str(tmp_path / "q.sql"), "--format", "json"], None)):
        (tmp_path / "q.sql").write_text(sql)
        result = CliRunner().invoke(main, ["query", "--db", synced.url, *args], input=stdin)
        assert result.exit_code == 0, result.output
        assert [[row["id"], row["likes"]] for row in json.loads(result.stdout)] == expected
    both = run("query", "--db", synced.url, "SELECT 1", "--file", str(tmp_path / "q.sql"))
    assert both.exit_code == 2 and "give the SQL as an argument, as '-'" in both.stderr


@pytest.mark.parametrize("sql", ["VACUUM", "vacuum into 'copy.db'", "-- a comment first\nATTACH 'evil.db' AS evil",
                                 ";VACUUM INTO 'copy.db'", " ; /* x */ ATTACH 'evil.db' AS evil",
                                 "COPY (SELECT 1) TO '{here}/copy.csv'",
                                 "/* /* */ EXPLAIN */ COPY (SELECT 'y') TO '{here}/nested.txt'",
                                 "EXPLAIN SELECT 1; COMMIT; COPY (SELECT 'z') TO '{here}/copy.txt'"])
def test_statements_that_touch_files_are_refused_before_they_run(synced, sql, tmp_path, monkeypatch):
    workdir = tmp_path / "here"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    result = run("query", "--db", synced.url, sql.format(here=workdir))
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert ("is refused before it runs" in result.stderr and "nothing was changed" in result.stderr
            or "the query failed" in result.stderr), "refused, or failed as SQL the catalog will not run"
    assert "no table" not in result.stderr
    assert list(workdir.iterdir()) == [], "no file created"


@pytest.mark.sqlite_only
@pytest.mark.parametrize("sql", ["PRAGMA journal_mode=DELETE", "PRAGMA journal_mode(TRUNCATE)", "PRAGMA query_only=0",
                                 "PRAGMA user_version = 7"])
def test_a_pragma_that_sets_something_is_refused_and_changes_nothing(synced, sql):
    result = run("query", "--db", synced.url, sql)
    assert result.exit_code == 2 and "read-only" in result.stderr and "nothing was changed" in result.stderr
    assert synced.rows("PRAGMA journal_mode") == [("wal",)] and synced.rows("PRAGMA user_version") == [(0,)]
    described = run("query", "--db", synced.url, "PRAGMA table_info(models)", "--format", "json")
    assert described.exit_code == 0 and {"name": "id"}.items() <= json.loads(described.stdout)[0].items()


def test_writers_stream_what_they_are_given_without_holding_it():
    def rows_then_failure(count: int):
        yield from ((n, f"repo-{n}") for n in range(count))
        raise RuntimeError("the stream broke")

    for writer, count in ((render.write_json, 3), (render.write_jsonl, 3), (render.write_csv, 3),
                          (render.write_aligned, render.ALIGNED_SAMPLE + 3)):
        out = io.StringIO()
        with pytest.raises(RuntimeError):
            writer(["n", "id"], rows_then_failure(count), out)
        assert f"repo-{count - 1}" in out.getvalue(), f"{writer.__name__} wrote each row as it came"


def test_every_query_format_streams_every_row_and_the_table_cuts_no_cell(synced):
    sql = "SELECT id, CAST(raw AS TEXT) AS raw FROM models_raw ORDER BY id"  # long cells, text on every backend
    expected = synced.rows(sql)
    lines = run("query", "--db", synced.url, sql, "--format", "jsonl").stdout.splitlines()
    assert [(row["id"], row["raw"]) for row in map(json.loads, lines)] == expected
    assert len(json.loads(run("query", "--db", synced.url, sql, "--format", "json").stdout)) == len(expected)
    table = run("query", "--db", synced.url, sql).stdout.splitlines()
    assert len(table) == 2 + len(expected) and table[0].split() == ["id", "raw"]
    longest = max(expected, key=lambda row: len(row[1]))
    assert any(line.startswith(longest[0] + " ") and line.endswith(longest[1]) for line in table), "whole cells"
    assert "…" not in "\n".join(table)


def test_on_a_terminal_the_table_shows_a_screenful_and_says_how_to_get_the_rest(synced):
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    env = {**os.environ, "LINES": "20", "COLUMNS": "100"}
    child = subprocess.Popen([sys.executable, "-m", "harvester", "query", "--db", synced.url,
                              "SELECT id FROM models ORDER BY id"], stdout=follower, stderr=follower, env=env)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    assert child.wait(timeout=60) == 0
    text = output.decode()
    total = synced.rows("SELECT count(*) FROM models")[0][0]
    assert f"... {total - 12:,} more rows not shown ({total:,} in all)" in text and "--format csv" in text


def test_a_bad_query_is_one_clear_line(synced):
    result = run("query", "--db", synced.url, "SELECT nope FROM models")
    assert result.exit_code == 2 and "the query failed" in result.stderr and "Traceback" not in result.stderr


def test_exporting_a_table_that_does_not_exist_says_so(synced):
    result = run("export", "--db", synced.url, "nosuch")
    assert result.exit_code == 2 and "has no table or view named 'nosuch'" in result.stderr


def test_jsonl_export_round_trips_every_row(synced, tmp_path):
    out = tmp_path / "models.jsonl"
    result = run("export", "--db", synced.url, "models", "--output", str(out))
    assert result.exit_code == 0 and "exported 300 rows" in result.stderr
    exported = {row["id"]: row for row in map(json.loads, out.read_text().splitlines())}
    stored = {row["id"]: row for row in synced.records("SELECT id, sha, likes, card_data, last_modified FROM models")}
    assert exported.keys() == stored.keys()
    for repo_id, row in stored.items():
        back = exported[repo_id]
        card = row["card_data"] and json.loads(row["card_data"])
        assert (back["sha"], back["likes"], back["card_data"]) == (row["sha"], row["likes"], card)
        assert back["last_modified"].replace("T", " ").removesuffix("+00:00") == row["last_modified"]


def test_csv_export_of_a_query_round_trips_and_defuses_formulas(synced, tmp_path):
    synced_ids = [r[0] for r in synced.rows("SELECT id FROM models ORDER BY id")]
    result = run("export", "--db", synced.url, "SELECT id, likes, '=HYPERLINK(1)' AS trap, '-3' AS minus, -3 AS n "
                 "FROM models ORDER BY id", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["id"] for r in rows] == synced_ids
    assert {r["trap"] for r in rows} == {"'=HYPERLINK(1)"} and {r["minus"] for r in rows} == {"'-3"}
    assert {r["n"] for r in rows} == {"-3"}, "numbers are left alone"
    likes = dict(synced.rows("SELECT id, likes FROM models"))
    assert all(int(r["likes"]) == likes[r["id"]] for r in rows)


def test_parquet_export_reads_back_with_pyarrow(synced, tmp_path):
    out = tmp_path / "models.parquet"
    result = run("export", "--db", synced.url, "models", "--format", "parquet", "--output", str(out))
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.num_rows == 300
    back = {row["id"]: row for row in table.select(["id", "likes", "downloads", "last_modified"]).to_pylist()}
    for repo_id, likes, downloads in synced.rows("SELECT id, likes, downloads FROM models"):
        assert (back[repo_id]["likes"], back[repo_id]["downloads"]) == (likes, downloads)
    assert str(table.schema.field("last_modified").type) == "timestamp[us, tz=UTC]"


def test_parquet_columns_empty_in_the_first_row_group_take_the_tables_types(synced, tmp_path, monkeypatch):
    monkeypatch.setattr(read, "PARQUET_BATCH", 50)  # six row groups; the values below are in the last one
    [(last,)] = synced.rows("SELECT id FROM models ORDER BY row_key DESC LIMIT 1")
    synced.execute("UPDATE models SET deleted_at = last_seen_at, parameters = 7000000000 WHERE id = :id", id=last)
    out = tmp_path / "models.parquet"
    result = run("export", "--db", synced.url, "models", "--format", "parquet", "--output", str(out))
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.num_rows == 300 and str(table.schema.field("deleted_at").type) == "timestamp[us, tz=UTC]"
    [row] = [row for row in table.select(["id", "deleted_at", "parameters"]).to_pylist() if row["id"] == last]
    assert row["deleted_at"] is not None and row["parameters"] == 7_000_000_000


def test_a_query_column_empty_in_the_first_row_group_is_written_as_text(synced, tmp_path, monkeypatch):
    monkeypatch.setattr(read, "PARQUET_BATCH", 50)
    out = tmp_path / "late.parquet"
    late = "SELECT id, CASE WHEN row_key > 250 THEN likes END AS late FROM models ORDER BY row_key"
    assert run("export", "--db", synced.url, late, "--format", "parquet", "--output", str(out)).exit_code == 0
    values = pq.read_table(out).column("late").to_pylist()
    assert values[:250] == [None] * 250 and all(isinstance(value, str) for value in values[250:])


@pytest.mark.sqlite_only  # a column whose values change type: only SQLite allows it
def test_a_query_column_that_changes_type_fails_in_one_line_and_leaves_no_file(synced, tmp_path, monkeypatch):
    monkeypatch.setattr(read, "PARQUET_BATCH", 50)
    out = tmp_path / "misfit.parquet"
    out.write_bytes(b"an earlier export")
    misfit = "SELECT CASE WHEN row_key > 250 THEN 'x' ELSE row_key END AS n FROM models ORDER BY row_key"
    result = run("export", "--db", synced.url, misfit, "--format", "parquet", "--output", str(out))
    assert result.exit_code == 2 and "column 'n' does not fit" in result.stderr and "Traceback" not in result.output
    assert out.read_bytes() == b"an earlier export", "a failed export replaces nothing"
    assert [path.name for path in tmp_path.iterdir() if "misfit" in path.name] == ["misfit.parquet"]


def test_an_output_file_gets_the_usual_mode_and_a_device_is_written_in_place(synced, tmp_path):
    out = tmp_path / "models.jsonl"
    old = os.umask(0o022)
    try:
        assert run("export", "--db", synced.url, "models", "--output", str(out)).exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    out.chmod(0o640)
    assert run("export", "--db", synced.url, "models", "--output", str(out)).exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o640, "a file replaced keeps its mode"
    link = tmp_path / "link.jsonl"
    link.symlink_to(out)
    assert run("export", "--db", synced.url, "SELECT 1 AS one", "--output", str(link)).exit_code == 0
    assert link.is_symlink() and out.read_text() == '{"one": 1}\n', "a symlink is written through"
    missing = run("export", "--db", synced.url, "models", "--output", str(tmp_path / "nowhere" / "x.jsonl"))
    assert missing.exit_code == 2 and "cannot write" in missing.stderr and "Traceback" not in missing.output


def test_parquet_needs_an_output_file(synced):
    result = run("export", "--db", synced.url, "models", "--format", "parquet")
    assert result.exit_code == 2 and "--output" in result.stderr


def test_csv_cells():
    assert [csv_cell(v) for v in ["=1+1", "+x", "@sum", "a=b", -5, None, {"k": 1}]] == [
        "'=1+1", "'+x", "'@sum", "a=b", -5, None, '{"k": 1}']
