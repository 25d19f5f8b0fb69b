"""The run's budget follows the Hub's plan: the lap's pages come from the share of the rate-limit
window a run may spend (``--budget``), after the walk, and never from what another client spent."""

from __future__ import annotations

import json

import httpx2
import pytest
from click.testing import CliRunner

from harvester.cli import main
from harvester.emulator import Quota
from harvester.errors import ConfigError
from harvester.lanes import VERIFY_PAGES
from harvester.sync import sync_kind
from helpers import config

MODELS = 2000  # 40 pages of PAGE: no lap ends within these tests


@pytest.fixture
def hub(make_hub):
    """100 requests per 300 s: 5 % of it is a run of 5 requests."""
    return make_hub(models=MODELS, seed=41, quota=Quota(100, 300.0))


def plain_sync(hub, db, **overrides) -> list[dict]:
    return list(sync_kind(config(hub, db, **overrides)))


def test_the_lap_spends_what_the_budget_leaves_after_the_walk(hub, db):
    plain_sync(hub, db)  # the first walk reads everything: no lap
    walk, lap = plain_sync(hub, db)
    assert walk["requests"] == 1 and lap["pages"] == lap["requests"] == int(0.05 * 100) - 1
    walk, lap = plain_sync(hub, db, budget="10%")
    assert lap["pages"] == int(0.10 * 100) - walk["requests"]
    assert {r.status for r in hub.requests} == {200}


def test_a_window_another_client_spent_leaves_the_lap_out_and_meets_no_429(hub, db):
    plain_sync(hub, db)
    with httpx2.Client() as other:  # the same address spends most of the window meanwhile
        for _ in range(50):
            assert other.get(f"{hub.url}/api/models", params={"limit": 1}).status_code == 200
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
