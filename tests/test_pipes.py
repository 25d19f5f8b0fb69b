"""What a command's output looks like in a pipe: a reader that goes away, CSV line ends, JSON's
escaping, alignment by display width, and tables only on a terminal."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import subprocess
import sys

import pytest
from rich.cells import cell_len

from catalog import Catalog
from harvester.stopping import BROKEN_PIPE_EXIT
from harvester.sync import sync
from helpers import config

pytestmark = pytest.mark.sqlite_only  # what the command line prints, not the backend
HARVESTER = [sys.executable, "-m", "harvester"]
USED = "ÆØÅ.research/glue-dedup"  # a dataset hundreds of models were trained on (seed 3)
FAMILY = "lynx-team/deberta-v3-70B-sft-dpo"
CITED = "arxiv:1706.03762"  # the paper most repos cite (seed 3): 248 of them


@pytest.fixture(scope="module")
def db(tmp_path_factory, make_module_hub) -> str:
    where = tmp_path_factory.mktemp("pipes") / "hub.db"
    hub = make_module_hub(models=2000, datasets=200, spaces=100, seed=3)
    for kind in ("models", "datasets", "spaces"):
        sync(config(hub, Catalog.sqlite(where), kind=kind, page_size=500, verify_pages=0))
    return str(where)


def run(db: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*HARVESTER, *args, "--db", db], capture_output=True)


LARGEST_FAMILY = "the largest family"  # looked up in the catalog: its tree is far more than a pipe's buffer
# Each prints tens of KB: more than the pipe holds and the writer buffers, so the write that
# meets the closed pipe is sure to come (a command whose output fits ends well before it).
COMMANDS = [["changes"], ["query", "SELECT * FROM models"], ["export", "models", "--format", "csv"],
            ["tree", LARGEST_FAMILY], ["uses", CITED], ["search", "llama", "--limit", "1000"]]


def largest_family(db: str) -> str:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT base_id FROM base_model_counts ORDER BY derivatives DESC LIMIT 1").fetchone()[0]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_command_whose_reader_reads_one_line_and_goes_away_ends_quietly_as_sigpipe_does(db, command):
    command = [largest_family(db) if arg == LARGEST_FAMILY else arg for arg in command]
    read, write = os.pipe()
    fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, 4096)  # a page: a few KB of output outrun the reader
    process = subprocess.Popen([*HARVESTER, *command, "--db", db], stdout=write, stderr=subprocess.PIPE)
    os.close(write)
    line = b""
    while not line.endswith(b"\n"):
        line += os.read(read, 1)
    os.close(read)
    _, stderr = process.communicate(timeout=60)
    assert line.strip() and stderr == b""
    assert process.returncode == BROKEN_PIPE_EXIT == 141


def test_under_pipefail_a_pipe_into_head_ends_as_git_log_into_head_does(db):
    script = f"{' '.join(HARVESTER)} changes --db {db} | head -1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", script], capture_output=True)
    assert json.loads(done.stdout)["seq"] == 1 and done.stderr == b""
    assert done.returncode == 141, "SIGPIPE's code, as `git log | head` under pipefail"


@pytest.mark.parametrize("command", [["query", "SELECT id FROM models LIMIT 5", "--format", "csv"],
                                     ["export", "SELECT id FROM models LIMIT 5", "--format", "csv"],
                                     ["changes", "--format", "csv", "--limit", "5"]], ids=lambda c: c[0])
def test_every_csv_writer_ends_its_lines_with_lf(db, command):
    out = run(db, *command).stdout
    assert b"\r" not in out and out.count(b"\n") == 6


JSON = [["changes"], ["query", "SELECT id FROM models", "--format", "jsonl"], ["query", "SELECT id FROM models",
        "--format", "json"], ["export", "models"], ["uses", USED, "--json"], ["tree", FAMILY, "--json"],
        ["search", "research", "--json"], ["status", "--json"]]


@pytest.mark.parametrize("command", JSON, ids=" ".join)
def test_every_json_writer_writes_non_ascii_as_itself_in_utf_8(db, command):
    done = subprocess.run([*HARVESTER, *command, "--db", db], capture_output=True,
                          env={**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": ""})
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode("utf-8")
    assert "\\u" not in text
    assert command[0] == "status" or any(name in text for name in ("ÆØÅ", "日本語", "Ünïcode", "université"))


def test_a_piped_table_is_aligned_by_display_width(db):
    sql = "SELECT id, 'x' AS mark FROM models WHERE id LIKE '日本語%' OR id LIKE 'Acme%' ORDER BY id"
    lines = run(db, "query", sql).stdout.decode().splitlines()
    assert any("日本語" in line for line in lines) and any(line.startswith("Acme") for line in lines)
    assert len({cell_len(line) for line in lines[2:]}) == 1, "each row's mark in the same column"


@pytest.mark.parametrize("command", [["search", "research"], ["uses", USED]], ids=lambda c: c[0])
def test_search_and_uses_into_a_pipe_print_plain_aligned_rows_as_query_does(db, command):
    lines = run(db, *command).stdout.decode().splitlines()
    found = run(db, *command, "--json").stdout.decode()
    count = len(json.loads(found)) if command[0] == "search" else len(found.splitlines())
    assert not any(set(line) & set("┃━│┏┡└╇") for line in lines), "no box drawn into a pipe"
    assert lines[0].split()[:2] in (["id", "likes"], ["kind", "id"]) and set(lines[1]) <= {"-", " "}
    assert len(lines) == 2 + count


def on_a_terminal(db: str, *args: str, rows: int = 24) -> str:
    """What a command prints on a terminal of ``rows`` lines (a pseudo-terminal, as a person's)."""
    main, terminal = pty.openpty()
    done = subprocess.Popen([*HARVESTER, *args, "--db", db], stdout=terminal, stderr=subprocess.DEVNULL,
                            env={**os.environ, "LINES": str(rows), "COLUMNS": "200"})
    os.close(terminal)
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal's other end closed
            break
        if not chunk:
            break
        out += chunk
    done.wait(timeout=60)
    os.close(main)
    return out.decode()


def test_uses_on_a_terminal_shows_a_screenful_and_says_how_many_more_as_query_does(db):
    count = len(run(db, "uses", CITED, "--json").stdout.splitlines())
    assert count > 100
    shown = on_a_terminal(db, "uses", CITED).splitlines()
    assert len(shown) <= 24
    assert shown[-1].startswith(f"... {count - (24 - 8):,} more rows not shown ({count:,} in all): --json")
    assert len(run(db, "uses", CITED).stdout.splitlines()) == 2 + count, "into a pipe, every row"


def test_the_process_writes_utf_8_into_a_pipe_whatever_the_locale(db):
    done = subprocess.run([*HARVESTER, "uses", USED, "--db", db], capture_output=True,
                          env={**os.environ, "LC_ALL": "en_US.ISO-8859-1", "PYTHONIOENCODING": ""})
    assert done.returncode == 0 and "日本語" in done.stdout.decode("utf-8")
