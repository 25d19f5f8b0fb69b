"""Datasets and spaces go through the same walker, retries, upsert and checkpoints as models."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from harvester.cli import main
from harvester.kinds import KINDS
from harvester.sync import sync
from helpers import assert_catalog_equals_corpus, catalog, config, runs

CORPUS = {"models": 300, "datasets": 500, "spaces": 400, "seed": 17}


@pytest.fixture(scope="module")
def hub(make_module_hub):
    """The module's emulator, for the tests that only read it; the others make their own."""
    return make_module_hub(**CORPUS)


@pytest.mark.parametrize("kind", ["datasets", "spaces"])
def test_a_full_crawl_of_each_kind_equals_the_corpus(make_hub, db, kind):
    hub = make_hub(**CORPUS)  # its own: every request it logs must be this walk's
    run = sync(config(hub, db, kind=kind))
    assert (run["status"], run["scope"], run["rows_inserted"]) == ("ok", kind, len(hub.corpora[kind]))
    assert_catalog_equals_corpus(hub, db, kind)
    assert all(r.path == f"/api/{kind}" for r in hub.requests)


@pytest.mark.parametrize("kind", ["datasets", "spaces"])
def test_incremental_and_resume_work_per_kind(make_hub, db, kind):
    hub = make_hub(**CORPUS)  # its own: it modifies and adds repos
    sync(config(hub, db, kind=kind, max_pages=3))
    assert sync(config(hub, db, kind=kind))["mode"] == "resume"
    corpus = hub.corpora[kind]
    changed, added = corpus.modify(12), corpus.add(7)
    run = sync(config(hub, db, kind=kind))
    assert (run["mode"], run["rows_updated"], run["rows_inserted"]) == ("incremental", 12, 7)
    assert set(changed + added) <= set(catalog(db, kind))
    assert_catalog_equals_corpus(hub, db, kind)


def test_each_kind_keeps_its_own_state(hub, db):
    sync(config(hub, db, kind="models"))
    sync(config(hub, db, kind="spaces", max_pages=2))
    assert sync(config(hub, db, kind="models"))["mode"] == "incremental"
    assert sync(config(hub, db, kind="spaces"))["mode"] == "resume"
    assert sync(config(hub, db, kind="datasets"))["mode"] == "full"
    assert {run["scope"] for run in runs(db)} == {"models", "datasets", "spaces"}


def test_cli_kind_all_syncs_every_kind_and_status_lists_them(hub, db):
    runner = CliRunner()
    result = runner.invoke(main, ["sync", "--db", str(db), "--endpoint", hub.url, "--kind", "all", "--json",
                                  "--page-size", "100"])
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["scope"] for r in records] == ["models", "datasets", "spaces"], "first walks read everything: no lap"
    again = runner.invoke(main, ["sync", "--db", str(db), "--endpoint", hub.url, "--kind", "all", "--json",
                                 "--page-size", "100"])
    records = [json.loads(line) for line in again.stdout.splitlines()]
    assert [r["scope"] for r in records] == ["models", "models:verify", "datasets", "datasets:verify", "spaces",
                                             "spaces:verify"], "each kind's walk, then its lap"
    for kind in ("models", "datasets", "spaces"):
        assert_catalog_equals_corpus(hub, db, kind)
    status = json.loads(runner.invoke(main, ["status", "--db", str(db), "--json"]).stdout)
    assert [s["scope"] for s in status] == ["datasets", "datasets:verify", "models", "models:verify", "spaces",
                                            "spaces:verify"]


def test_a_failing_kind_does_not_stop_the_others(make_hub, db):
    hub = make_hub(**CORPUS)  # its own: it faults
    hub.faults.add("truncate,after=0")  # every listing garbled: every kind fails
    result = CliRunner().invoke(main, ["sync", "--db", str(db), "--endpoint", hub.url, "--kind", "datasets",
                                       "--kind", "spaces", "--retries", "1"])
    assert result.exit_code == 1
    assert "error: datasets:" in result.stderr and "error: spaces:" in result.stderr


def test_a_catalog_error_is_reported_once_not_per_kind(hub, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = CliRunner().invoke(main, ["sync", "--db", str(blocker / "hub.db"), "--endpoint", hub.url,
                                       "--kind", "all"])
    assert result.exit_code == 1 and result.stderr.count("cannot open catalog") == 1


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_reads_its_own_tables_and_their_key_columns(kind):
    spec = KINDS[kind]
    assert (spec.repos.name, spec.raw.name) == (kind, f"{kind}_raw")
    assert spec.key in spec.tags.c and spec.key in spec.links.c
    assert spec.id_column in spec.stats.c and spec.id_column in spec.files.c
    assert spec.busiest_first in spec.repos.c and spec.busiest_first in spec.counters
