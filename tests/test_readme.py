"""The README's "Reading the catalog" examples run as written against a catalog built from the emulator."""

from __future__ import annotations

import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from catalog import Catalog
from harvester.sync import sync
from helpers import config

README = Path(__file__).resolve().parent.parent / "README.md"


def blocks(language: str, heading: str = "## Reading the catalog") -> list[str]:
    """The ``language`` code blocks of one section of the README (to the next ``## `` heading)."""
    text = README.read_text()
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return re.findall(rf"```{language}\n(.*?)```", text[start:end if end >= 0 else None], re.DOTALL)


@pytest.fixture(scope="module")
def catalog_dir(tmp_path_factory, make_module_hub) -> Path:
    """hub.db with models synced, two counter samples, cards in the search index, and a Parquet export, as the
    README assumes."""
    where = tmp_path_factory.mktemp("readme")
    db = Catalog.sqlite(where / "hub.db")
    hub = make_module_hub(models=800, seed=3)
    sync(config(hub, db))
    sync(config(hub, db, lane="stats", top=200))
    hub.corpora["models"].bump_counters(150)
    sync(config(hub, db, lane="stats", top=200))
    sync(config(hub, db, lane="cards", where="1=1"))
    subprocess.run([sys.executable, "-m", "harvester", "search", "--db", str(where / "hub.db"), "anything"], check=True)
    subprocess.run([sys.executable, "-m", "harvester", "export", "--db", str(where / "hub.db"), "models",
                    "--format", "parquet", "--output", str(where / "models.parquet")], check=True)
    return where


HOUR_MS, WEEK_MS = 3_600_000, 7 * 86_400_000


@pytest.fixture(scope="module")
def this_week(tmp_path_factory, make_module_hub) -> tuple[Path, dict[str, int]]:
    """hub.db synced after models were created this week by this machine's clock (the corpus's own
    clock starts on 2026-11-01), their likes moved apart; and the text-generation ones with their likes."""
    where = tmp_path_factory.mktemp("this-week")
    hub = make_module_hub(models=300, seed=3)
    corpus = hub.corpora["models"]
    now_ms = int(time.time() * 1000)
    corpus.clock.ms = max(corpus.clock.ms, now_ms - HOUR_MS)  # 40 repos move it on by 40 minutes at most
    corpus.bump_counters(ids=corpus.add(40))
    sync(config(hub, Catalog.sqlite(where / "hub.db")))
    new = {corpus.ids[j]: corpus.likes[j] for j in corpus.live()
           if corpus.category_value(j) == "text-generation" and corpus.created[j] >= now_ms - WEEK_MS}
    return where, new


def test_there_are_examples_to_run():
    assert len(blocks("sql")) == 4 and len(blocks("python")) == 2 and len(blocks("bash")) == 1


@pytest.mark.parametrize("index", range(4))
def test_each_sql_example_runs_and_answers(catalog_dir, this_week, index):
    """The first example, "top new text-generation models this week", runs against a catalog with
    models of this week, and answers the ten with the most likes (ties in any order)."""
    where, new = this_week if index == 0 else (catalog_dir, {})
    with sqlite3.connect(where / "hub.db") as conn:
        rows = conn.execute(blocks("sql")[index]).fetchall()
    assert rows
    if index == 0:
        assert [likes for _, likes, *_ in rows] == sorted(new.values(), reverse=True)[:10]
        assert all(new.get(repo_id) == likes for repo_id, likes, *_ in rows)


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
    with sqlite3.connect(catalog_dir / "hub.db") as conn:
        [(cards,)] = conn.execute("SELECT count(*) FROM model_cards WHERE state = 'card'")
    assert first == 800 + cards, "every insert of the first sync, and every card the cards lane read"
    subprocess.run(["bash", "-c", script], cwd=catalog_dir, env=env, check=True)
    assert int((catalog_dir / "since.txt").read_text()) == first
    assert (catalog_dir / "batch.jsonl").read_text().strip() == f'{{"next_since": {first}}}'


def test_ci_runs_exactly_the_readmes_test_command():
    text = README.read_text()
    section = text[text.index("## Tests"):]
    [command] = re.findall(r"```bash\n(.*?)\n```", section, re.DOTALL)[:1]
    ci = (README.parent / ".ci" / "run").read_text().splitlines()
    assert command in ci, "the README's test command is a line of .ci/run, as written"
    assert command.startswith("pip install -e '.[dev]' && "), "one command installs what the tests need and runs them"


@pytest.mark.parametrize("index", range(4))
def test_each_sql_example_runs_through_harvester_query_as_written(catalog_dir, index):
    sql = blocks("sql")[index]
    assert sql.lstrip().startswith("--"), "the examples begin with a comment"
    for args, stdin in ((["query", sql], None), (["query", "-"], sql)):
        done = subprocess.run([sys.executable, "-m", "harvester", *args, "--db", str(catalog_dir / "hub.db"),
                               "--format", "csv"], input=stdin, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert len(done.stdout.splitlines()) >= (1 if index == 0 else 2)


GRAPH = "## The graph"


def emulator_arguments(commands: str) -> dict[str, int]:
    """The corpus a README block's ``harvester emulator`` line asks for: sizes and seed (0 by default)."""
    [line] = [line for line in commands.splitlines() if line.startswith("harvester emulator")]
    words = shlex.split(line.split("#")[0])
    asked = {word[2:]: int(words[n + 1]) for n, word in enumerate(words)
             if word in ("--models", "--datasets", "--spaces", "--seed")}
    return {"seed": 0} | asked


@pytest.fixture(scope="module")
def graph_dir(tmp_path_factory, make_module_hub) -> Path:
    """hub.db with every kind synced from the emulator as the README's graph section starts it."""
    where = tmp_path_factory.mktemp("graph")
    db = Catalog.sqlite(where / "hub.db")
    [commands] = blocks("bash", GRAPH)
    hub = make_module_hub(**emulator_arguments(commands))
    for kind in ("models", "datasets", "spaces"):
        sync(config(hub, db, kind=kind, page_size=500, verify_pages=0))
    sync(config(hub, db, lane="details"))
    return where


def harvester(where: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "harvester", *args, "--db", str(where / "hub.db")],
                          capture_output=True, text=True, encoding="utf-8")
    assert done.returncode == 0, done.stderr
    return done.stdout


