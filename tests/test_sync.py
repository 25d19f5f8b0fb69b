"""`harvester sync` against the emulator over real HTTP: crawl, refresh, resume, faults, errors."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent import futures
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from catalog import Catalog
from harvester.cli import main
from harvester.emulator import HubEmulator, Quota, items
from harvester.errors import CatalogError, HubError, HubUnavailable, Interrupted, MalformedResponse
from harvester.hub.walker import PageWalk
from harvester.kinds import GROUP_FIELDS, KINDS
from harvester.state import OVERLAP
from harvester.store.transactions import PAGES_PER_COMMIT
from harvester.sync import sync
from harvester.walk import LOAD_WAIT
from helpers import (
    PAGE,
    assert_catalog_equals_corpus,
    catalog,
    config,
    expected_catalog,
    runs,
    sigkill_after,
    wait_for_pages,
)


@pytest.fixture
def hub(make_hub):
    """An emulator of each test's own: the tests here change its corpus or its faults."""
    return make_hub(models=1_000, seed=21)


def full_walk_pages(hub: HubEmulator) -> int:
    return math.ceil(len(hub.corpora["models"]) / PAGE)


# -- crawling and refreshing ----------------------------------------------------------------------


def test_full_crawl_equals_the_corpus_field_by_field(hub, db):
    run = sync(config(hub, db))
    assert_catalog_equals_corpus(hub, db)
    assert (run["status"], run["mode"], run["complete"]) == ("ok", "full", True)
    assert run["rows_inserted"] == 1_000 and run["rows_rejected"] == 0
    # one walk, then one page of catch-up that finds nothing new
    assert run["requests"] == run["pages"] == full_walk_pages(hub) + 1
    first = hub.listing_requests()[0]
    assert first.param("sort") == "lastModified" and first.param("full") is None
    assert {"sha", "lastModified"} <= {v for k, v in first.params if k == "expand"}


