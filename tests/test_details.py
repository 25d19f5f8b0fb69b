"""The details lane: file sizes and hashes and a model's usedStorage, baseModels and childrenModelCount,
fetched per repo only when its commit moved, for the repos ``--where`` selects; parameters,
safetensors and config come with the listing."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
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
from harvester.store import fields as field_store
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


def served_lineage(hub: HubEmulator) -> dict[str, tuple]:
    """Every live model's (childrenModelCount, baseModels as {(relation, id)}) as the emulator serves them."""
    corpus = hub.corpora["models"]
    lineage = {}
    for j in corpus.live():
        bases = PROPERTIES["baseModels"](corpus, j) or {"models": []}
        lineage[corpus.ids[j]] = (PROPERTIES["childrenModelCount"](corpus, j),
                                  {(bases["relation"], base["id"]) for base in bases["models"]})
    return lineage


def stored_lineage(db) -> dict[str, tuple]:
    bases: dict[str, set] = {}
    for model_id, relation, base_id, base_repo_id in db.rows("SELECT * FROM hub_base_models"):
        assert base_repo_id == base_id, "the Hub names repos that exist, all in the catalog"
        bases.setdefault(model_id, set()).add((relation, base_id))
    return {model_id: (children, bases.get(model_id, set()))
            for model_id, children in db.rows("SELECT id, children_model_count FROM models_current")}


def expand_of(request) -> set[str]:
    return {value for key, value in request.params if key == "expand"}


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


def test_one_request_per_model_gives_its_hub_lineage_beside_the_graph_its_item_states(hub, db):
    sync(config(hub, db))
    links = db.rows("SELECT * FROM links ORDER BY source_id, target_id")
    assert db.rows("SELECT count(*) FROM models WHERE children_model_count IS NOT NULL") == [(0,)]
    run = sync(config(hub, db, lane="details"))
    assert run["requests"] == 260, "one request per model, as for its files alone"
    lineage = stored_lineage(db)
    assert lineage == served_lineage(hub)
    assert sum(1 for _, bases in lineage.values() if bases) > 50 and max(c for c, _ in lineage.values()) > 5
    for request in hub.repo_requests():
        assert request.param("blobs") == "true"
        assert expand_of(request) == {"sha", "siblings", "usedStorage", "baseModels", "childrenModelCount"}
    assert stored_files(db) == expected_files(hub), "sizes and hashes from the same answer"
    assert db.rows("SELECT * FROM links ORDER BY source_id, target_id") == links, "the item's edges stay its own"
    changes = db.rows("SELECT fields FROM changes WHERE run_id = :run", run=run["id"])
    assert all("children_model_count" in json.loads(f) for (f,) in changes)
    assert sum("base_models" in json.loads(f) for (f,) in changes) == sum(1 for _, b in lineage.values() if b)


def test_a_new_commit_refetches_the_lineage_and_the_change_log_names_what_moved(hub, db):
    sync(config(hub, db))
    sync(config(hub, db, lane="details"))
    corpus = hub.corpora["models"]
    before = served_lineage(hub)
    moved = corpus.relineage(40)  # commits that rewrite the card's base_model
    parents = {corpus.ids[j] for j in corpus.live()
               if served_lineage(hub)[corpus.ids[j]][0] != before[corpus.ids[j]][0]} - set(moved)
    assert parents, "their children moved: the Hub's count moves without a commit of theirs"
    sync(config(hub, db))
    run = sync(config(hub, db, lane="details"))
    assert run["requests"] == len(moved)
    stale = stored_lineage(db)
    assert all(stale[repo] == served_lineage(hub)[repo] for repo in moved)
    assert all(stale[repo][0] == before[repo][0] for repo in parents), "as of its last details fetch"
    rebased = {repo for repo in moved if served_lineage(hub)[repo][1] != before[repo][1]}
    assert rebased
    logged = {repo: set(json.loads(f)) for repo, f in db.rows(
        "SELECT repo_id, fields FROM changes WHERE run_id = :run", run=run["id"])}
    assert {repo for repo, fields in logged.items() if "base_models" in fields} == rebased
    assert all({"files", "files_sha"} <= fields for fields in logged.values())
    corpus.modify(ids=sorted(parents))
    sync(config(hub, db))
    run = sync(config(hub, db, lane="details"))
    now = served_lineage(hub)
    assert all(stored_lineage(db)[repo] == now[repo] for repo in parents)
    logged = {repo for repo, f in db.rows("SELECT repo_id, fields FROM changes WHERE run_id = :run", run=run["id"])
              if "children_model_count" in json.loads(f)}
    assert logged == {repo for repo in parents if now[repo][0] != stale[repo][0]} and logged


