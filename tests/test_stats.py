"""The counter lane: counters move without a commit; --stats refreshes them and keeps a bounded history."""

from __future__ import annotations

import math

import pytest

from harvester.emulator import HubEmulator
from harvester.errors import ConfigError
from harvester.sync import sync
from helpers import PAGE, assert_raw_agrees_with_columns, config


@pytest.fixture
def hub(make_hub):
    """An emulator of each test's own: the tests here change its corpus or its faults."""
    return make_hub(models=600, spaces=200, seed=53)


def top_ids(hub: HubEmulator, n: int, kind: str = "models", column: str = "downloads") -> list[str]:
    corpus = hub.corpora[kind]
    values = getattr(corpus, column)
    return [corpus.ids[j] for j in sorted(corpus.live(), key=lambda j: (values[j], j), reverse=True)[:n]]


def counters(db, ids, kind: str = "models") -> dict[str, tuple]:
    return {row[0]: row[1:] for row in db.rows(f"SELECT id, likes, trending_score FROM {kind} WHERE id IN :ids",
                                               ids=ids)}


def history(db, table: str = "model_stats", key: str = "model_id") -> list[tuple]:
    return db.rows(f"SELECT {key}, run_id FROM {table} ORDER BY run_id, {key}")


def test_stats_refresh_the_top_repos_and_sample_only_what_changed(hub, db):
    sync(config(hub, db))
    first = sync(config(hub, db, lane="stats", top=120))
    assert (first["mode"], first["scope"], first["samples_taken"]) == ("stats", "models:stats", 120)
    assert first["requests"] == math.ceil(120 / PAGE)
    corpus = hub.corpora["models"]
    top = top_ids(hub, 120)
    bumped = corpus.bump_counters(ids=top[:7])  # counters move, lastModified does not
    sync(config(hub, db))  # the main lane may re-read a few of them; the history must still see all 7
    second = sync(config(hub, db, lane="stats", top=120))
    assert second["samples_taken"] == 7
    got = counters(db, bumped)
    assert got == {i: (corpus.likes[corpus.position(i)], float(corpus.trending[corpus.position(i)])) for i in bumped}
    downloads = dict(db.rows("SELECT model_id, downloads FROM model_stats WHERE run_id = :run", run=second["id"]))
    assert downloads == {i: corpus.downloads[corpus.position(i)] for i in bumped}
    assert len(history(db)) == 127, "120 first samples, then only the 7 that changed"


def test_downloads_of_a_repo_over_time_is_one_query(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    [repo] = top_ids(hub, 1)
    for _ in range(3):
        corpus.bump_counters(ids=[repo])
        sync(config(hub, db, lane="stats", top=10))
    series = [row[0] for row in db.rows(
        "SELECT downloads FROM model_stats WHERE model_id = :repo ORDER BY taken_at", repo=repo)]
    assert len(series) == 3 and series == sorted(series) and series[-1] == corpus.downloads[corpus.position(repo)]


def test_history_follows_a_rename(hub, db):
    sync(config(hub, db))
    sync(config(hub, db, lane="stats", top=5))
    [(old, new)] = hub.corpora["models"].rename(ids=top_ids(hub, 1))
    sync(config(hub, db))
    keys = {key for key, _ in history(db)}
    assert new in keys and old not in keys


def test_spaces_have_likes_and_trending_but_no_downloads(hub, db):
    sync(config(hub, db, kind="spaces"))
    run = sync(config(hub, db, kind="spaces", lane="stats", top=50))
    assert run["samples_taken"] == 50
    assert all(r.param("sort") == "likes" for r in hub.listing_requests("spaces")[-1:])


def test_stats_of_repos_the_catalog_does_not_know_yet_are_left_to_the_main_lane(hub, db):
    run = sync(config(hub, db, lane="stats", top=60))
    assert run["samples_taken"] == 0 and run["rows_seen"] == 60


def test_stats_with_full_is_refused(hub, db):
    with pytest.raises(ConfigError, match="choose one"):
        config(hub, db, lane="stats", full=True)


def test_after_the_counter_lane_every_rows_raw_agrees_with_its_columns(hub, db):
    sync(config(hub, db))
    sync(config(hub, db, kind="spaces"))
    for kind in ("models", "spaces"):
        hub.corpora[kind].bump_counters(150)
        run = sync(config(hub, db, kind=kind, lane="stats", top=200))
        assert run["rows_updated"] > 0
        assert_raw_agrees_with_columns(db, kind)
    before = db.rows("SELECT count(*) FROM changes")  # the lane covered every space: a walk finds nothing new
    assert sync(config(hub, db, kind="spaces", full=True))["rows_updated"] == 0
    assert db.rows("SELECT count(*) FROM changes") == before


def test_a_resumed_stats_walk_counts_the_top_repos_earlier_runs_read(hub, db):
    sync(config(hub, db))
    first = sync(config(hub, db, lane="stats", top=120, max_pages=1))
    assert (first["rows_seen"], first["complete"]) == (PAGE, False)
    second = sync(config(hub, db, lane="stats", top=120))
    assert (second["mode"], second["rows_seen"], second["complete"]) == ("resume", 120 - PAGE, True)
    assert second["requests"] == math.ceil((120 - PAGE) / PAGE)
    assert len({key for key, _ in history(db)}) == 120, "the top 120 sampled once each, not 120 after the first page"
