"""Scoped syncs: a slice of the Hub with its own cursor and watermark, never sweeping beyond it."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from click.testing import CliRunner

from harvester.cli import main
from harvester.emulator import HubEmulator
from harvester.errors import ConfigError
from harvester.sync import sync
from helpers import catalog, config, runs

CORPUS = {"models": 1_200, "seed": 41}


@pytest.fixture(scope="module")
def hub(make_module_hub):
    """The module's emulator, for the tests that only read it; the others make their own."""
    return make_module_hub(**CORPUS)


def busiest_author(hub: HubEmulator) -> str:
    corpus = hub.corpora["models"]
    return Counter(corpus.author(j) for j in corpus.live() if corpus.author(j)).most_common(1)[0][0]


def live_ids(hub: HubEmulator, keep) -> set[str]:
    corpus = hub.corpora["models"]
    return {corpus.ids[j] for j in corpus.live() if keep(corpus, j)}


def test_an_author_scope_holds_exactly_that_authors_models(make_hub, db):
    hub = make_hub(**CORPUS)  # its own: every request it logs must be this walk's
    author = busiest_author(hub)
    run = sync(config(hub, db, author=author))
    assert run["scope"] == f"models?author={author}"
    assert set(catalog(db)) == live_ids(hub, lambda c, j: c.author(j) == author)
    assert all(r.param("author") == author for r in hub.listing_requests())


def test_tag_and_task_scopes(hub, db):
    sync(config(hub, db, filters=("safetensors", "transformers"), pipeline_tag="text-generation"))
    expected = live_ids(hub, lambda c, j: {"safetensors", "transformers"} <= set(c.tags(j))
                        and c.category_value(j) == "text-generation")
    assert expected and set(catalog(db)) == expected


def test_each_scope_keeps_its_own_state(make_hub, db):
    hub = make_hub(**CORPUS)  # its own: it modifies a repo
    author = busiest_author(hub)
    sync(config(hub, db, author=author))
    assert sync(config(hub, db))["mode"] == "full", "the whole-kind scope starts its own walk"
    assert sync(config(hub, db, author=author))["mode"] == "incremental"
    [changed] = hub.corpora["models"].modify(ids=sorted(live_ids(hub, lambda c, j: c.author(j) == author))[:1])
    run = sync(config(hub, db, author=author))
    assert run["rows_updated"] == 1 and run["requests"] == 1
    assert {r["scope"] for r in runs(db)} == {"models", f"models?author={author}"}


def test_a_scoped_full_walk_never_marks_deletions(make_hub, db):
    hub = make_hub(**CORPUS)  # its own: it deletes repos
    author = busiest_author(hub)
    sync(config(hub, db))
    gone = hub.corpora["models"].delete(ids=sorted(live_ids(hub, lambda c, j: c.author(j) == author))[:3])
    assert sync(config(hub, db, author=author, full=True))["rows_deleted"] == 0
    assert sync(config(hub, db, full=True))["rows_deleted"] == len(gone) == 3


def test_scope_keys_are_canonical_readable_and_unambiguous(hub, db):
    first = config(hub, db, filters=("b", "a", "a"))
    assert first.scope == config(hub, db, filters=("a", "b")).scope == "models?filter=a&filter=b"
    assert config(hub, db, author="université").scope == "models?author=université"
    tricky = config(hub, db, author="x&filter=y").scope
    assert tricky == "models?author=x%26filter%3Dy" != config(hub, db, author="x", filters=("y",)).scope


@pytest.mark.parametrize("overrides", [{"kind": "datasets", "pipeline_tag": "x"}, {"lane": "reconcile", "author": "a"}])
def test_impossible_scopes_are_refused(hub, db, overrides):
    with pytest.raises(ConfigError):
        config(hub, db, **overrides)


def test_cli_scopes_and_status(hub, db):
    author = busiest_author(hub)
    runner = CliRunner()
    result = runner.invoke(main, ["sync", "--db", str(db), "--endpoint", hub.url, "--author", author,
                                  "--filter", "transformers", "--json"])
    assert result.exit_code == 0, result.stderr
    scope, lap = (json.loads(line)["scope"] for line in result.stdout.splitlines())
    assert scope.startswith("models?author=") and "filter=transformers" in scope and lap == f"{scope}:verify"
    status = json.loads(runner.invoke(main, ["status", "--db", str(db), "--json"]).stdout)
    assert [s["scope"] for s in status] == [scope, lap]