def test_a_hub_refusing_expand_beside_blobs_costs_a_second_request_per_model_not_the_run(hub, db):
    sync(config(hub, db))
    hub.faults.add("refuse-blobs-expand")
    run = sync(config(hub, db, lane="details"))
    assert (run["status"], run["rows_updated"]) == ("ok", 260)
    assert run["requests"] == 3 + 2 * 260, "the refusal, a probe without the extras, one with blobs alone; then two"
    assert stored_files(db) == expected_files(hub) and stored_lineage(db) == served_lineage(hub)
    asked = [(r.param("blobs"), expand_of(r)) for r in hub.repo_requests() if r.status == 200]
    assert asked.count(("true", set())) == 1 + 260, "the probe, then each model's files"
    assert asked.count((None, {"baseModels", "childrenModelCount"})) == 260
    assert db.rows("SELECT count(*) FROM refused_fields") == [(0,)], "no value was refused, only the pair"


def test_a_hub_ignoring_blobs_beside_expand_is_noticed_and_the_files_still_get_sizes(hub, db):
    sync(config(hub, db))
    hub.faults.add("ignore-blobs-expand")
    run = sync(config(hub, db, lane="details"))
    assert run["status"] == "ok" and run["requests"] == 1 + 2 * 260
    assert stored_files(db) == expected_files(hub) and stored_lineage(db) == served_lineage(hub)


def test_a_refused_extra_is_left_out_recorded_and_the_rest_stored(hub, db, monkeypatch):
    sync(config(hub, db))
    hub.faults.refuse_expand("childrenModelCount", repo_pages=True)
    run = sync(config(hub, db, lane="details"))
    assert (run["status"], run["rows_updated"]) == ("ok", 260)
    assert run["requests"] == 260 + 5, "the refusal and four probes find the value; then one request each"
    assert [field for (field,) in db.rows("SELECT field FROM refused_fields")] == ["childrenModelCount"]
    served = served_lineage(hub)
    assert stored_lineage(db) == {repo: (None, bases) for repo, (_, bases) in served.items()}
    assert stored_files(db) == expected_files(hub)
    corpus = hub.corpora["models"]
    moved = corpus.modify(5)
    sync(config(hub, db))
    hub.requests.clear()
    assert sync(config(hub, db, lane="details"))["requests"] == 5, "not asked again within a day"
    assert all("childrenModelCount" not in expand_of(r) for r in hub.repo_requests())
    hub.faults.allow_expand("childrenModelCount")
    monkeypatch.setattr(field_store, "RETRY_REFUSED", timedelta(0))
    corpus.modify(ids=moved)
    sync(config(hub, db))
    assert sync(config(hub, db, lane="details"))["requests"] == 5
    assert all(stored_lineage(db)[repo] == served_lineage(hub)[repo] for repo in moved)
    assert db.rows("SELECT count(*) FROM refused_fields") == [(0,)], "answered again: forgotten"


def test_a_hub_that_answers_only_blobs_alone_still_gives_the_files(hub, db):
    sync(config(hub, db))
    hub.faults.refuse_expand("sha", repo_pages=True)  # the commit itself: the lane cannot do without it
    hub.faults.add("refuse-blobs-expand")
    hub.faults.add("refuse-repo-expand=baseModels+childrenModelCount")
    run = sync(config(hub, db, lane="details"))
    assert run["status"] == "ok" and stored_files(db) == expected_files(hub), "blobs alone still answers"
    assert stored_lineage(db) == {repo: (None, set()) for repo in served_lineage(hub)}


def test_a_400_that_neither_the_extras_nor_the_pair_explain_fails_the_run(hub, db):
    from harvester.errors import HubError

    sync(config(hub, db))
    hub.faults.add("400")
    with pytest.raises(HubError, match="HTTP 400"):
        sync(config(hub, db, lane="details"))
    assert len(hub.repo_requests()) == 3, "the request, the probe without the extras, the page with blobs alone"


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
    {"id": "a/b", "sha": "1", "childrenModelCount": 1.5},
    {"id": "a/b", "siblings": []},
])
def test_malformed_repo_pages_are_rejected_with_a_reason(item):
    with pytest.raises(RejectedItem):
        map_details("models", item)


@pytest.mark.parametrize(("value", "expected"), [
    ({"relation": "quantized", "models": [{"_id": "x", "id": "org/base"}, {"id": "org/other"}]},
     [(3, "org/base"), (3, "org/other")]),
    ({"relation": "distilled", "models": [{"id": "org/base"}, {"id": "org/base"}]}, [(1, "org/base")]),
    (["org/base", " org/other ", 7, ""], [(1, "org/base"), (1, "org/other")]),
    ({"relation": "merge", "models": "org/base"}, []), ("org/base", []), (None, []),
])
def test_the_hubs_base_models_in_either_shape_and_junk_rejecting_nothing(value, expected):
    details = map_details("models", {"id": "a/b", "sha": "1", "baseModels": value})
    assert [(link.relation, link.target) for link in details.bases] == expected
    assert map_details("datasets", {"id": "a/b", "sha": "1", "baseModels": value}).bases is None


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
