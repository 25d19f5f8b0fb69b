"""`WalkState`'s documented rules, for any walk: when a sweep may mark unseen rows deleted, what a
finished walk leaves behind, what `begin` resets, and that a stopped walk resumes to the same end."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harvester.lanes import LANES
from harvester.state import OVERLAP, WalkState
from harvester.store.engine import open_catalog
from harvester.store.state import load_state, save_state

WHOLE_KINDS = ("models", "datasets", "models:reconcile", "models:verify")
SCOPED = ("models?author=a", "models?filter=x&filter=y", "models?author=a:verify")
MODES = ("full", "incremental", "reconcile", "stats", "verify")

times = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))
maybe_times = st.none() | times
urls = st.text("abcdefXYZ0123456789", min_size=1, max_size=12).map(lambda token: f"http://hub/api/models?cursor={token}")
page_sizes = st.integers(1, 1_000)
# one walk's pages: the newest lastModified each page showed (None: a page of bad or no dates)
walk_pages = st.lists(maybe_times, min_size=1, max_size=8)

states = st.builds(
    WalkState, scope=st.sampled_from(WHOLE_KINDS + SCOPED), kind=st.sampled_from(("models", "datasets")),
    cursor=st.none() | urls, mode=st.none() | st.sampled_from(MODES), started_at=maybe_times, top=maybe_times,
    stop_before=maybe_times, pages=st.integers(0, 10_000), page_size=st.none() | page_sizes,
    watermark=maybe_times, sweep_since=maybe_times)
finished_states = states.map(lambda state: replace(state, cursor=None, mode=None, top=None, stop_before=None))

# The modes of the lanes that walk in creation order: their walks begin with `creation_order`.
CREATION_ORDER = {name for name, spec in LANES.items() if spec.creation_order}
FEW = settings(max_examples=60, deadline=None)


def page_url(n: int) -> str:
    return f"http://hub/api/models?cursor=page{n}"


def walk(state: WalkState, mode: str, newest: list[datetime | None], *, now: datetime,
         page_size: int = 100) -> tuple[list[WalkState], list[datetime | None]]:
    """One walk of ``len(newest)`` pages from ``state``, as a sync commits them: every state after
    a page, and what ``sweep_due`` said of each page before it was committed."""
    state = state.begin(mode, first_url=page_url(0), page_size=page_size, now=now,
                        creation_order=mode in CREATION_ORDER)
    after, sweeps = [], []
    for n, top in enumerate(newest, start=1):
        next_url = page_url(n) if n < len(newest) else None
        sweeps.append(state.sweep_due(next_url))
        state = state.advance(next_url=next_url, page_size=page_size, newest=top)
        after.append(state)
    return after, sweeps


def first_seen(newest: list[datetime | None]) -> datetime | None:
    """The walk's top: the newest lastModified of its first page that showed one."""
    return next((top for top in newest if top is not None), None)


@FEW
@given(states, urls)
def test_no_sweep_is_due_while_a_next_page_exists(state, next_url):
    assert state.sweep_due(next_url) is None


@FEW
@given(finished_states.map(lambda state: replace(state, scope=state.kind + "?author=a", sweep_since=None)),
       st.lists(st.tuples(st.sampled_from(MODES), walk_pages), min_size=1, max_size=4), times)
def test_a_scoped_walk_never_sweeps_and_never_leaves_a_sweep_pending(state, walks, now):
    for mode, newest in walks:
        after, sweeps = walk(state, mode, newest, now=now)
        assert sweeps == [None] * len(newest)
        state = after[-1]
        assert not state.sweep_pending


@FEW
@given(finished_states.map(lambda state: replace(state, scope=state.kind)), walk_pages,
       st.integers(1, 5), times, times)
def test_a_full_walks_sweep_is_due_only_at_the_end_of_a_one_page_catch_up(state, full_pages, catch_up_pages,
                                                                         began, caught_up):
    after_full, sweeps = walk(state, "full", full_pages, now=began)
    assert sweeps == [None] * len(full_pages), "the full walk itself proves nothing yet"
    assert after_full[-1].sweep_pending and after_full[-1].sweep_since == began

    after_catch_up, sweeps = walk(after_full[-1], "incremental", [None] * catch_up_pages, now=caught_up)
    if catch_up_pages == 1:
        assert sweeps == [began], "rows unseen since the full walk began are gone"
        assert not after_catch_up[-1].sweep_pending
    else:
        assert sweeps == [None] * catch_up_pages, "a row could have jumped above a longer catch-up's cursor"
        assert after_catch_up[-1].sweep_since == began, "the sweep waits for a later one-page catch-up"


