"""Deleted repos are marked (never by an incomplete walk); renamed repos move in place and are logged."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from harvester.cli import main
from harvester.mapping import map_model
from harvester.store.engine import open_catalog
from harvester.store.repos import upsert_repos
from harvester.store.schema import models
from harvester.sync import sync
from helpers import assert_catalog_equals_corpus, config, runs


@pytest.fixture
def hub(make_hub):
    """An emulator of each test's own: the tests here change its corpus or its faults."""
    return make_hub(models=800, spaces=300, seed=29)


def deleted(db, kind: str = "models") -> set[str]:
    return {row[0] for row in db.rows(f"SELECT id FROM {kind} WHERE deleted_at IS NOT NULL")}


def test_a_full_walk_marks_unseen_rows_deleted_and_keeps_them(hub, db):
    sync(config(hub, db))
    gone = set(hub.corpora["models"].delete(25))
    assert sync(config(hub, db))["rows_deleted"] == 0, "an incremental walk cannot see deletions"
    run = sync(config(hub, db, full=True))
    assert run["rows_deleted"] == 25 and deleted(db) == gone
    assert_catalog_equals_corpus(hub, db)  # live rows equal the corpus; deleted rows are kept, marked
    assert db.rows("SELECT count(*) FROM models") == [(800,)]


def test_an_unfinished_or_failed_walk_never_marks_anything(hub, db):
    sync(config(hub, db))
    gone = set(hub.corpora["models"].delete(10))
    assert sync(config(hub, db, full=True, max_pages=4))["rows_deleted"] == 0
    hub.faults.add("truncate,after=3")
    with pytest.raises(Exception, match="not JSON"):
        sync(config(hub, db, attempts=1))
    hub.faults.clear()
    assert deleted(db) == set()
    run = sync(config(hub, db))  # resumes the full walk, catches up, then sweeps
    assert run["mode"] == "resume" and run["rows_deleted"] == 10 and deleted(db) == gone


