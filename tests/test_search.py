"""`harvester search`: words of a repo's id or card find it; the index follows the catalog."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine

import harvester.search
from harvester.cli import main
from harvester.search import fts_query, refresh_index, summary
from harvester.sync import sync
from helpers import config


@pytest.fixture
def hub(make_hub):
    """An emulator of each test's own: the tests here change its corpus or its faults."""
    return make_hub(models=500, seed=83)


def search(db, *words: str, kind: str = "models") -> list[str]:
    result = CliRunner().invoke(main, ["search", "--db", db.url, "--kind", kind, "--json", "--limit", "1000", *words])
    assert result.exit_code == 0, result.output
    return [row["id"] for row in json.loads(result.stdout)]


def test_every_word_of_an_id_finds_it_and_only_matching_repos_come_back(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    target = next(corpus.ids[j] for j in corpus.live() if corpus.ids[j].isascii() and "/" in corpus.ids[j])
    found = search(db, target)
    assert target in found
    assert all(_words(target) <= _words(f) | _card_words(db, f) for f in found)


def _words(text: str) -> set[str]:
    """Words as the index splits them: at spaces and at the punctuation of repo ids."""
    return set(text.replace("/", " ").replace("-", " ").replace("_", " ").replace(".", " ").lower().split())


def _card_words(db, repo_id: str) -> set[str]:
    """A card names other repos (base_model, datasets): their ids' words find it too."""
    [(author, task, library, license_, card)] = db.rows(
        "SELECT author, pipeline_tag, library_name, license, card_data FROM models WHERE id = :id", id=repo_id)
    return _words(summary({"author": author, "pipeline_tag": task, "library_name": library, "license": license_,
                           "card_data": json.loads(card) if card else None}))


def test_card_and_task_words_find_repos(hub, db):
    sync(config(hub, db))
    expected = {r[0] for r in db.rows("SELECT id FROM models WHERE pipeline_tag = 'text-generation'")}
    assert expected and expected <= set(search(db, "text-generation"))


def test_the_index_follows_adds_renames_and_deletions(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    assert search(db, "renamed") == []
    [(old, new)] = corpus.rename(1)
    [gone] = corpus.delete(ids=[next(i for i in corpus.ids if i != new and i.isascii())])
    sync(config(hub, db))
    sync(config(hub, db, lane="reconcile"))
    assert search(db, "renamed") == [new]
    assert gone not in search(db, gone)
    moved = corpus.modify(4)
    sync(config(hub, db))
    if db.backend == "sqlite":  # PostgreSQL searches the catalog itself: no index to keep
        engine = create_engine(db.url)
        assert refresh_index(engine, "models") == 4, "only the changed repos are indexed again"
        assert refresh_index(engine, "models") == 0
        engine.dispose()
    assert set(moved) <= {hit for repo in moved for hit in search(db, repo)}


def _index_is_the_catalogs(db) -> None:
    """Each live model once, under its row_key, with the words of its row as stored now."""
    indexed = db.rows("SELECT rowid, repo_id, summary FROM models_search ORDER BY rowid")
    live = db.records("SELECT id, row_key, author, pipeline_tag, library_name, license, card_data FROM models "
                      "WHERE deleted_at IS NULL ORDER BY row_key")
    expected = [(row["row_key"], row["id"], summary({**row, "card_data": json.loads(row["card_data"] or "null")}))
                for row in live]
    assert indexed == expected


class Pauses:
    """Stands in for `time` in `harvester.search`: counts the pauses between a refresh's
    transactions, and runs ``run`` in pause number ``at``, when the refresh holds no transaction."""

    def __init__(self, *, run: Callable[[], None], at: int) -> None:
        self.run, self.at, self.pauses = run, at, 0

    def sleep(self, seconds: float) -> None:
        assert seconds == harvester.search.PAUSE
        self.pauses += 1
        if self.pauses == self.at:
            self.run()


@pytest.mark.sqlite_only
def test_renames_re_indexed_one_row_key_at_a_time_keep_each_repo_once(hub, db, monkeypatch):
    """The index keeps each repo under its row_key (revision 0014): a renamed repo's old entry is
    replaced in the transaction that indexes its new name, whichever name comes first."""
    sync(config(hub, db))
    search(db, "anything")
    monkeypatch.setattr(harvester.search, "CHUNK", 1)
    monkeypatch.setattr(harvester.search, "PAUSE", 0)
    monkeypatch.setattr(harvester.search, "REBUILD_SHARE", 1.0)
    renamed = hub.corpora["models"].rename(3)
    sync(config(hub, db))
    for old, new in renamed:
        assert new in search(db, new) and old not in search(db, old)
    _index_is_the_catalogs(db)


@pytest.mark.sqlite_only
def test_a_name_taken_over_from_a_deleted_repo_leaves_no_old_entry_behind(hub, db):
    """The deleted repo's row steps aside under another id, so only its index entry still knows
    the name: the refresh finds that entry by name as well as the repos by their row keys."""
    sync(config(hub, db))
    search(db, "anything")
    corpus = hub.corpora["models"]
    a, b = sorted(corpus.ids)[100], sorted(corpus.ids)[200]
    corpus.delete(ids=[b])
    corpus.rename_to({a: b})
    sync(config(hub, db))
    assert search(db, b) == [b]
    _index_is_the_catalogs(db)


@pytest.mark.sqlite_only
def test_a_long_refresh_lets_syncs_in_between_its_transactions_and_ends_true(hub, db, monkeypatch):
    """A refresh writes in transactions of CHUNK row keys (a whole rebuild of 1,000,000 models
    takes about 90 s, three times a sync's busy timeout). Syncs that commit between them (new
    repos, renames, deletions, changes) are in the index after the next refresh."""
    corpus = hub.corpora["models"]
    sync(config(hub, db))

    def syncs() -> None:  # a writer would wait out its busy timeout, then fail, if a transaction were open
        corpus.add(30)
        corpus.rename(4)
        corpus.delete(5)
        corpus.modify(20)
        sync(config(hub, db))
        sync(config(hub, db, lane="reconcile"))

    between = Pauses(run=syncs, at=2)
    monkeypatch.setattr(harvester.search, "CHUNK", 40)
    monkeypatch.setattr(harvester.search, "time", between)
    engine = create_engine(db.url)
    try:
        assert refresh_index(engine, "models") > 400
        assert between.pauses == 500 // 40, "a transaction per 40 row keys, a pause between two"
        assert refresh_index(engine, "models") > 0, "what changed during the refresh is indexed again"
        assert refresh_index(engine, "models") == 0
    finally:
        engine.dispose()
    _index_is_the_catalogs(db)


@pytest.mark.sqlite_only
def test_a_refresh_that_ends_after_a_later_one_does_not_move_the_index_back(hub, db, monkeypatch):
    sync(config(hub, db))
    engine, other = create_engine(db.url), create_engine(db.url)

    def another_refresh() -> None:  # another process syncs, then refreshes the index to its own end
        hub.corpora["models"].modify(10)
        sync(config(hub, db))
        assert refresh_index(other, "models") > 0

    monkeypatch.setattr(harvester.search, "CHUNK", 100)
    monkeypatch.setattr(harvester.search, "time", Pauses(run=another_refresh, at=1))
    try:
        refresh_index(engine, "models")
        assert refresh_index(engine, "models") == 0, "the later refresh's position stands"
    finally:
        engine.dispose()
        other.dispose()
    _index_is_the_catalogs(db)


def test_odd_input_is_words_not_syntax():
    assert fts_query('a "b" c-d/e') == '"a" """b""" "c-d/e"'


def test_datasets_are_searched_apart(db, make_hub):
    other = make_hub(datasets=80, seed=5)
    sync(config(other, db, kind="datasets"))
    dataset = other.corpora["datasets"].ids[0]
    assert dataset in search(db, dataset, kind="datasets")
    assert search(db, dataset) == []


def test_a_search_that_finds_nothing_says_so(hub, db):
    sync(config(hub, db))
    result = CliRunner().invoke(main, ["search", "--db", db.url, "zzqx", "nothing"])
    assert result.exit_code == 0 and result.stdout == "no models match 'zzqx nothing'\n"