@FEW
@given(finished_states, st.sampled_from(("reconcile", "verify")), walk_pages, times)
def test_a_walk_in_creation_order_sweeps_at_its_end_from_its_start_unless_scoped(state, mode, newest, began):
    after, sweeps = walk(state, mode, newest, now=began)
    assert sweeps[:-1] == [None] * (len(newest) - 1)
    assert sweeps[-1] == (None if state.scoped else began)
    if not state.scoped:
        assert not after[-1].sweep_pending, "its sweep covers any sweep a full walk left pending"


@FEW
@given(finished_states, st.sampled_from(("incremental", "stats")), walk_pages, times)
def test_a_walk_that_proves_nothing_keeps_a_pending_sweep_unless_its_one_page_catches_up(state, mode, newest, now):
    after, sweeps = walk(state, mode, newest, now=now)
    if sweeps[-1] is None:
        assert after[-1].sweep_since == state.sweep_since
    else:
        assert (mode, len(newest)) == ("incremental", 1) and sweeps[-1] == state.sweep_since


@FEW
@given(finished_states, st.sampled_from(MODES), walk_pages, st.lists(page_sizes, min_size=8, max_size=8), times)
def test_any_walk_ends_finished_with_its_pages_counted_and_its_top_as_the_watermark(state, mode, newest, sizes,
                                                                                    now):
    previous = state.watermark
    state = state.begin(mode, first_url=page_url(0), page_size=sizes[0], now=now,
                        creation_order=mode in CREATION_ORDER)
    for n, top in enumerate(newest, start=1):
        next_url = page_url(n) if n < len(newest) else None
        state = state.advance(next_url=next_url, page_size=sizes[n - 1], newest=top)
        assert state.pages == n and state.page_size == sizes[n - 1]
        if next_url is not None:
            assert (state.cursor, state.mode, state.started_at) == (next_url, mode, now)
            assert state.top == first_seen(newest[:n]) and state.watermark == previous
    assert (state.cursor, state.mode, state.top, state.stop_before) == (None, None, None, None)
    top = first_seen(newest)
    if mode == "full" and top is not None:
        assert state.watermark == top, "a full walk saw the whole listing: its top is the truth, even if lower"
    else:
        assert state.watermark == max(filter(None, (previous, top)), default=None)


@FEW
@given(states, st.sampled_from(MODES), urls, page_sizes, times, st.timedeltas(timedelta(0), timedelta(days=1)))
def test_begin_starts_from_the_top_and_keeps_what_finished_walks_left(state, mode, first_url, page_size, now,
                                                                      overlap):
    begun = state.begin(mode, first_url=first_url, page_size=page_size, now=now, overlap=overlap)
    assert (begun.cursor, begun.mode, begun.started_at, begun.top, begun.pages, begun.page_size) == (
        first_url, mode, now, None, 0, page_size)
    incremental = mode == "incremental" and state.watermark is not None
    assert begun.stop_before == (state.watermark - overlap if incremental else None)
    assert (begun.scope, begun.kind, begun.watermark, begun.sweep_since) == (
        state.scope, state.kind, state.watermark, state.sweep_since)
    assert state.begin(mode, first_url=first_url, page_size=page_size, now=now).stop_before == (
        state.watermark - OVERLAP if incremental else None), "ten minutes below the watermark by default"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(finished_states, st.sampled_from(MODES), walk_pages, st.data(), times, times)
def test_a_stopped_walk_saved_and_loaded_resumes_to_the_same_end(db, state, mode, newest, data, began, saved_at):
    """The state committed with a page is all a later run has: reloaded, it walks on to the very
    state the uninterrupted walk ends in."""
    uninterrupted, _ = walk(state, mode, newest, now=began)
    stopped_after = data.draw(st.integers(1, len(newest)), label="pages before the stop")
    engine = open_catalog(db.url)
    try:
        with engine.begin() as conn:
            save_state(conn, uninterrupted[stopped_after - 1], now=saved_at)
        # As a run does: the lane whose state row it is says whether it walks in creation order.
        resumed = replace(load_state(engine, state.scope, state.kind), creation_order=mode in CREATION_ORDER)
    finally:
        engine.dispose()
    assert resumed == uninterrupted[stopped_after - 1]
    for n in range(stopped_after + 1, len(newest) + 1):
        next_url = page_url(n) if n < len(newest) else None
        resumed = resumed.advance(next_url=next_url, page_size=100, newest=newest[n - 1])
    assert resumed == uninterrupted[-1]