def test_rows_modified_during_a_full_walk_are_never_marked_deleted(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    moved: list[str] = []

    def modify_ahead(stats) -> None:
        if stats.pages in (2, 6, 10):
            unseen = sorted(corpus.ids[j] for j in corpus.live())[-5:]
            moved.extend(corpus.modify(ids=unseen))  # they jump above the cursor

    run = sync(config(hub, db, full=True, pages_per_commit=1), on_page=modify_ahead)
    assert moved and run["rows_deleted"] == 0 and deleted(db) == set()
    assert_catalog_equals_corpus(hub, db)


def oldest_first(corpus) -> list[str]:
    return [corpus.ids[j] for j in sorted(corpus.live(), key=lambda j: (corpus.modified[j], j))]


def test_a_row_modified_again_during_the_catch_up_is_never_marked_deleted(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    moved: list[str] = []
    again: list[str] = []

    def modify_twice(stats) -> None:
        if stats.pages == 2 and not moved:  # 120 rows the full walk has not reached jump above its cursor
            moved.extend(corpus.modify(ids=oldest_first(corpus)[:120]))
        [(mode, pages)] = db.rows("SELECT walk_mode, walk_pages FROM sync_state")
        if mode == "incremental" and pages == 1 and not again:  # and one the catch-up has not reached, too
            again.extend(corpus.modify(ids=[moved[0]]))

    run = sync(config(hub, db, full=True, pages_per_commit=1), on_page=modify_twice)
    assert again and run["status"] == "ok" and run["complete"]
    assert run["rows_deleted"] == 0 and deleted(db) == set()
    assert db.rows("SELECT count(*) FROM changes WHERE change = 'delete'") == [(0,)]
    gone = set(corpus.delete(3))  # and a sweep still happens, once a catch-up fits in one page
    assert sync(config(hub, db, full=True))["rows_deleted"] == 3 and deleted(db) == gone
    assert_catalog_equals_corpus(hub, db)


def test_a_catch_up_resumed_after_rows_moved_again_marks_none_of_them_deleted(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    sync(config(hub, db, full=True, max_pages=2))
    moved = corpus.modify(ids=oldest_first(corpus)[:120])  # above the full walk's cursor
    assert sync(config(hub, db, max_pages=13))["mode"] == "resume"  # the full walk's 12 pages left, a catch-up page
    [(mode, cursor)] = db.rows("SELECT walk_mode, cursor FROM sync_state")
    assert mode == "incremental" and cursor is not None
    corpus.modify(ids=[moved[0]])  # above the catch-up's cursor too
    run = sync(config(hub, db))
    assert run["status"] == "ok" and run["complete"] and deleted(db) == set()
    assert run["rows_deleted"] == 0 and db.rows("SELECT count(*) FROM changes WHERE change = 'delete'") == [(0,)]
    assert db.rows("SELECT sweep_since FROM sync_state") == [(None,)], "the sweep was made, with nothing to mark"
    assert_catalog_equals_corpus(hub, db)


def test_a_pending_sweep_is_made_by_runs_of_two_pages_on_a_busy_hub(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    start = corpus.clock_ms + 1_000
    for i, repo in enumerate(sorted(corpus.ids)[:60]):  # more than a page of commits inside the overlap
        corpus.modify(ids=[repo], at_ms=start + i * 5_000)
    corpus.clock_ms = start + 60 * 5_000
    gone = set(corpus.delete(3))
    sync(config(hub, db, full=True, max_pages=2))
    for _ in range(12):  # the full walk's 14 pages left, then what the sweep needs
        sync(config(hub, db, max_pages=2))
    assert deleted(db) == gone and db.rows("SELECT sweep_since FROM sync_state") == [(None,)]
    assert_catalog_equals_corpus(hub, db)


def test_a_listed_item_that_cannot_be_stored_still_counts_as_seen(hub, db):
    sync(config(hub, db))
    hub.faults.add(f"missing-field,after={len(hub.requests) + 5},times=1")  # one item of page 6 loses its id
    run = sync(config(hub, db, full=True))
    assert run["rows_rejected"] == 1 and run["rows_deleted"] == 0 and deleted(db) == set()
    assert db.rows("SELECT count(*) FROM changes WHERE change = 'delete'") == [(0,)]
    assert_catalog_equals_corpus(hub, db)


def test_a_reappearing_repo_is_no_longer_deleted(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    [repo] = corpus.make_private(1)
    sync(config(hub, db, full=True))
    assert deleted(db) == {repo}
    corpus.make_public([repo])
    corpus.modify(ids=[repo])
    sync(config(hub, db))
    assert deleted(db) == set()


def test_a_repo_listed_again_without_a_commit_counts_as_updated(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    first, second = corpus.make_private(2)
    sync(config(hub, db, full=True))
    corpus.make_public([first])  # same commit
    run = sync(config(hub, db, full=True))
    assert (run["rows_updated"], run["rows_unchanged"]) == (1, run["rows_seen"] - 1)
    corpus.make_public([second])
    run = sync(config(hub, db, lane="reconcile"))
    assert (run["rows_updated"], run["rows_unchanged"]) == (1, 799) and deleted(db) == set()
    assert db.rows("SELECT count(*) FROM changes WHERE change = 'undelete'") == [(2,)]


def test_the_summary_line_says_how_many_were_marked_deleted(hub, db):
    sync(config(hub, db))
    hub.corpora["models"].delete(2)
    result = CliRunner().invoke(main, ["sync", "--db", db.url, "--endpoint", hub.url, "--full"])
    assert result.exit_code == 0 and ", 2 deleted" in result.stderr


def test_a_rename_updates_the_row_in_place_and_is_logged(hub, db):
    sync(config(hub, db))
    before = dict(db.rows("SELECT hub_id, first_seen_at FROM models"))
    keys = dict(db.rows("SELECT hub_id, row_key FROM models"))
    renamed = hub.corpora["models"].rename(6)
    run = sync(config(hub, db))
    assert run["rows_renamed"] == 6 and run["rows_inserted"] == 0 and run["rows_deleted"] == 0
    assert_catalog_equals_corpus(hub, db)
    log = set(db.rows("SELECT old_id, new_id FROM renames WHERE kind = 'models'"))
    after = dict(db.rows("SELECT hub_id, first_seen_at FROM models"))
    assert dict(db.rows("SELECT hub_id, row_key FROM models")) == keys, "tags stay under the row's key"
    assert db.rows("SELECT count(*) FROM model_tag_keys WHERE model_key NOT IN (SELECT row_key FROM models)") == [(0,)]
    assert log == set(renamed)
    assert after == before, "same rows, same first_seen_at: a rename, not a delete plus a create"
    assert sync(config(hub, db, full=True))["rows_deleted"] == 0


def test_a_chain_of_renames_in_one_page_moves_every_row(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    a, b = sorted(corpus.ids)[100], sorted(corpus.ids)[200]
    corpus.rename_to({b: b + "-v2", a: b})  # b moves on, and a takes its old name
    run = sync(config(hub, db))
    assert (run["rows_renamed"], run["rows_inserted"]) == (2, 0)
    assert_catalog_equals_corpus(hub, db)
    assert db.rows("SELECT count(*) FROM models GROUP BY hub_id HAVING count(*) > 1") == []
    assert sorted(db.rows("SELECT old_id, new_id FROM renames")) == sorted([(b, b + "-v2"), (a, b)])


def test_two_repos_that_swap_names_keep_their_rows(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    a, b = sorted(corpus.ids)[100], sorted(corpus.ids)[200]
    keys = dict(db.rows("SELECT hub_id, row_key FROM models WHERE id IN (:a, :b)", a=a, b=b))
    corpus.rename_to({a: b, b: a})
    run = sync(config(hub, db))
    assert (run["rows_renamed"], run["rows_inserted"]) == (2, 0)
    assert dict(db.rows("SELECT hub_id, row_key FROM models WHERE id IN (:a, :b)", a=a, b=b)) == keys
    assert db.rows("SELECT count(*) FROM models WHERE id LIKE '% (moving)'") == [(0,)]
    assert_catalog_equals_corpus(hub, db)


def test_a_repo_renamed_to_the_name_of_a_deleted_one_takes_its_id_and_the_old_row_steps_aside(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    a, b = sorted(corpus.ids)[100], sorted(corpus.ids)[200]
    [(b_hub_id, b_key)] = db.rows("SELECT hub_id, row_key FROM models WHERE id = :b", b=b)
    corpus.delete(ids=[b])
    corpus.rename_to({a: b})
    run = sync(config(hub, db))
    assert (run["rows_renamed"], run["rows_deleted"], run["rows_inserted"]) == (1, 1, 0)
    assert_catalog_equals_corpus(hub, db)
    assert db.rows("SELECT count(*) FROM models GROUP BY hub_id HAVING count(*) > 1") == []
    [(aside, deleted_at)] = db.rows("SELECT id, deleted_at FROM models WHERE row_key = :key", key=b_key)
    assert aside == f"{b} (replaced; hub_id {b_hub_id})" and deleted_at is not None
    assert [tuple(row) for row in db.rows("SELECT change, repo_id FROM changes WHERE hub_id = :h AND change "
                                          "= 'delete'", h=b_hub_id)] == [("delete", b)]


def test_a_row_moved_aside_and_renamed_a_page_later_keeps_its_history_and_its_name_in_the_log(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    a, b = sorted(corpus.ids)[100], sorted(corpus.ids)[200]
    [(b_hub_id, b_key)] = db.rows("SELECT hub_id, row_key FROM models WHERE id = :b", b=b)
    corpus.rename_to({b: b + "-v2"})
    corpus.modify(60)  # more than a page between them
    corpus.rename_to({a: b})  # a takes b's old name: it is listed a page before b's new one
    sync(config(hub, db, max_pages=1))
    sync(config(hub, db, lane="reconcile"))  # sees b's hub_id listed, but cannot know its new id
    assert db.rows("SELECT count(*) FROM models WHERE deleted_at IS NULL AND id LIKE '% (replaced%'") == [(0,)]
    sync(config(hub, db))
    assert_catalog_equals_corpus(hub, db)
    assert db.rows("SELECT id FROM models WHERE row_key = :key", key=b_key) == [(b + "-v2",)]
    assert sorted(db.rows("SELECT old_id, new_id FROM renames")) == sorted([(b, b + "-v2"), (a, b)])
    assert [tuple(row) for row in db.rows("SELECT change, repo_id, previous_id FROM changes WHERE hub_id = :h "
                                          "AND change != 'insert' ORDER BY seq", h=b_hub_id)] == [
        ("delete", b, None), ("rename", b + "-v2", b), ("undelete", b + "-v2", None)]


def test_a_rotation_of_three_names_and_a_chain_in_one_page(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    a, b, c, d, e = sorted(corpus.ids)[100:105]
    corpus.rename_to({a: b, b: c, c: a, d: e, e: e + "-x"})
    run = sync(config(hub, db))
    assert (run["rows_renamed"], run["rows_inserted"], run["rows_deleted"]) == (5, 0, 0)
    assert_catalog_equals_corpus(hub, db)
    assert db.rows("SELECT count(*) FROM models WHERE id LIKE '% (%'") == [(0,)]


def test_renames_work_for_spaces_too(hub, db):
    sync(config(hub, db, kind="spaces"))
    renamed = hub.corpora["spaces"].rename(3)
    assert sync(config(hub, db, kind="spaces"))["rows_renamed"] == 3
    assert_catalog_equals_corpus(hub, db, "spaces")
    assert len(renamed) == 3


def test_two_rows_sharing_a_hub_id_cannot_fail_a_page(db):
    engine = open_catalog(db.url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    twins = [map_model({"_id": "same", "id": "a/one"}), map_model({"_id": "same", "id": "a/two"})]
    with engine.begin() as conn:
        upsert_repos(conn, "models", twins, now=now)
        counts = upsert_repos(conn, "models", [map_model({"_id": "same", "id": "a/three"})], now=now)
    assert counts.renamed == 1
    with engine.connect() as conn:
        assert sorted(conn.execute(models.select().with_only_columns(models.c.id)).scalars()) == ["a/three", "a/two"]


def test_a_page_listing_one_hub_id_twice_still_renames_the_known_row(db):
    engine = open_catalog(db.url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        upsert_repos(conn, "models", [map_model({"_id": "H", "id": "a/a"})], now=now)
        page = [map_model({"_id": "H", "id": "a/a"}), map_model({"_id": "H", "id": "b/b"})]
        counts = upsert_repos(conn, "models", page, now=now)
    assert counts.renamed == 1, "the known row follows its hub_id, as on any page with a rename"
    assert db.rows("SELECT id, row_key FROM models WHERE hub_id = 'H' ORDER BY id") == [("a/a", 2), ("b/b", 1)]
    engine.dispose()


def test_status_json_shows_deleted_and_renamed_counts(hub, db):
    sync(config(hub, db))
    hub.corpora["models"].rename(2)
    sync(config(hub, db))
    result = CliRunner().invoke(main, ["status", "--db", str(db), "--json"])
    last = json.loads(result.stdout)[0]["last_run"]
    assert last["rows_renamed"] == 2 and "rows_deleted" in last
    assert [r["status"] for r in runs(db)] == ["ok", "ok"]


def test_reconcile_finds_deletions_with_ids_only(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    gone = set(corpus.delete(15))
    renamed = corpus.rename(3)
    first = len(hub.requests)
    run = sync(config(hub, db, lane="reconcile"))
    assert (run["mode"], run["scope"], run["rows_deleted"]) == ("reconcile", "models:reconcile", 15)
    assert deleted(db) == gone, "a renamed repo is seen by its hub_id, so it is not deleted"
    walked = list(hub.requests)[first:]
    assert all(r.param("sort") == "createdAt" and [v for k, v in r.params if k == "expand"] == ["createdAt"]
               for r in walked)
    assert len(walked) == -(-(800 - 15) // 50), "one walk of ids, no catch-up"
    assert sync(config(hub, db))["rows_renamed"] == len(renamed)  # the main lane still does the rename


def test_an_interrupted_reconcile_marks_nothing_and_resumes(hub, db):
    sync(config(hub, db))
    gone = set(hub.corpora["models"].delete(5))
    assert sync(config(hub, db, lane="reconcile", max_pages=3))["rows_deleted"] == 0
    assert deleted(db) == set()
    assert sync(config(hub, db))["mode"] == "incremental", "the main walk has its own state"
    run = sync(config(hub, db, lane="reconcile"))
    assert run["mode"] == "resume" and run["rows_deleted"] == 5 and deleted(db) == gone


def test_full_and_reconcile_together_is_a_usage_error(db):
    result = CliRunner().invoke(main, ["sync", "--db", str(db), "--full", "--reconcile"])
    assert result.exit_code == 2 and "choose one" in result.stderr
