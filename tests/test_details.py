"""The details lane: file sizes and hashes and a model's usedStorage, fetched per repo only when its
commit moved, for the repos ``--where`` selects; parameters, safetensors and config come with the listing."""

from __future__ import annotations

import json
import threading
from urllib.parse import unquote

import pytest
from click.testing import CliRunner

from harvester.cli import main
from harvester.details import DETAILS_BATCH
from harvester.emulator import HubEmulator
from harvester.emulator.items import PROPERTIES, siblings_with_blobs
from harvester.errors import ConfigError, Interrupted
from harvester.lanes import lane_of
from harvester.mapping import RejectedItem, map_details
from harvester.sync import sync
from helpers import config


@pytest.fixture
def hub(make_hub):
    """An emulator of each test's own: the tests here change its corpus or its faults."""
    return make_hub(models=260, datasets=40, seed=71)


def expected_files(hub: HubEmulator, kind: str = "models") -> dict[str, set[tuple]]:
    """Every live repo's files as the emulator serves them: (path, size, lfs sha256)."""
    corpus = hub.corpora[kind]
    return {corpus.ids[j]: {(s["rfilename"], s["size"], s.get("lfs", {}).get("sha256"))
                            for s in siblings_with_blobs(corpus, j)} for j in corpus.live()}


def stored_files(db, kind: str = "models") -> dict[str, set[tuple]]:
    key = f"{kind[:-1]}_id"
    files: dict[str, set[tuple]] = {}
    for repo_id, *file in db.rows(f"SELECT {key}, path, size, lfs_sha256 FROM {kind[:-1]}_files"):
        files.setdefault(repo_id, set()).add(tuple(file))
    return files


def repo_paths(hub: HubEmulator, kind: str = "models") -> list[str]:
    return [unquote(r.path).removeprefix(f"/api/{kind}/") for r in hub.repo_requests(kind)]


