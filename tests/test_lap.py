"""The verification lap: plain syncs alone keep every column true, even what the Hub changes
without a commit (Hub-computed tags, gating, inferred tasks, counters, repos made private)."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from harvester.cli import main
from harvester.emulator import Quota, items
from harvester.emulator.corpus import PLACEHOLDER_MS
from harvester.errors import Locked
from harvester.kinds import GROUP_FIELDS, KINDS
from harvester.lanes import SEEN_MARGIN
from harvester.mapping import map_item
from harvester.store import clock
from harvester.store.clock import wall_clock as now
from harvester.store.engine import open_catalog
from harvester.store.status import scope_status
from harvester.sync import sync, sync_kind
from helpers import PAGE, assert_catalog_equals_corpus, assert_raw_agrees_with_columns, config, runs

MODELS = 600
LAP = math.ceil(MODELS / PAGE)  # pages in one lap


@pytest.fixture
def hub(make_hub):
    """An emulator of each test's own: the tests here change its corpus or its faults."""
    return make_hub(models=MODELS, datasets=150, seed=41)


def plain_sync(hub, db, budget: int, **overrides) -> list[dict]:
    return list(sync_kind(config(hub, db, verify_pages=budget, **overrides)))


def listed_items(hub, kind: str = "models") -> dict[str, dict]:
    """Every live repo as the lap asks for it (its full expand), straight from the emulator."""
    corpus = hub.corpora[kind]
    fields = items.field_set(kind, expand=KINDS[kind].listing_fields, full=False, card_data=False)
    return {corpus.ids[j]: items.render(corpus, j, fields) for j in corpus.live()}


def assert_every_column_equals_the_hub(hub, db, kind: str = "models") -> None:
    """Live rows equal the corpus column by column and tag by tag, their raw item is the one the
    Hub serves now, and exactly the repos the Hub does not list are marked deleted."""
    assert_catalog_equals_corpus(hub, db, kind)
    expected = listed_items(hub, kind)
    stored = {repo_id: json.loads(raw) for repo_id, raw in db.rows(
        f"SELECT v.id, CAST(v.raw AS TEXT) FROM {kind}_raw v JOIN {kind} r ON r.id = v.id WHERE r.deleted_at IS NULL")}
    assert stored == expected
    assert_raw_agrees_with_columns(db, kind)


def lap_requests(hub, kind: str = "models") -> list:
    return [r for r in hub.listing_requests(kind) if r.param("sort") == "createdAt"]


def test_plain_syncs_alone_make_every_column_equal_the_hub_within_one_lap(hub, db):
    budget = 4
    plain_sync(hub, db, budget)
    corpus = hub.corpora["models"]
    hidden = corpus.make_private(8)
    drifted = corpus.drift(250)
    corpus.modify(30)
    corpus.add(20)
    gone = corpus.delete(10)
    renamed = dict(corpus.rename(5))
    # The lap under way ends, then one whole lap begins after the changes and ends too.
    laps = 0
    for _ in range(2 * math.ceil((LAP + 1) / budget)):
        laps += plain_sync(hub, db, budget)[1]["complete"]
        if laps == 2:
            break
    assert laps == 2
    assert_every_column_equals_the_hub(hub, db)
    marked = {row[0] for row in db.rows("SELECT id FROM models WHERE deleted_at IS NOT NULL")}
    assert marked == set(hidden) | set(gone)
    logged = {row[0] for row in db.rows("SELECT repo_id FROM changes WHERE change = 'update'")}
    silent = set(drifted) - set(hidden) - set(gone) - set(renamed)
    assert silent and silent <= logged, "each silent change reached the change log"