def answers_in_sqlite_and_through_harvester_query(where: Path, sql: str) -> None:
    """A README question answers at least three rows in sqlite3, and the same through `harvester query`."""
    with sqlite3.connect(where / "hub.db") as conn:
        rows = conn.execute(sql).fetchall()
    assert len(rows) >= 3
    assert len(harvester(where, "query", sql, "--format", "csv").splitlines()) == len(rows) + 1


@pytest.mark.parametrize("index", range(4))
def test_each_graph_question_answers_in_sqlite_and_through_harvester_query(graph_dir, index):
    answers_in_sqlite_and_through_harvester_query(graph_dir, blocks("sql", GRAPH)[index])


def test_the_family_question_finds_what_harvester_tree_shows(graph_dir):
    with sqlite3.connect(graph_dir / "hub.db") as conn:
        family = conn.execute(blocks("sql", GRAPH)[1]).fetchall()
    root = family[0][0]

    def members(node: dict) -> set[str]:
        return {node["id"]}.union(*(members(child) for child in node["children"]))

    tree = json.loads(harvester(graph_dir, "tree", root, "--json"))
    assert {repo_id for repo_id, _ in family} == members(tree)
    assert len(family) > 100, "the emulator's biggest family"


def test_the_graph_commands_run_as_written_and_print_what_the_readme_shows(graph_dir):
    [commands] = blocks("bash", GRAPH)
    examples = [line for line in commands.splitlines() if line.startswith(("harvester tree", "harvester uses"))]
    outputs = [harvester(graph_dir, *shlex.split(line.split("#")[0])[1:]) for line in examples]
    [shown] = re.findall(r"```\n(lynx-team.*?)```", README.read_text(), re.DOTALL)
    printed = outputs[0].splitlines()
    for line in shown.splitlines():
        if line != "...":
            assert line in printed, line
    assert "ancestors" in outputs[1] and "trained_on" in outputs[2]
    assert {json.loads(line)["relation"] for line in outputs[3].splitlines()} == {"cites"}


def test_the_graph_section_starts_the_emulator_its_examples_answer_on_and_syncs_every_kind():
    [commands] = blocks("bash", GRAPH)
    assert emulator_arguments(commands) == {"models": 2000, "datasets": 200, "spaces": 100, "seed": 3}
    assert "harvester sync --kind all" in commands and "harvester sync --details" in commands


@pytest.fixture(scope="module")
def offline_dir(tmp_path_factory, make_module_hub) -> Path:
    """hub.db as the README's "Try it offline" emulator (its seed, fewer models) and the quick start's
    syncs build it: the models, two `--stats` runs with counters moved between them, and `--details`."""
    [commands] = blocks("bash", "## Try it offline")[:1]
    arguments = emulator_arguments(commands) | {"models": 1000}  # 100,000 in the README: the same corpus, cut
    where = tmp_path_factory.mktemp("offline")
    db = Catalog.sqlite(where / "hub.db")
    hub = make_module_hub(**arguments)
    sync(config(hub, db, page_size=500))
    sync(config(hub, db, lane="stats"))
    hub.corpora["models"].bump_counters(300)
    sync(config(hub, db, lane="stats"))
    sync(config(hub, db, lane="details", max_repos=500))
    return where


def quick_start_queries() -> list[str]:
    [commands] = blocks("bash", "## Quick start")[1:2]
    return re.findall(r'sqlite3 hub.db "(.*?)"', commands, re.DOTALL)


@pytest.mark.parametrize("index", range(4))
def test_each_quick_start_query_answers_on_the_catalog_the_readme_builds(offline_dir, index):
    assert len(quick_start_queries()) == 4
    with sqlite3.connect(offline_dir / "hub.db") as conn:
        assert conn.execute(quick_start_queries()[index]).fetchall(), quick_start_queries()[index]


FIELDS = "## The whole item at listing cost"


@pytest.fixture(scope="module")
def fields_dir(tmp_path_factory, make_module_hub) -> Path:
    """hub.db synced with every field group from the emulator the README's field groups section starts."""
    where = tmp_path_factory.mktemp("fields")
    [commands] = blocks("bash", FIELDS)
    assert "harvester sync --fields all" in commands
    hub = make_module_hub(**emulator_arguments(commands))
    sync(config(hub, Catalog.sqlite(where / "hub.db"), fields="all", page_size=1000, verify_pages=0))
    return where


@pytest.mark.parametrize("index", range(4))
def test_each_field_group_question_answers_in_sqlite_and_through_harvester_query(fields_dir, index):
    answers_in_sqlite_and_through_harvester_query(fields_dir, blocks("sql", FIELDS)[index])