def test_the_raw_view_gives_back_each_item_exactly_and_stores_none_twice(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    fields = items.field_set("models", expand=KINDS["models"].listing_fields, full=False, card_data=False)
    served = {corpus.ids[j]: items.render(corpus, j, fields) for j in corpus.live()}
    rebuilt = {repo_id: json.loads(raw) for repo_id, raw in db.rows("SELECT id, CAST(raw AS TEXT) FROM models_raw")}
    assert rebuilt == served
    assert all(_same_types(rebuilt[repo_id], item) for repo_id, item in served.items()), "0 stays 0, not 0.0"
    extras = [json.loads(extra) for (extra,) in db.rows("SELECT CAST(raw_extra AS TEXT) FROM models")]
    kept = {field for extra in extras if extra is not None for field in extra}
    assert kept and kept <= set(GROUP_FIELDS), "the columns say all of core: raw_extra keeps the groups' fields whole"


def _same_types(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_types(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same_types, a, b))
    return type(a) is type(b) and a == b


def test_a_repo_without_a_card_has_sql_null_card_data(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    cardless = {corpus.ids[j] for j in corpus.live() if "cardData" not in items.render(corpus, j, ("cardData",))}
    assert cardless, "the emulator serves some repos without a card"
    assert {row[0] for row in db.rows("SELECT id FROM models WHERE card_data IS NULL")} == cardless


def test_incremental_run_touches_exactly_the_changed_rows_and_their_pages(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    modified, added = corpus.modify(30), corpus.add(20)
    before = len(hub.requests)
    run = sync(config(hub, db))
    assert (run["mode"], run["rows_inserted"], run["rows_updated"]) == ("incremental", 20, 30)
    assert run["requests"] == len(hub.requests) - before
    assert run["requests"] <= math.ceil(50 / PAGE) + 1
    got = catalog(db)
    expected = expected_catalog(hub)
    assert all(got[key][2] == expected[key][2] for key in modified + added), "new sha stored"


def test_an_incremental_walk_leaves_the_rows_past_its_overlap_alone(hub, db):
    """The walk ends at the first row older than the watermark minus the overlap: the rows of
    that last page below the line were stored by earlier walks, so they are not even marked seen."""
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    line = max(corpus.modified[j] for j in corpus.live()) - OVERLAP // timedelta(milliseconds=1)
    overlap = {corpus.ids[j] for j in corpus.live() if corpus.modified[j] >= line}
    seen_before = dict(db.rows("SELECT id, last_seen_at FROM models"))
    modified = set(corpus.modify(3))
    run = sync(config(hub, db))
    assert (run["mode"], run["pages"], run["rows_updated"]) == ("incremental", 1, 3)
    assert run["rows_unchanged"] == len(overlap - modified) > 0
    assert run["rows_seen"] == len(overlap | modified) < PAGE
    touched = {repo_id for repo_id, seen in db.rows("SELECT id, last_seen_at FROM models")
               if seen != seen_before[repo_id]}
    assert touched == overlap | modified
    assert_catalog_equals_corpus(hub, db)


def test_unchanged_rows_are_not_rewritten(hub, db):
    sync(config(hub, db))
    run = sync(config(hub, db, full=True))
    assert (run["rows_inserted"], run["rows_updated"]) == (0, 0)
    assert run["rows_unchanged"] == run["rows_seen"]
    hub.corpora["models"].bump_counters(ids=[hub.corpora["models"].ids[5]])
    assert sync(config(hub, db, full=True))["rows_updated"] == 1


def test_max_pages_stops_cleanly_and_the_next_run_resumes(hub, db):
    first = sync(config(hub, db, max_pages=4))
    assert (first["status"], first["complete"], first["pages"]) == ("ok", False, 4)
    assert len(catalog(db)) == 4 * PAGE
    second = sync(config(hub, db))
    assert (second["mode"], second["complete"]) == ("resume", True)
    assert_catalog_equals_corpus(hub, db)
    cursors = [r.param("cursor") for r in hub.listing_requests()]
    assert len(set(filter(None, cursors))) == len(list(filter(None, cursors))), "no page fetched twice"


def test_max_pages_is_a_hard_budget_even_when_the_walk_ends_on_it(hub, db):
    run = sync(config(hub, db, max_pages=full_walk_pages(hub)))
    assert (run["pages"], run["requests"], run["complete"]) == (full_walk_pages(hub),) * 2 + (True,)
    assert_catalog_equals_corpus(hub, db)
    assert sync(config(hub, db))["mode"] == "incremental"


def test_the_next_page_is_requested_while_a_page_is_being_stored(hub, db):
    """The walk asks for page N+1 before it is done with page N: here it waits, after storing
    each page, for the Hub to see the next request, which only a fetch ahead can have sent."""
    hub.faults.add("slow=0.1")
    pending = []

    def next_request_already_sent(stats) -> None:
        if stats.pages < full_walk_pages(hub) and 0 not in pending:
            deadline = time.monotonic() + 10
            while len(hub.listing_requests()) <= stats.pages and time.monotonic() < deadline:
                time.sleep(0.01)
            pending.append(len(hub.listing_requests()) - stats.pages)

    run = sync(config(hub, db), on_page=next_request_already_sent)
    assert pending and set(pending) == {1}, "the next page is requested before it is needed"
    assert run["requests"] == len(hub.requests) == full_walk_pages(hub) + 1
    assert_catalog_equals_corpus(hub, db)


def test_slow_pages_commit_alone_except_in_the_first_walks_bulk_load(hub, db):
    """At the Hub's pace no page is in hand when the one before is stored: a walk commits each
    page alone (one that took longer to store than the next to arrive commits with it), so no
    transaction is held across a wait. The first walk of an empty kind is a bulk load: it
    commits every `PAGES_PER_COMMIT` pages all the same."""
    hub.faults.add("slow=0.1")
    pages = full_walk_pages(hub)
    commits: list[int] = []
    sync(config(hub, db), on_page=lambda stats: commits.append(stats.pages))
    assert commits == [*range(PAGES_PER_COMMIT, pages, PAGES_PER_COMMIT), pages, pages + 1]  # the catch-up last
    commits.clear()
    again = sync(config(hub, db, full=True), on_page=lambda stats: commits.append(stats.pages))
    assert again["mode"] == "full" and len(commits) >= (pages - 1) // 2
    assert_catalog_equals_corpus(hub, db)


@pytest.fixture
def hub_ahead(monkeypatch):
    """A Hub always faster than the catalog: the next page is in hand whenever a page is stored."""

    def arrived(walk: PageWalk, within: float = 0.0) -> bool:
        if walk._ahead is not None:
            futures.wait([walk._ahead])
        return walk._ahead is not None

    monkeypatch.setattr(PageWalk, "arrived", arrived)


def test_pages_in_hand_commit_together_and_the_checkpoint_covers_them(hub, db, hub_ahead):
    commits: list[int] = []
    run = sync(config(hub, db), on_page=lambda stats: commits.append(stats.pages))
    walk = full_walk_pages(hub)
    assert commits == [*range(PAGES_PER_COMMIT, walk, PAGES_PER_COMMIT), walk, walk + 1]  # + the catch-up
    assert run["pages"] == walk + 1
    assert_catalog_equals_corpus(hub, db)


def test_a_fetch_error_commits_the_pages_in_hand(hub, db, hub_ahead):
    hub.faults.add("500,after=7")
    with pytest.raises(HubUnavailable):
        sync(config(hub, db, attempts=1))
    [record] = runs(db)
    assert (record["status"], record["pages"]) == ("failed", 7)
    assert len(catalog(db)) == 7 * PAGE
    assert db.rows("SELECT walk_pages FROM sync_state") == [(7,)], "the checkpoint is the last page in hand"
    hub.faults.clear()
    assert sync(config(hub, db))["mode"] == "resume"
    assert_catalog_equals_corpus(hub, db)


def test_a_stop_commits_the_pages_in_hand(hub, db, hub_ahead):
    stop = threading.Event()
    hub.faults.add("slow=0.5,after=4,times=1")

    def stop_while_page_5_is_awaited() -> None:
        deadline = time.monotonic() + 30
        while len(hub.listing_requests()) < 5 and time.monotonic() < deadline:
            time.sleep(0.005)
        stop.set()

    threading.Thread(target=stop_while_page_5_is_awaited).start()
    with pytest.raises(Interrupted):
        sync(config(hub, db), stop=stop)
    [record] = runs(db)
    assert record["status"] == "interrupted" and record["pages"] >= 4, "pages in hand were rolled back"
    assert len(catalog(db)) == record["pages"] * PAGE
    assert db.rows("SELECT walk_pages FROM sync_state") == [(record["pages"],)]


def test_a_stopped_walk_leaves_no_request_behind_and_counts_every_one(hub, db):
    stop = threading.Event()
    # page 4, fetched ahead while page 3 is stored; slower than a first walk's bulk load waits
    # holding its pages (`walk.LOAD_WAIT`), so page 3 commits before it arrives
    hub.faults.add(f"slow={LOAD_WAIT + 1},after=3,times=1")
    with pytest.raises(Interrupted):
        sync(config(hub, db), stop=stop, on_page=lambda stats: stats.pages == 3 and stop.set())
    assert not [t for t in threading.enumerate() if t.name == "harvester-fetch-ahead"], "a fetch outlived its run"
    sent = len(hub.requests)
    [record] = runs(db)
    assert (record["status"], record["pages"], record["requests"]) == ("interrupted", 3, sent)
    assert len(catalog(db)) == 3 * PAGE
    assert sync(config(hub, db))["mode"] == "resume"
    assert_catalog_equals_corpus(hub, db)


def test_a_resumed_walk_catches_up_with_rows_modified_meanwhile(hub, db):
    sync(config(hub, db, max_pages=5))
    corpus = hub.corpora["models"]
    served = set(catalog(db))
    moved = corpus.modify(ids=[i for i in corpus.ids if i not in served][:10])  # jump above the cursor
    changed = corpus.modify(ids=sorted(served)[:10])
    run = sync(config(hub, db))
    assert run["mode"] == "resume"
    assert_catalog_equals_corpus(hub, db)
    assert set(moved) | set(changed) <= set(catalog(db))


def test_one_future_dated_item_never_hides_later_changes(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    [odd] = corpus.modify(1, at_ms=corpus.clock_ms + 365 * 86_400_000)  # a bad date, a year ahead
    assert sync(config(hub, db))["rows_updated"] == 1
    corpus.modify(ids=[odd])  # the Hub corrects it
    changed = corpus.modify(30)
    assert sync(config(hub, db))["rows_updated"] == 31
    assert_catalog_equals_corpus(hub, db)
    assert set(changed) < {row[0] for row in db.rows("SELECT repo_id FROM changes WHERE change = 'update'")}


def test_a_full_walk_takes_its_own_top_as_the_watermark(hub, db):
    sync(config(hub, db))
    db.execute("UPDATE sync_state SET watermark = :future", future=datetime(2030, 1, 1, tzinfo=UTC))
    assert sync(config(hub, db))["rows_seen"] <= PAGE, "a watermark in the future hides everything"
    sync(config(hub, db, full=True))
    hub.corpora["models"].modify(30)
    assert sync(config(hub, db))["rows_updated"] == 30


def test_state_reset_forgets_the_watermark_but_keeps_rows(hub, db):
    sync(config(hub, db))
    result = CliRunner().invoke(main, ["state", "reset", "--db", str(db)])
    assert result.exit_code == 0 and "reset 1 scope" in result.output
    assert len(catalog(db)) == 1_000
    assert sync(config(hub, db))["mode"] == "full"


# -- surviving the Hub's failures -----------------------------------------------------------------


@pytest.mark.parametrize("setup", [
    pytest.param(lambda plan: setattr(plan, "max_page_size", 120), id="504-above-page-size"),
    pytest.param(lambda plan: plan.add("429,retry_after=0.2,every=4"), id="429-retry-after"),
    pytest.param(lambda plan: plan.add("502,every=5"), id="502-every-5th"),
    pytest.param(lambda plan: plan.add("drop,every=7"), id="dropped-connection"),
    pytest.param(lambda plan: plan.add("truncate,every=6"), id="truncated-body"),
])
def test_transient_faults_end_equal_to_the_corpus(hub, db, setup):
    setup(hub.faults)
    run = sync(config(hub, db, page_size=400 if hub.faults.max_page_size else PAGE))
    assert run["status"] == "ok" and run["retries"] > 0
    assert run["requests"] == len(hub.listing_requests())
    assert_catalog_equals_corpus(hub, db)


def test_a_504_halves_the_page_size_and_keeps_it(hub, db):
    hub.faults.max_page_size = 120
    run = sync(config(hub, db, page_size=400))
    limits = [int(r.param("limit")) for r in hub.listing_requests()]
    assert limits[:3] == [400, 200, 100] and set(limits[3:]) == {100}
    assert run["retries"] == 2


def test_pacing_from_ratelimit_headers_avoids_429(db, make_hub):
    hub = make_hub(models=300, seed=3, quota=Quota(12, 1.0))
    run = sync(config(hub, db, page_size=20))
    assert run["status"] == "ok" and run["requests"] > 12
    assert Counter(r.status for r in hub.listing_requests())[429] == 0
    assert_catalog_equals_corpus(hub, db)


def test_a_persistent_truncated_body_fails_clearly_and_stays_resumable(hub, db):
    hub.faults.add("truncate,after=3")
    with pytest.raises(MalformedResponse, match="not JSON"):
        sync(config(hub, db, attempts=3))
    assert len(catalog(db)) == 3 * PAGE, "exactly the pages before the fault"
    failed = runs(db)[-1]
    assert failed["status"] == "failed" and "not JSON" in failed["error"] and failed["retries"] == 2
    hub.faults.clear()
    run = sync(config(hub, db))
    assert run["mode"] == "resume"
    assert_catalog_equals_corpus(hub, db)


def test_retries_exhausted_by_5xx_name_the_failure(hub, db):
    hub.faults.add("503,after=2")
    with pytest.raises(HubUnavailable, match="HTTP 503.*gave up after 2 attempts"):
        sync(config(hub, db, attempts=2))


def test_a_next_link_to_another_host_is_refused(hub, db):
    hub.faults.add("foreign-link,after=1,times=1")
    with pytest.raises(HubError, match="another host"):
        sync(config(hub, db))
    assert all(r.path.startswith("/api/") for r in hub.requests)
    assert len(catalog(db)) == PAGE


def test_a_repeated_cursor_is_detected(hub, db):
    hub.faults.add("repeat-cursor,after=2,times=1")
    with pytest.raises(MalformedResponse, match="repeated a cursor"):
        sync(config(hub, db))


def test_an_item_missing_its_id_is_rejected_and_counted_not_fatal(hub, db):
    hub.faults.add("missing-field,times=1")
    run = sync(config(hub, db))
    assert run["rows_rejected"] == 1 and run["status"] == "ok"
    # the rejected item was the newest row, which the catch-up walk read again, whole
    assert_catalog_equals_corpus(hub, db)


# -- being killed ---------------------------------------------------------------------------------


def _start_cli(hub: HubEmulator, db: Catalog, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HARVESTER_DB": str(db)}
    return subprocess.Popen([sys.executable, "-m", "harvester", "sync", "--page-size", str(PAGE), *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_mid_crawl_then_rerun_ends_equal_with_fewer_requests_than_a_restart(hub, db):
    hub.faults.add("slow=0.05")
    sigkill_after(_start_cli(hub, db), db, 8)
    hub.faults.clear()
    killed_requests = len(hub.listing_requests())
    run = sync(config(hub, db))
    assert run["mode"] == "resume"
    assert_catalog_equals_corpus(hub, db)
    assert runs(db)[0]["status"] == "abandoned"
    restart_cost = full_walk_pages(hub) + 1
    assert run["requests"] < restart_cost - 6
    assert killed_requests + run["requests"] <= restart_cost + 2  # at most one page lost to the kill


def test_ctrl_c_stops_after_the_current_page_and_records_interrupted(hub, db):
    hub.faults.add("slow=0.05")
    process = _start_cli(hub, db)
    wait_for_pages(db, 3)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130 and "interrupted" in stderr
    last = runs(db)[-1]
    assert last["status"] == "interrupted" and last["finished_at"] is not None
    assert len(catalog(db)) == last["pages"] * PAGE
    hub.faults.clear()
    assert sync(config(hub, db))["mode"] == "resume"
    assert_catalog_equals_corpus(hub, db)


def test_a_second_signal_aborts_at_once_records_the_run_and_frees_the_lock(hub, db):
    hub.faults.add("slow=60,after=3")  # the fourth page hangs: the first signal waits for it, the second must not
    process = _start_cli(hub, db, "--json")
    wait_for_pages(db, 3)
    process.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130 and "aborted" in stderr and "Traceback" not in stderr
    assert runs(db)[-1]["status"] == "interrupted"
    assert json.loads(stdout)["status"] == "interrupted", "--json prints the aborted run too"
    assert db.rows("SELECT count(*) FROM sync_locks") == [(0,)]
    hub.faults.clear()
    assert sync(config(hub, db))["mode"] == "resume"
    assert_catalog_equals_corpus(hub, db)


# -- the command line and its errors --------------------------------------------------------------


def test_cli_sync_json_and_status(hub, db):
    runner = CliRunner()
    result = runner.invoke(main, ["sync", "--db", str(db), "--endpoint", hub.url, "--json", "--max-pages", "2",
                                  "--page-size", str(PAGE)])
    assert result.exit_code == 0, result.output
    [record] = (json.loads(line) for line in result.stdout.splitlines())  # the walk took the whole budget: no lap
    assert record["pages"] == 2 and record["complete"] is False
    status = runner.invoke(main, ["status", "--db", str(db)])
    assert status.exit_code == 0 and "models" in status.output and "walk under way (2 pages done)" in status.output
    assert "…" not in status.output, "cells are not cut when the output is not a terminal"


def test_cli_prints_one_summary_line_when_not_a_terminal(hub, db):
    result = CliRunner().invoke(main, ["sync", "--db", str(db), "--endpoint", hub.url])
    assert result.exit_code == 0
    [walk] = result.stderr.splitlines()  # a first walk reads everything: it was the lap too
    assert "models: run 1 ok (full, walk complete)" in walk
    result = CliRunner().invoke(main, ["sync", "--db", str(db), "--endpoint", hub.url])
    walk, lap = result.stderr.splitlines()
    assert "models: run 2 ok (incremental, walk complete)" in walk and "models:verify: run 3 ok (verify, lap " in lap


def test_summaries_count_in_proper_english(hub, db):
    sync(config(hub, db))
    hub.corpora["models"].modify(1)
    result = CliRunner().invoke(main, ["sync", "--db", str(db), "--endpoint", hub.url, "--verify-pages", "1"])
    walk, lap = result.stderr.splitlines()
    assert "1 page, 1 request, 0 retries;" in walk and "rows read: 0 inserted, 1 updated" in walk
    assert "1 page, 1 request, 0 retries; 1,000 rows read:" in lap
    assert CliRunner().invoke(main, ["state", "reset", "--db", str(db)]).stdout.startswith("reset 2 scopes;")


def test_a_bare_harvester_shows_help_and_succeeds():
    result = CliRunner().invoke(main, [])
    assert result.exit_code == 0 and "Usage: " in result.stdout and "sync" in result.stdout


def test_a_refused_first_request_fails_within_seconds_naming_the_endpoint(db):
    started = time.monotonic()
    result = CliRunner().invoke(main, ["sync", "--db", str(db), "--endpoint", "http://127.0.0.1:9"])
    assert time.monotonic() - started < 8, "a wrong endpoint took the whole retry budget"
    assert result.exit_code == 3
    error = result.stderr.splitlines()[-1]
    assert error.startswith("harvester: error: cannot reach the Hub at http://127.0.0.1:9: ConnectError")
    assert "Connection refused" in error and "--endpoint or HF_ENDPOINT" in error


def test_a_connection_refused_after_the_hub_has_answered_is_retried_with_the_whole_budget(make_hub):
    from harvester.errors import HubUnreachable
    from harvester.hub.pages import HubClient
    from harvester.hub.retry import RetryPolicy
    from harvester.state import RunStats

    def client(endpoint: str) -> HubClient:
        policy = RetryPolicy(attempts=4, initial_wait=0.05, unreached_wait=0.01)
        return HubClient(endpoint, token=None, policy=policy, stats=RunStats())

    refusing = "http://127.0.0.1:9/api/models"  # the discard port: nothing listens on it
    hub = make_hub(models=30, seed=3)
    answering = client(hub.url)
    answering.fetch_page(f"{hub.url}/api/models", 10)
    with pytest.raises(HubUnavailable, match="kept failing") as later:
        answering.fetch_page(refusing, 10)
    assert not isinstance(later.value, HubUnreachable) and answering.stats.requests == 1 + 4
    never_answered = client(hub.url)
    with pytest.raises(HubUnreachable, match=f"cannot reach the Hub at {hub.url}: ConnectError"):
        never_answered.fetch_page(refusing, 10)
    assert never_answered.stats.requests == 1


def test_an_unknown_host_fails_at_once_naming_the_endpoint_and_the_fix(db):
    started = time.monotonic()
    result = CliRunner().invoke(main, ["sync", "--db", str(db), "--endpoint", "http://no-such-host.invalid"])
    assert time.monotonic() - started < 10, "not retried as if it could pass"
    assert result.exit_code == 3 and result.stderr.count("\n") == 1
    assert "cannot reach the Hub at http://no-such-host.invalid: the host name does not resolve" in result.stderr
    assert "--endpoint or HF_ENDPOINT" in result.stderr and "harvester emulator" in result.stderr


def test_tls_spoken_to_a_plain_http_port_fails_at_once(hub, db):
    endpoint = hub.url.replace("http://", "https://")
    result = CliRunner().invoke(main, ["sync", "--db", str(db), "--endpoint", endpoint])
    assert result.exit_code == 3 and result.stderr.count("\n") == 1
    assert f"cannot reach the Hub at {endpoint}: the TLS handshake failed" in result.stderr
    assert "is it an http:// endpoint?" in result.stderr and not hub.requests


def test_every_retry_is_a_line_or_an_event_unless_quiet(db, make_hub):
    hub = make_hub(models=120, seed=3, faults=["503,every=2"])
    args = ["sync", "--db", str(db), "--endpoint", hub.url, "--page-size", "40", "--verify-pages", "0"]
    text = CliRunner().invoke(main, args)
    assert text.exit_code == 0
    retries = [line for line in text.stderr.splitlines() if "retrying in" in line]
    assert len(retries) == runs(db)[-1]["retries"] >= 2 and all("(1/8): HTTP 503" in line for line in retries)
    hub.corpora["models"].modify(50)
    logged = CliRunner().invoke(main, [*args, "--log-format", "json"])
    events = [json.loads(line) for line in logged.stderr.splitlines()]
    retried = [event for event in events if event.get("event") == "retry"]
    assert retried and all(e["reason"] == "HTTP 503" and e["attempt"] == 1 and e["run_id"] == 2 for e in retried)
    hub.corpora["models"].modify(50)
    quiet = CliRunner().invoke(main, [*args, "--quiet"])
    assert quiet.exit_code == 0 and quiet.stderr == "" and runs(db)[-1]["retries"] >= 1


def _raised_from(inner: BaseException) -> BaseException:
    """``inner`` as the cause of a transport error, the way httpx2 chains them."""
    try:
        try:
            raise inner
        except type(inner) as cause:
            raise ConnectionError("transport") from cause
    except ConnectionError as outer:
        return outer


def test_only_failures_no_retry_can_fix_are_reported_at_once():
    import socket
    import ssl

    from harvester.hub.pages import _lasting_cause

    wrong_port = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    wrong_port.reason = "WRONG_VERSION_NUMBER"
    lasting = [socket.gaierror(socket.EAI_NONAME, "Name or service not known"), wrong_port,
               ssl.SSLCertVerificationError(1, "certificate verify failed")]
    passing = [socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
               ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), ssl.SSLZeroReturnError(6, "closed"),
               ConnectionRefusedError(111, "Connection refused"), TimeoutError("timed out")]
    assert all(_lasting_cause(_raised_from(error)) for error in lasting)
    assert not any(_lasting_cause(_raised_from(error)) for error in passing)


@pytest.mark.parametrize("endpoint", ["not a url", "ftp://hub", "https://user:secret@hub.example",
                                      "http://127.0.0.1:99999", "http://[::1", "http://hub.example:port"])
def test_bad_endpoint_is_refused_before_any_request(db, endpoint):
    result = CliRunner().invoke(main, ["sync", "--db", str(db), "--endpoint", endpoint])
    assert result.exit_code == 2 and "bad Hub endpoint" in result.stderr and "secret" not in result.stderr


def test_unwritable_db_fails_clearly(hub, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(CatalogError, match="does not exist"):
        sync(config(hub, Catalog.sqlite(blocker / "hub.db")))
    result = CliRunner().invoke(main, ["sync", "--db", str(blocker / "hub.db"), "--endpoint", hub.url])
    assert result.exit_code == 1 and "cannot open catalog" in result.stderr
    assert not hub.requests, "no request before the catalog is known to open"


def test_bad_token_fails_fast_and_is_never_printed(db, make_hub):
    hub = make_hub(models=50, tokens={"hf_valid_token"})
    result = CliRunner().invoke(main, ["sync", "--db", str(db), "--endpoint", hub.url,
                                       "--token", "hf_planted_secret_123"])
    assert result.exit_code == 1 and "HTTP 401" in result.stderr and "token" in result.stderr
    assert "hf_planted_secret_123" not in result.output + result.stderr
    assert len(hub.listing_requests()) == 1, "401 is not retried"
    assert not db.holds("hf_planted_secret_123")
    ok = CliRunner().invoke(main, ["sync", "--db", str(db), "--endpoint", hub.url, "--token", "hf_valid_token"])
    assert ok.exit_code == 0


def test_bad_page_size_is_a_usage_error(db):
    result = CliRunner().invoke(main, ["sync", "--db", str(db), "--page-size", "5000"])
    assert result.exit_code == 2 and "page size 5000 is out of range" in result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--top", "5"], "--top applies to --stats only"),
    (["--max-repos", "5"], "--max-repos applies to --details and --cards only"),
    (["--full", "--top", "5"], "--top applies to --stats only"),
])
def test_an_option_of_another_lane_is_a_usage_error(db, args, message):
    result = CliRunner().invoke(main, ["sync", "--db", str(db), "--endpoint", "http://127.0.0.1:9", *args])
    assert result.exit_code == 2 and message in result.stderr


def test_a_cursor_the_hub_no_longer_accepts_fails_with_a_way_out(hub, db):
    sync(config(hub, db, max_pages=2))
    db.execute("UPDATE sync_state SET cursor = cursor || 'garbage'")
    result = CliRunner().invoke(main, ["sync", "--db", str(db), "--endpoint", hub.url])
    assert result.exit_code == 1 and "HTTP 400" in result.stderr and "harvester state reset" in result.stderr