def test_first_details_run_fetches_every_repo_once_and_stores_its_files(hub, db):
    sync(config(hub, db))
    listed = db.rows("SELECT id, parameters, safetensors, config FROM models ORDER BY id")
    run = sync(config(hub, db, lane="details"))
    assert db.rows("SELECT id, parameters, safetensors, config FROM models ORDER BY id") == listed, "the listing's"
    corpus = hub.corpora["models"]
    assert dict(db.rows("SELECT id, used_storage FROM models")) == {
        corpus.ids[j]: PROPERTIES["usedStorage"](corpus, j) for j in corpus.live()}
    assert (run["scope"], run["mode"], run["complete"], run["status"]) == ("models:details", "details", True, "ok")
    assert sorted(repo_paths(hub)) == sorted(hub.corpora["models"].ids)
    assert run["requests"] == 260 and run["rows_updated"] == 260
    assert run["pages"] == -(-260 // DETAILS_BATCH)
    assert stored_files(db) == expected_files(hub)
    rows = {r[0]: r[1:] for r in db.rows("SELECT id, files_sha = sha, parameters, safetensors, config FROM models")}
    corpus = hub.corpora["models"]
    for j in corpus.live():
        safetensors, config_ = PROPERTIES["safetensors"](corpus, j), PROPERTIES["config"](corpus, j)
        same_sha, parameters, stored_safetensors, stored_config = rows[corpus.ids[j]]
        assert (same_sha, parameters) == (1, safetensors and safetensors["total"])
        assert [json.loads(v) if v else None for v in (stored_safetensors, stored_config)] == [safetensors, config_]


def test_details_fetch_only_repos_whose_sha_moved(hub, db):
    sync(config(hub, db))
    sync(config(hub, db, lane="details"))
    hub.requests.clear()
    assert sync(config(hub, db, lane="details"))["requests"] == 0, "nothing moved: not one request"

    corpus = hub.corpora["models"]
    moved = corpus.modify(6)
    corpus.bump_counters(30)  # counters move without a commit: no refetch
    sync(config(hub, db))
    hub.requests.clear()
    run = sync(config(hub, db, lane="details"))
    assert sorted(repo_paths(hub)) == sorted(moved)
    assert run["rows_updated"] == 6
    assert stored_files(db) == expected_files(hub), "the six repos' files follow their new commit"


def test_a_listing_sync_keeps_the_heavy_fields_until_the_details_lane_replaces_them(hub, db):
    sync(config(hub, db))
    sync(config(hub, db, lane="details"))
    corpus = hub.corpora["models"]
    [repo] = corpus.modify(ids=[next(corpus.ids[j] for j in corpus.live() if PROPERTIES["safetensors"](corpus, j))])
    sync(config(hub, db))
    [(sha, files_sha, parameters, files)] = db.rows(
        "SELECT sha, files_sha, parameters, (SELECT count(*) FROM model_files WHERE model_id = id) "
        "FROM models WHERE id = :repo", repo=repo)
    assert sha == corpus.sha(corpus.position(repo)) != files_sha, "due for the details lane"
    assert parameters is not None and files > 0, "the old commit's details stay until replaced"


def test_max_repos_bounds_a_run_newest_first_and_the_next_run_goes_on(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    newest = sorted(corpus.live(), key=lambda j: (corpus.modified[j], corpus.ids[j]), reverse=True)
    first = sync(config(hub, db, lane="details", max_repos=7))
    assert (first["requests"], first["complete"]) == (7, False)
    assert repo_paths(hub) == [corpus.ids[j] for j in newest[:7]]
    hub.requests.clear()
    second = sync(config(hub, db, lane="details", max_repos=1000))
    assert (second["requests"], second["complete"]) == (253, True)
    assert stored_files(db) == expected_files(hub)


def test_a_repo_gone_since_the_listing_is_skipped_and_left_to_the_deletion_walks(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    [gone] = corpus.delete(1)
    run = sync(config(hub, db, lane="details"))
    assert (run["status"], run["rows_rejected"], run["rows_updated"]) == ("ok", 1, 259)
    assert gone not in stored_files(db)
    assert db.rows("SELECT deleted_at FROM models WHERE id = :gone", gone=gone) == [(None,)]
    sync(config(hub, db, lane="reconcile"))
    hub.requests.clear()
    assert sync(config(hub, db, lane="details"))["requests"] == 0, "a deleted repo is no longer due"


def test_a_repo_disabled_since_the_listing_is_skipped_and_the_rest_stored(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    newest = max(corpus.live(), key=lambda j: (corpus.modified[j], corpus.ids[j]))
    corpus.disabled[newest] = 1  # the Hub refuses its page with 403 "Access to this resource is disabled."
    run = sync(config(hub, db, lane="details"))
    assert (run["status"], run["rows_rejected"], run["rows_updated"]) == ("ok", 1, 259)
    sync(config(hub, db, full=True))  # the listing now says disabled: it is no longer due
    hub.requests.clear()
    assert sync(config(hub, db, lane="details"))["requests"] == 0


def test_transient_failures_on_repo_pages_are_retried(hub, db):
    sync(config(hub, db))
    hub.faults.add("503,every=9")
    hub.faults.add("drop,every=13")
    run = sync(config(hub, db, lane="details"))
    assert run["status"] == "ok" and run["retries"] > 0
    assert stored_files(db) == expected_files(hub)


def test_a_bad_token_fails_fast_instead_of_skipping_repos(db, make_hub):
    hub = make_hub(models=30, seed=3)
    sync(config(hub, db, token="good"))
    hub.tokens = {"good"}
    with pytest.raises(Exception, match="401"):
        sync(config(hub, db, lane="details", token="bad"))
    assert len(hub.repo_requests()) == 1


def test_a_stop_commits_the_batch_in_hand_and_the_next_run_finishes(hub, db):
    sync(config(hub, db))
    stop = threading.Event()
    with pytest.raises(Interrupted):
        sync(config(hub, db, lane="details"), stop=stop, on_page=lambda stats: stop.set())
    assert len(stored_files(db)) == DETAILS_BATCH
    hub.requests.clear()
    sync(config(hub, db, lane="details"))
    assert len(hub.repo_requests()) == 260 - DETAILS_BATCH
    assert stored_files(db) == expected_files(hub)


def test_datasets_have_files_too(hub, db):
    sync(config(hub, db, kind="datasets"))
    run = sync(config(hub, db, kind="datasets", lane="details"))
    assert run["scope"] == "datasets:details" and run["rows_updated"] == 40
    assert stored_files(db, "datasets") == expected_files(hub, "datasets")


def test_details_refuse_scope_filters_and_other_lanes(hub, db):
    with pytest.raises(ConfigError, match="scope filters"):
        config(hub, db, lane="details", author="x")
    with pytest.raises(ConfigError, match="choose one"):
        config(hub, db, lane="details", full=True)
    with pytest.raises(ConfigError, match="choose one"):
        lane_of(details=True, stats=True)


@pytest.mark.parametrize("item", [
    {"id": "a/b", "sha": "1", "siblings": "nope"},
    {"id": "a/b", "sha": "1", "siblings": [{"size": 3}]},
    {"id": "a/b", "sha": "1", "siblings": [{"rfilename": "x", "size": 2**70}]},
    {"id": "a/b", "sha": "1", "siblings": [{"rfilename": "x", "lfs": []}]},
    {"id": "a/b", "sha": "1", "usedStorage": "big"},
    {"id": "a/b", "siblings": []},
])
def test_malformed_repo_pages_are_rejected_with_a_reason(item):
    with pytest.raises(RejectedItem):
        map_details("models", item)


def test_cli_details_with_a_budget(hub, db):
    sync(config(hub, db))
    result = CliRunner().invoke(main, ["sync", "--db", str(db), "--endpoint", hub.url, "--details",
                                       "--max-repos", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert '"mode": "details"' in result.stdout and len(hub.repo_requests()) == 3


def test_where_spends_the_requests_on_the_repos_it_selects(hub, db):
    sync(config(hub, db))
    busy = {repo_id for (repo_id,) in db.rows("SELECT id FROM models WHERE downloads >= 1000")}
    assert 0 < len(busy) < 260
    run = sync(config(hub, db, lane="details", where="downloads >= 1000"))
    assert set(repo_paths(hub)) == busy and run["requests"] == len(busy)
    assert db.rows("SELECT count(*) FROM models WHERE files_sha IS NOT NULL") == [(len(busy),)]
    assert db.rows("SELECT count(*) FROM models WHERE files_sha IS NULL") == [(260 - len(busy),)], "the backlog"


@pytest.mark.parametrize("where", [
    "1=1; DELETE FROM models", "load_extension('x') IS NULL", "(DELETE FROM models RETURNING 1)",
    "1 = (SELECT 1 FROM (SELECT nextval('sync_runs_id_seq')) s)", "nonsense_column > 1", "1 = 1 --", " ",
])
def test_where_refuses_anything_but_a_read_only_expression(hub, db, where):
    sync(config(hub, db))
    rows = db.rows("SELECT count(*), sum(downloads) FROM models")
    with pytest.raises(ConfigError):
        sync(config(hub, db, lane="details", where=where))
    assert db.rows("SELECT count(*), sum(downloads) FROM models") == rows
    assert not repo_paths(hub), "not one request"
