"""The run's budget follows the Hub's plan: the lap's pages come from the share of the rate-limit
window a run may spend (``--budget``), after the walk, and never from what another client spent;
a stats or details run spends its own share, and leaves the lanes before it theirs."""

from __future__ import annotations

import json

import httpx2
import pytest
from click.testing import CliRunner

from harvester.cli import main
from harvester.emulator import Quota
from harvester.errors import ConfigError
from harvester.lanes import VERIFY_PAGES
from harvester.sync import sync, sync_kind
from helpers import PAGE, config

MODELS = 2000  # 40 pages of PAGE: no lap ends within these tests


@pytest.fixture
def hub(make_hub):
    """100 requests per 300 s: 5 % of it is a run of 5 requests."""
    return make_hub(models=MODELS, seed=41, quota=Quota(100, 300.0))


def plain_sync(hub, db, **overrides) -> list[dict]:
    return list(sync_kind(config(hub, db, **overrides)))


def fresh_window(hub, requests: int = 100, seconds: float = 300.0) -> None:
    """A window of the quota begins now, and the request log with it (the catalog's first sync spent the last)."""
    hub.faults.quota = Quota(requests, seconds)
    hub.requests.clear()


def spend(hub, requests: int) -> None:
    """Another client on the same address spends ``requests`` of the window."""
    with httpx2.Client() as other:
        for _ in range(requests):
            assert other.get(f"{hub.url}/api/models", params={"limit": 1}).status_code == 200


def test_the_lap_spends_what_the_budget_leaves_after_the_walk(hub, db):
    plain_sync(hub, db)  # the first walk reads everything: no lap
    walk, lap = plain_sync(hub, db)
    assert walk["requests"] == 1 and lap["pages"] == lap["requests"] == int(0.05 * 100) - 1
    walk, lap = plain_sync(hub, db, budget="10%")
    assert lap["pages"] == int(0.10 * 100) - walk["requests"]
    assert {r.status for r in hub.requests} == {200}


def test_a_window_another_client_spent_leaves_the_lap_out_and_meets_no_429(hub, db):
    plain_sync(hub, db)
    spend(hub, 50)  # the same address spends most of the window meanwhile
    [walk] = plain_sync(hub, db)
    assert walk["quota_remaining"] < 10, "the walk itself still runs: it is never starved"
    assert {r.status for r in hub.requests} == {200}, "no 429 that could have been avoided"


def test_an_explicit_page_count_wins(hub, db):
    plain_sync(hub, db)
    assert plain_sync(hub, db, verify_pages=2)[1]["pages"] == 2


def test_a_hub_that_states_no_quota_gets_the_fixed_lap(make_hub, db):
    quiet = make_hub(models=MODELS, seed=5)  # no quota: no RateLimit headers
    plain_sync(quiet, db)
    walk, lap = plain_sync(quiet, db)
    assert walk["quota_limit"] is None and lap["pages"] == VERIFY_PAGES


def test_status_shows_the_plan_and_the_time_the_lap_takes_at_the_runs_pace(hub, db):
    plain_sync(hub, db)
    for _ in range(3):
        plain_sync(hub, db)
    [models] = [s for s in json.loads(CliRunner().invoke(main, ["status", "--db", db.url, "--json"]).stdout)
                if s["scope"] == "models"]
    assert models["plan"]["requests"] == 100 and models["plan"]["window_seconds"] == 300
    assert models["lap"]["seconds_to_finish"] is not None
    text = CliRunner().invoke(main, ["status", "--db", db.url]).stdout
    assert "Hub quota: 100 requests per 5 min" in text and "lap ends in about" in text


@pytest.mark.parametrize("budget", ["0%", "150%", "lots"])
def test_a_budget_that_is_no_share_of_a_window_is_refused(hub, db, budget):
    with pytest.raises(ConfigError, match="--budget"):
        config(hub, db, budget=budget)
    result = CliRunner().invoke(main, ["sync", "--db", db.url, "--endpoint", hub.url, "--budget", budget])
    assert result.exit_code == 2 and "--budget" in result.stderr and not hub.requests


def stats_requests(hub) -> list:
    return [r for r in hub.listing_requests() if r.param("sort") == "downloads"]