def test_each_run_spends_at_most_its_budget_on_the_lap(hub, db):
    plain_sync(hub, db, 3)
    hub.corpora["models"].drift(100)
    for _ in range(LAP):
        before = len(lap_requests(hub))
        walk, lap = plain_sync(hub, db, 3)
        assert len(lap_requests(hub)) - before == lap["requests"] <= 3
        assert (lap["scope"], lap["mode"]) == ("models:verify", "verify") and walk["scope"] == "models"
    assert [run["pages"] for run in runs(db) if run["scope"] == "models:verify"][:LAP // 3] == [3] * (LAP // 3)
    [only] = plain_sync(hub, db, 0)
    assert only["scope"] == "models" and runs(db)[-1]["scope"] == "models", "--verify-pages 0: no lap at all"


def test_silent_changes_are_logged_as_updates_naming_the_fields_that_changed(hub, db):
    plain_sync(hub, db, LAP + 1)  # the first lap ends within the first run
    before = listed_items(hub)
    drifted = hub.corpora["models"].drift(120)
    after = listed_items(hub)
    [(since,)] = db.rows("SELECT max(seq) FROM changes")
    walk, lap = plain_sync(hub, db, LAP + 1)
    assert walk["rows_updated"] < 5, "no commit: the incremental walk re-reads only the repos near its top"
    assert lap["complete"] and walk["rows_updated"] + lap["rows_updated"] == len(drifted)
    logged = {repo_id: (change, set(json.loads(fields))) for repo_id, change, fields in db.rows(
        "SELECT repo_id, change, fields FROM changes WHERE seq > :since", since=since)}
    for repo_id in drifted:
        old, new = map_item("models", before[repo_id]), map_item("models", after[repo_id])
        fields = {name for name in new.row if name not in ("raw_extra", "item_hash") and new.row[name] != old.row[name]}
        fields |= {"tags"} if new.tags != old.tags else set()
        # and the group fields kept whole that moved with them (transformersInfo names the inferred task)
        fields |= {name for name in GROUP_FIELDS if before[repo_id].get(name) != after[repo_id].get(name)}
        assert logged[repo_id] == ("update", fields), repo_id
    assert Counter(f for _, fs in logged.values() for f in fs)["tags"] == len(drifted)


def test_a_private_repo_is_marked_deleted_by_a_lap_and_undeleted_when_public_again(hub, db):
    plain_sync(hub, db, LAP + 1)
    corpus = hub.corpora["models"]
    hidden = corpus.make_private(3)
    walk, lap = plain_sync(hub, db, LAP + 1)
    assert lap["complete"] and lap["rows_deleted"] == 3
    assert db.rows("SELECT id FROM models WHERE deleted_at IS NOT NULL ORDER BY id") == [(r,) for r in sorted(hidden)]
    corpus.make_public(hidden)
    assert plain_sync(hub, db, 2)[0]["rows_updated"] == 0, "no commit: the listing walk cannot see them back"
    plain_sync(hub, db, LAP)
    assert db.rows("SELECT count(*) FROM models WHERE deleted_at IS NOT NULL") == [(0,)]
    events = db.rows("SELECT change, repo_id FROM changes WHERE change IN ('delete', 'undelete') ORDER BY seq")
    assert events[:3] == [("delete", r) for r in sorted(hidden)]
    assert sorted(events[3:]) == [("undelete", r) for r in sorted(hidden)]
    assert_every_column_equals_the_hub(hub, db)


def test_repos_renamed_or_modified_while_a_lap_goes_on_are_never_marked_deleted(hub, db):
    plain_sync(hub, db, 0)
    corpus = hub.corpora["models"]
    oldest_first = sorted(corpus.live(), key=lambda j: (corpus.created[j], j))
    moved: list[str] = []

    def meddle(stats) -> None:  # ahead of the lap's cursor and behind it, at every page
        ahead, behind = corpus.ids[oldest_first[stats.pages]], corpus.ids[oldest_first[-stats.pages]]
        moved.extend(new for _, new in corpus.rename(ids=[ahead, behind]))
        corpus.modify(ids=[corpus.ids[oldest_first[stats.pages + 10]]])
        corpus.add(1)

    lap = sync(config(hub, db, lane="verify", max_pages=LAP + 5, pages_per_commit=1), on_page=meddle)
    assert lap["complete"] and lap["rows_deleted"] == 0 and moved
    assert db.rows("SELECT count(*) FROM models WHERE deleted_at IS NOT NULL") == [(0,)]
    plain_sync(hub, db, 0)  # the renames and commits behind the cursor come with the incremental walk
    assert_catalog_equals_corpus(hub, db)


def test_a_scoped_lap_verifies_its_slice_but_never_marks_deletions(hub, db):
    corpus = hub.corpora["models"]
    author = Counter(corpus.author(j) for j in corpus.live()).most_common(1)[0][0]
    plain_sync(hub, db, 5, author=author)
    mine = [corpus.ids[j] for j in corpus.live() if corpus.author(j) == author]
    corpus.make_private(ids=mine[:1])
    corpus.drift(ids=mine[1:])
    walk, lap = plain_sync(hub, db, 5, author=author)
    assert lap["scope"] == f"models?author={author}:verify" and lap["complete"] and lap["rows_deleted"] == 0
    assert lap["rows_updated"] >= 1


def test_a_lap_killed_mid_page_resumes_from_its_cursor(hub, db):
    plain_sync(hub, db, 0)
    hub.corpora["models"].drift(200)
    hub.faults.add("slow=0.05")
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HARVESTER_DB": db.url}
    command = [sys.executable, "-m", "harvester", "sync", "--page-size", str(PAGE), "--verify-pages", str(LAP)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        lap = [run for run in runs(db) if run["scope"] == "models:verify"]
        if lap and lap[-1]["pages"] >= 3:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = [run for run in runs(db) if run["scope"] == "models:verify"][-1]["pages"]
    assert 3 <= done < LAP, "killed in the middle of the lap"
    hub.faults.clear()
    before = len(lap_requests(hub))
    walk, lap = plain_sync(hub, db, LAP)
    first = lap_requests(hub)[before]
    assert first.param("cursor"), "the lap went on from its cursor, not from the top"
    assert lap["complete"] and lap["pages"] == LAP - done
    assert [run["status"] for run in runs(db) if run["scope"] == "models:verify"] == ["abandoned", "ok"]
    assert_every_column_equals_the_hub(hub, db)


def test_status_shows_the_lap_and_the_staleness_bound(hub, db):
    [first_walk] = plain_sync(hub, db, 4)  # a full walk: it read everything, so it was a lap
    engine = open_catalog(db.url)

    def models() -> dict:
        [report] = [s for s in scope_status(engine, now=now(), lap_suffix="verify") if s["scope"] == "models"]
        return report

    assert models()["lap"]["last_finished_at"] == first_walk["finished_at"]
    plain_sync(hub, db, 4)
    lap = models()["lap"]
    assert (lap["pages_done"], lap["pages_per_run"], lap["pages_left"]) == (4, 4, LAP - 4)
    assert lap["runs_to_finish"] == math.ceil((LAP - 4) / 4) and lap["last_finished_at"] == first_walk["finished_at"]
    assert models()["live_rows"] == MODELS and models()["unverified_rows"] == 0
    assert datetime.fromisoformat(models()["oldest_verified_at"]) <= datetime.fromisoformat(first_walk["finished_at"])
    for _ in range(math.ceil((LAP - 4) / 4)):
        plain_sync(hub, db, 4)
    assert models()["lap"]["last_finished_at"] > first_walk["finished_at"] and models()["lap"]["pages_done"] == 0
    assert datetime.fromisoformat(models()["oldest_verified_at"]) > datetime.fromisoformat(first_walk["finished_at"])
    engine.dispose()
    text = CliRunner().invoke(main, ["status", "--db", db.url])
    assert text.exit_code == 0 and "within one lap" in text.output and f"{MODELS:,}" in text.output


def test_a_first_sync_reads_every_page_once_and_counts_as_a_lap(hub, db):
    [walk] = plain_sync(hub, db, 12)
    assert walk["mode"] == "full" and walk["complete"]
    assert not lap_requests(hub), "the walk verified every row it read: no lap re-reads them in the same run"
    cursors = [r.param("cursor") for r in hub.listing_requests()]
    assert len(cursors) == walk["requests"] == LAP + 1, "the walk, then the catch-up's one page from the top"
    assert len(set(cursors)) == LAP, "no page read twice but the top, where rows modified meanwhile moved"
    walk, lap = plain_sync(hub, db, 3)
    assert (lap["scope"], lap["pages"]) == ("models:verify", 3), "the next run laps as before"


def test_a_lap_proves_deletions_among_repos_sharing_the_placeholder_created_at_by_their_ids(hub, db):
    corpus = hub.corpora["models"]
    tied = sorted((corpus.hub_id(j), corpus.ids[j]) for j in corpus.live() if corpus.created[j] == PLACEHOLDER_MS)
    assert len(tied) >= 20, "the oldest repos share one createdAt, the lap's last pages"
    plain_sync(hub, db, 0, page_size=10)
    gone = set(corpus.delete(ids=[repo_id for _, repo_id in tied[1:12:3]]))
    time.sleep(2 * SEEN_MARGIN.total_seconds())
    pages = math.ceil(sum(1 for _ in corpus.live()) / 10)
    lap = sync(config(hub, db, lane="verify", page_size=10, max_pages=pages - 1))  # not its last page: no sweep
    assert not lap["complete"] and lap["rows_deleted"] == len(gone)
    assert {repo_id for (repo_id,) in db.rows("SELECT id FROM models WHERE deleted_at IS NOT NULL")} == gone


def test_a_repo_deleted_or_hidden_behind_the_lap_leaves_the_live_catalog_within_one_lap(hub, db):
    budget = 3
    plain_sync(hub, db, budget)
    for _ in range(2):
        plain_sync(hub, db, budget)  # the lap is two runs in, a third of the way round
    corpus = hub.corpora["models"]
    gone = set(corpus.delete(20)) | set(corpus.make_private(10))  # behind its cursor and ahead of it
    time.sleep(2 * SEEN_MARGIN.total_seconds())  # hourly runs, compressed: the lap saw them well before
    for _ in range(math.ceil(LAP / budget)):  # one lap's worth of pages from where it stood
        plain_sync(hub, db, budget)
    live = {repo_id for (repo_id,) in db.rows("SELECT id FROM models WHERE deleted_at IS NULL")}
    assert not gone & live, f"{len(gone & live)} of {len(gone)} still live after one lap"
    assert_every_column_equals_the_hub(hub, db)
    logged = {repo_id for (repo_id,) in db.rows("SELECT repo_id FROM changes WHERE change = 'delete'")}
    assert logged == gone


def test_one_pace_for_every_kind_of_a_run(db, make_hub):
    # the models walk (5 pages and its catch-up) spends a whole window
    hub = make_hub(models=100, datasets=100, seed=3, quota=Quota(6, 2.0))
    result = CliRunner().invoke(main, ["sync", "--db", db.url, "--endpoint", hub.url, "--kind", "models",
                                       "--kind", "datasets", "--page-size", "20", "--verify-pages", "0"])
    assert result.exit_code == 0, result.stderr
    assert len(hub.listing_requests("models")) == 6
    assert [r.status for r in hub.requests] == [200] * 12, "the datasets walk knew the window was spent"


def test_a_clock_stepped_back_during_a_lap_never_makes_a_listed_repo_look_deleted(hub, db, monkeypatch):
    plain_sync(hub, db, 0)
    real = clock.wall_clock
    monkeypatch.setattr(clock, "wall_clock", lambda: real() - timedelta(minutes=5))  # NTP stepped it back
    lap = sync(config(hub, db, lane="verify", max_pages=LAP + 1))
    assert lap["complete"] and lap["rows_deleted"] == 0
    assert db.rows("SELECT count(*) FROM models WHERE deleted_at IS NOT NULL") == [(0,)]


def test_a_lap_holds_the_walks_lock_so_no_other_walk_of_the_kind_interleaves(hub, db):
    plain_sync(hub, db, 0)
    refused = []

    def try_a_walk(stats) -> None:
        if not refused and runs(db)[-1]["scope"] == "models:verify":  # during the lap
            with pytest.raises(Locked, match="another run holds 'models'"):
                sync(config(hub, db))
            refused.append(True)

    walk, lap = list(sync_kind(config(hub, db, verify_pages=3), on_page=try_a_walk))
    assert refused and lap["pages"] == 3


def test_max_pages_counts_the_laps_pages_too(hub, db):
    plain_sync(hub, db, 0)
    hub.corpora["models"].modify(PAGE + 1)  # the next walk takes two pages
    walk, lap = plain_sync(hub, db, 12, max_pages=5)
    assert (walk["pages"], lap["pages"]) == (2, 3)
    [walk] = plain_sync(hub, db, 12, max_pages=1)
    assert walk["pages"] == 1, "nothing left for a lap"


def test_an_unusable_item_without_an_id_still_proves_its_repo_listed(hub, db, monkeypatch):
    plain_sync(hub, db, 0)
    corpus = hub.corpora["models"]
    bad_type, no_hub_id = sorted(corpus.live(), key=lambda j: corpus.created[j])[:2]  # the lap's last page
    render = items.render

    def hostile(c, j, fields):
        item = render(c, j, fields)
        if c is corpus and j == bad_type:
            item["likes"] = "many"
        if c is corpus and j == no_hub_id:
            del item["_id"]
        return item

    monkeypatch.setattr(items, "render", hostile)
    walk, lap = plain_sync(hub, db, LAP + 1)
    assert lap["complete"] and (lap["rows_rejected"], lap["rows_deleted"]) == (2, 0)


def test_a_catalog_dated_far_ahead_of_this_clock_is_refused_with_the_fix(hub, db):
    plain_sync(hub, db, 0)
    db.execute("UPDATE sync_state SET updated_at = :ahead", ahead=datetime.now(UTC) + timedelta(days=30))
    result = CliRunner().invoke(main, ["sync", "--db", db.url, "--endpoint", hub.url, "--verify-pages", "0"])
    assert result.exit_code == 1 and "ahead of this machine's clock" in result.stderr
    assert "harvester state reset" in result.stderr and result.stderr.count("\n") == 1
    assert CliRunner().invoke(main, ["state", "reset", "--db", db.url]).exit_code == 0
    assert plain_sync(hub, db, 0)[0]["status"] == "ok"
    assert db.rows("SELECT count(*) FROM models WHERE last_seen_at > :soon",
                   soon=datetime.now(UTC) + timedelta(minutes=1)) == [(0,)]


def test_the_collector_is_restored_when_the_last_of_several_syncs_ends():
    import gc
    import threading

    from harvester.sync import _few_collections

    before = gc.get_threshold()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with _few_collections():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(5)
    with _few_collections():
        second_in.set()
        first_out.wait(5)
        assert gc.get_threshold()[0] == 10_000, "still tuned while a sync runs"
    thread.join()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
