"""The change log: exactly what syncs changed, in order, pollable without missing or repeating."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from harvester.cli import main
from harvester.sync import sync
from helpers import config


@pytest.fixture
def hub(make_hub):
    """An emulator of each test's own: the tests here change its corpus or its faults."""
    return make_hub(models=400, datasets=60, seed=29)


def poll(db, since: int, *extra: str) -> tuple[list[dict], int]:
    result = CliRunner().invoke(main, ["changes", "--db", db.url, "--since", str(since), *extra])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return lines[:-1], lines[-1]["next_since"]


def by_change(events: list[dict]) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = {}
    for event in events:
        grouped.setdefault(event["change"], set()).add(event["repo_id"])
    return grouped


def test_the_log_matches_what_the_hub_changed_between_two_syncs_exactly(hub, db):
    sync(config(hub, db))
    first, since = poll(db, 0)
    assert by_change(first) == {"insert": set(hub.corpora["models"].ids)}

    corpus = hub.corpora["models"]
    modified = corpus.modify(7)
    renamed = dict(corpus.rename(3))
    added = corpus.add(5)
    deleted = corpus.delete(4)
    sync(config(hub, db))
    sync(config(hub, db, full=True))  # deletions show only to a complete walk
    events, since = poll(db, since)
    grouped = by_change(events)
    assert grouped.pop("insert") == set(added)
    assert grouped.pop("delete") == set(deleted) - set(renamed)
    assert grouped.pop("rename") == set(renamed.values())
    assert grouped.pop("update") == (set(modified) | set(renamed.values())) - set(deleted)
    assert not grouped
    for event in events:
        if event["change"] == "rename":
            assert renamed[event["previous_id"]] == event["repo_id"] and event["fields"] == ["id"]
        if event["change"] == "update" and event["repo_id"] in modified:
            assert {"sha", "last_modified"} <= set(event["fields"]) and "raw" not in event["fields"]


def test_counter_moves_from_the_stats_lane_are_not_changes_but_a_walk_that_reads_them_is(hub, db):
    sync(config(hub, db))
    _, since = poll(db, 0)
    corpus = hub.corpora["models"]
    top = sorted(corpus.live(), key=lambda j: corpus.downloads[j], reverse=True)[:50]
    bumped = corpus.bump_counters(ids=[corpus.ids[j] for j in top[:10]])
    sync(config(hub, db, lane="stats", top=50))
    assert poll(db, since)[0] == [], "the stats lane writes history, not changes"
    sync(config(hub, db, full=True))
    events, _ = poll(db, since)
    assert {e["repo_id"] for e in events} == set(bumped)
    assert all(e["change"] == "update" and set(e["fields"]) <= {"downloads", "downloads_all_time", "likes",
                                                                 "trending_score"} for e in events)


def test_a_repo_back_after_deletion_is_an_undelete(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    [gone] = corpus.make_private(1)
    sync(config(hub, db, lane="reconcile"))
    corpus.make_public([gone])
    _, since = poll(db, 0)
    sync(config(hub, db, lane="reconcile"))
    events, _ = poll(db, since)
    assert [(e["change"], e["repo_id"]) for e in events] == [("undelete", gone)]


def test_polling_with_the_returned_seq_yields_every_event_once(hub, db):
    corpus = hub.corpora["models"]
    seen: list[int] = []
    since = 0
    for _ in range(4):
        sync(config(hub, db))
        sync(config(hub, db, kind="datasets"))
        corpus.modify(9), corpus.add(3)
        while True:  # small pages of events, as a cautious consumer would read them
            events, since = poll(db, since, "--limit", "37")
            if not events:
                break
            seen.extend(e["seq"] for e in events)
    total = db.rows("SELECT count(*), min(seq), max(seq) FROM changes")[0]
    assert len(seen) == len(set(seen)) == total[0] and seen == sorted(seen)
    assert since == total[2] and total[1] == 1


def test_kind_filter_and_csv(hub, db):
    sync(config(hub, db))
    sync(config(hub, db, kind="datasets"))
    result = CliRunner().invoke(main, ["changes", "--db", db.url, "--kind", "datasets", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 60 and {row["kind"] for row in rows} == {"datasets"}
    assert result.stderr.strip() == f"next: --since {rows[-1]['seq']}"


def test_a_details_run_logs_which_heavy_fields_moved(hub, db):
    sync(config(hub, db))
    _, since = poll(db, 0)
    sync(config(hub, db, lane="details", max_repos=5))
    events, _ = poll(db, since)
    assert len(events) == 5 and all(e["change"] == "update" and e["fields"][:2] == ["files", "files_sha"]
                                    for e in events)
