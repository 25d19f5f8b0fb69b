"""The README's "Reading the catalog" examples run as written against a catalog built from the emulator."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from catalog import Catalog
from harvester.emulator import HubEmulator
from harvester.sync import sync
from helpers import config

README = Path(__file__).resolve().parent.parent / "README.md"


def blocks(language: str) -> list[str]:
    text = README.read_text()
    section = text[text.index("## Reading the catalog"):text.index("## Browse it: harvester serve")]
    return re.findall(rf"```{language}\n(.*?)```", section, re.DOTALL)


@pytest.fixture(scope="module")
def catalog_dir(tmp_path_factory) -> Path:
    """hub.db with models synced, two counter samples, files, and a Parquet export, as the README assumes."""
    where = tmp_path_factory.mktemp("readme")
    db = Catalog.sqlite(where / "hub.db")
    with HubEmulator(models=800, seed=3) as hub:
        sync(config(hub, db))
        sync(config(hub, db, stats=True, top=200))
        hub.corpora["models"].bump_counters(150)
        sync(config(hub, db, stats=True, top=200))
    subprocess.run([sys.executable, "-m", "harvester", "export", "--db", str(where / "hub.db"), "models",
                    "--format", "parquet", "--output", str(where / "models.parquet")], check=True)
    return where


def test_there_are_examples_to_run():
    assert len(blocks("sql")) == 3 and len(blocks("python")) == 2 and len(blocks("bash")) == 1


@pytest.mark.parametrize("index", range(3))
def test_each_sql_example_runs_and_answers(catalog_dir, index):
    with sqlite3.connect(catalog_dir / "hub.db") as conn:
        rows = conn.execute(blocks("sql")[index]).fetchall()
    if index > 0:  # "this week" depends on the emulator's dates; the others always have an answer
        assert rows


@pytest.mark.parametrize("index", range(2))
def test_each_python_example_runs(catalog_dir, index):
    done = subprocess.run([sys.executable, "-c", blocks("python")[index]], cwd=catalog_dir, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_the_change_polling_example_hands_on_its_seq(catalog_dir):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "HARVESTER_DB": str(catalog_dir / "hub.db")}
    script = blocks("bash")[0]
    subprocess.run(["bash", "-c", script], cwd=catalog_dir, env=env, check=True)
    first = int((catalog_dir / "since.txt").read_text())
    assert first == 800, "every insert of the first sync"
    subprocess.run(["bash", "-c", script], cwd=catalog_dir, env=env, check=True)
    assert int((catalog_dir / "since.txt").read_text()) == first
    assert (catalog_dir / "batch.jsonl").read_text().strip() == '{"next_since": 800}'


def test_ci_runs_exactly_the_readmes_test_command():
    text = README.read_text()
    section = text[text.index("## Tests"):]
    [command] = re.findall(r"```bash\n(.*?)\n```", section, re.DOTALL)[:1]
    ci = (README.parent / ".ci" / "run").read_text().splitlines()
    assert command in ci, "the README's test command is a line of .ci/run, as written"
    assert command.startswith("pip install -e '.[dev]' && "), "one command installs what the tests need and runs them"


@pytest.mark.parametrize("index", range(3))
def test_each_sql_example_runs_through_harvester_query_as_written(catalog_dir, index):
    sql = blocks("sql")[index]
    assert sql.lstrip().startswith("--"), "the examples begin with a comment"
    for args, stdin in ((["query", sql], None), (["query", "-"], sql)):
        done = subprocess.run([sys.executable, "-m", "harvester", *args, "--db", str(catalog_dir / "hub.db"),
                               "--format", "csv"], input=stdin, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert len(done.stdout.splitlines()) >= (1 if index == 0 else 2)