def test_a_details_run_stops_at_its_share_of_the_window_and_the_next_run_goes_on(hub, db):
    plain_sync(hub, db)  # every one of the 2,000 models is due
    fresh_window(hub)
    first = sync(config(hub, db, lane="details"))
    assert (first["requests"], first["complete"], first["budget_spent"]) == (int(0.05 * 100), False, True)
    result = CliRunner().invoke(main, ["sync", "--db", db.url, "--endpoint", hub.url, "--details"])
    assert "budget spent, more repos due: the next run goes on" in result.stderr
    paths = [r.path for r in hub.repo_requests()]
    assert len(paths) == len(set(paths)) == 10, "the second run goes on with the next five repos"
    assert len(hub.requests) == 10 and {r.status for r in hub.requests} == {200}


def test_an_explicit_max_repos_wins_over_the_budget_and_waits_out_the_window_instead_of_a_429(hub, db):
    plain_sync(hub, db)
    fresh_window(hub, requests=10, seconds=2.0)  # 15 repos need two windows
    run = sync(config(hub, db, lane="details", max_repos=15))
    assert (run["requests"], run["complete"], run["budget_spent"]) == (15, False, False)
    assert len(hub.repo_requests()) == 15 and {r.status for r in hub.requests} == {200}


def test_a_stats_run_stops_at_its_share_and_the_next_run_goes_on_from_its_cursor(hub, db):
    plain_sync(hub, db)
    fresh_window(hub)
    first, second = (sync(config(hub, db, lane="stats")) for _ in range(2))
    assert (first["requests"], first["rows_seen"], first["complete"], first["budget_spent"]) == (5, 5 * PAGE,
                                                                                                 False, True)
    assert (second["mode"], second["requests"], second["rows_seen"]) == ("resume", 5, 5 * PAGE)
    cursors = [r.param("cursor") for r in stats_requests(hub)]
    assert len(cursors) == len(set(cursors)) == 10, "the second run reads the next five pages"
    assert {r.status for r in hub.requests} == {200}


def test_an_explicit_top_wins_over_the_budget(hub, db):
    plain_sync(hub, db)
    fresh_window(hub)
    run = sync(config(hub, db, lane="stats", top=8 * PAGE))
    assert (run["requests"], run["complete"], run["budget_spent"]) == (8, True, False)
    assert len(stats_requests(hub)) == 8


def test_a_window_another_client_spent_leaves_stats_less_and_details_less_still_and_no_429(hub, db):
    plain_sync(hub, db)
    fresh_window(hub)
    spend(hub, 82)  # 18 left: a reserve of 10, and a plain sync's share (5) and a stats run's (5) to leave
    stats = sync(config(hub, db, lane="stats"))
    assert stats["requests"] == 3 and stats["budget_spent"], "its first page, then what leaves a plain sync's share"
    details = sync(config(hub, db, lane="details"))
    assert details["requests"] == 1 and details["budget_spent"], "its first request told it the window is spent"
    walk, lap = plain_sync(hub, db)
    assert (walk["requests"], lap["requests"]) == (1, 3), "the lap still finds most of its share, down to the reserve"
    assert len(stats_requests(hub)) == 3 and len(hub.repo_requests()) == 1
    assert {r.status for r in hub.requests} == {200}, "no 429 that could have been avoided"


def test_a_details_run_alone_in_a_fresh_window_gets_its_share_however_large(hub, db):
    plain_sync(hub, db)
    fresh_window(hub)
    run = sync(config(hub, db, lane="details", budget="50%"))
    assert run["requests"] == len(hub.repo_requests()) == 50, "what it leaves the lanes before it is never its own"


def test_a_hub_that_states_no_quota_leaves_stats_and_details_unbounded(make_hub, db):
    quiet = make_hub(models=300, seed=5)
    plain_sync(quiet, db)
    details, stats = (sync(config(quiet, db, lane=lane)) for lane in ("details", "stats"))
    assert (details["requests"], details["complete"], details["budget_spent"]) == (300, True, False)
    assert (stats["requests"], stats["complete"]) == (300 // PAGE, True)
