"""Each lane's spec and page planner, without a Hub or a catalog: pure properties, hypothesis-driven.

The planners decide what a page writes and when a walk ends or proves deletions; the sync tests
check the same end to end against the emulator.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.config import SyncConfig
from harvester.errors import ConfigError
from harvester.hub.pages import Page
from harvester.lanes import LANES, plan_listing_page, plan_reconcile_page, plan_stats_page
from harvester.state import RunStats, WalkState

ENDPOINT = "http://127.0.0.1:9"
WALKS = [name for name, spec in LANES.items() if spec.planner is not None]
START = datetime(2026, 1, 1, tzinfo=UTC)


def config(**values) -> SyncConfig:
    return SyncConfig(db_url="sqlite:///unused.db", endpoint=ENDPOINT, **values)


def item(n: int, modified: datetime) -> dict:
    return {"_id": f"{n:024x}", "id": f"org/repo-{n}", "sha": f"{n:040x}", "likes": n, "downloads": n,
            "trendingScore": 0, "lastModified": modified.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "createdAt": "2022-03-02T23:29:04.000Z", "tags": []}


def pages_of(items: list[dict], size: int) -> list[Page]:
    chunks = [items[n:n + size] for n in range(0, len(items), size)] or [[]]
    return [Page(chunk, f"{ENDPOINT}/api/models?p={n}", f"{ENDPOINT}/api/models?p={n + 1}"
                 if n + 1 < len(chunks) else None, size) for n, chunk in enumerate(chunks)]


def pages_from(pages: list[Page], cursor: str) -> list[Page]:
    """The pages a walk resumed at ``cursor`` is served."""
    return pages[[page.url for page in pages].index(cursor):]


def walk(planner, state: WalkState, pages: list[Page]) -> list:
    """Plan ``pages`` in order as a walk does, until one ends the walk; the planned pages."""
    stats, planned = RunStats(), []
    for page in pages:
        plan = planner(page, state, stats)
        planned.append(plan)
        state = plan.state
        stats.rows_seen += len(page.items)
        if not state.unfinished:
            break
    return planned


@pytest.mark.parametrize("lane", WALKS)
def test_each_walk_asks_for_its_sort_and_fields_and_keeps_the_scope(lane):
    spec = LANES[lane]
    scoped = {} if spec.scope_refusal else {"author": "acme"}
    query = parse_qsl(urlsplit(spec.first_url(config(lane=lane, **scoped))).query)
    assert ("sort", spec.sort("models")) in query
    assert [value for key, value in query if key == "expand"] == list(spec.fields("models"))
    assert (("author", "acme") in query) == bool(scoped)


OPTION_VALUES = {"top": 5, "max_repos": 5, "where": "likes > 5"}


@pytest.mark.parametrize("lane", LANES)
def test_a_lane_refuses_the_options_of_every_other_lane(lane):
    for option in {option for spec in LANES.values() for option in spec.options}:
        value, takers = OPTION_VALUES[option], [spec.flag for spec in LANES.values() if option in spec.options]
        if option not in LANES[lane].options:
            with pytest.raises(ConfigError, match=f"applies to {' and '.join(takers)} only"):
                config(lane=lane, **{option: value})
        else:
            assert getattr(config(lane=lane, **{option: value}), option) == value


def test_each_lane_but_the_listing_keeps_a_state_row_of_its_own():
    scopes = {config(lane=lane).scope for lane in LANES}
    assert len(scopes) == len(LANES) and "models" in scopes


@settings(max_examples=60, deadline=None)
@given(count=st.integers(0, 60), size=st.integers(1, 15), scoped=st.booleans())
def test_a_creation_order_walk_proves_deletions_only_on_its_last_page_and_only_unscoped(count, size, scoped):
    items = [item(n, START) for n in range(count)]
    scope = "models?author=org:verify" if scoped else "models:verify"
    state = WalkState(scope=scope, kind="models").begin("verify", first_url="u", page_size=size, now=START,
                                                        creation_order=True)
    planned = walk(plan_listing_page, state, pages_of(items, size))
    sweeps = [plan.store.keywords["sweep_since"] for plan in planned]
    assert sweeps[:-1] == [None] * (len(planned) - 1)
    assert sweeps[-1] == (None if scoped else START)
    assert sum(len(plan.store.keywords["rows"]) for plan in planned) == count
    assert planned[-1].state.watermark is None, "a walk by creation time says nothing of lastModified"


@settings(max_examples=60, deadline=None)
@given(ages=st.lists(st.integers(0, 500), max_size=60), line=st.integers(1, 500), size=st.integers(1, 15))
def test_an_incremental_walk_stores_no_row_below_its_line_and_ends_on_the_first_page_that_reaches_it(ages, line, size):
    items = [item(n, START - timedelta(minutes=age)) for n, age in enumerate(sorted(ages))]  # newest first
    state = WalkState(scope="models", kind="models", watermark=START - timedelta(minutes=line))
    state = state.begin("incremental", first_url="u", page_size=size, now=START, overlap=timedelta(0))
    planned = walk(plan_listing_page, state, pages_of(items, size))
    stored = [row.row["last_modified"] for plan in planned for row in plan.store.keywords["rows"]]
    assert all(modified >= state.stop_before for modified in stored)
    assert len(stored) == sum(age <= line for age in ages), "every row above the line, none below"
    assert not planned[-1].state.unfinished
    newest = START - timedelta(minutes=min(ages)) if ages else None
    assert planned[-1].state.watermark == max(filter(None, (state.watermark, newest)))


@settings(max_examples=60, deadline=None)
@given(count=st.integers(0, 60), top=st.integers(1, 70), size=st.integers(1, 15))
def test_the_stats_walk_refreshes_exactly_the_top_repos_and_ends_there(count, top, size):
    items = [item(n, START) for n in range(count)]
    state = WalkState(scope="models:stats", kind="models").begin("stats", first_url="u", page_size=size, now=START)
    planned = walk(lambda page, s, stats: plan_stats_page(page, s, stats, top=top), state, pages_of(items, size))
    refreshed = [repo for plan in planned for repo in plan.store.keywords["counters"]]
    assert refreshed == [f"org/repo-{n}" for n in range(min(count, top))]
    assert not planned[-1].state.unfinished


@settings(max_examples=40, deadline=None)
@given(keyed=st.lists(st.booleans(), max_size=40))
def test_a_reconcile_page_marks_seen_by_hub_id_and_by_repo_id_only_without_one(keyed):
    items = [item(n, START) if has_id else {"id": f"org/legacy-{n}"} for n, has_id in enumerate(keyed)]
    state = WalkState(scope="models:reconcile", kind="models").begin(
        "reconcile", first_url="u", page_size=100, now=START, creation_order=True)
    [plan] = walk(plan_reconcile_page, state, pages_of(items, 100))
    listed = plan.store.keywords["listed"]
    assert listed.hub_ids == [entry["_id"] for entry in items if "_id" in entry]
    assert listed.repo_ids == [entry["id"] for entry in items if "_id" not in entry]
    assert plan.store.keywords["sweep_since"] == START


@settings(max_examples=40, deadline=None)
@given(count=st.integers(1, 50), size=st.integers(1, 10), stop_after=st.integers(1, 6))
def test_a_stopped_walk_resumes_to_the_same_rows_as_one_that_never_stopped(count, size, stop_after):
    items = [item(n, START) for n in range(count)]
    pages = pages_of(items, size)
    begun = WalkState(scope="models:verify", kind="models").begin("verify", first_url=pages[0].url, page_size=size,
                                                                  now=START, creation_order=True)
    whole = walk(plan_listing_page, begun, pages)
    first = walk(plan_listing_page, begun, pages[:stop_after])
    stopped = first[-1].state
    rest = walk(plan_listing_page, stopped, pages_from(pages, stopped.cursor)) if stopped.unfinished else []
    ids = [[row.id for plan in planned for row in plan.store.keywords["rows"]] for planned in (whole, first + rest)]
    assert ids[0] == ids[1] == [entry["id"] for entry in items]


def test_no_module_but_lanes_tells_lanes_apart_by_name():
    """A lane is a spec: comparing a value with a lane's name elsewhere is a branch the spec should answer."""
    package = Path(__file__).resolve().parent.parent / "harvester"
    names = set(LANES)
    found = []
    for path in package.rglob("*.py"):
        if path.name == "lanes.py" or "emulator" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                constants = [c.value for c in (node.left, *node.comparators) if isinstance(c, ast.Constant)]
                if names & {value for value in constants if isinstance(value, str)}:
                    found.append(f"{path.name}:{node.lineno}")
    assert not found, found
