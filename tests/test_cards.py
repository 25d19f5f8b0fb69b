"""The cards lane: each selected repo's README body, fetched at its sha only when the sha moved."""

from __future__ import annotations

import json
import threading
import unicodedata
import zlib
from urllib.parse import unquote

import pytest
from click.testing import CliRunner

from harvester import Catalog as HarvesterCatalog
from harvester.cards import DEFAULT_WHERE, body_of
from harvester.cli import main
from harvester.emulator.cards import HOSTILE, HOSTILE_FIRST
from harvester.emulator.corpus import Corpus
from harvester.emulator.faults import Quota
from harvester.errors import ConfigError, Interrupted
from harvester.store import cards as stored_cards
from harvester.sync import sync
from harvester.where import check_where
from helpers import config

EVERY = "1=1"


@pytest.fixture
def hub(make_hub):
    """An emulator of each test's own: the tests here change its corpus or its faults."""
    return make_hub(models=300, datasets=40, seed=29)


def expected(hub, kind: str = "models") -> dict[str, tuple[str, str | None]]:
    """Each live repo's card as the emulator serves it now: (state, body)."""
    corpus = hub.corpora[kind]
    truth = {}
    for j in corpus.live():
        text = corpus.card_text(j)
        if corpus.disabled[j] or corpus.gated_value(j) == "manual":
            truth[corpus.ids[j]] = ("unreadable", None)
        elif text is None:
            truth[corpus.ids[j]] = ("none", None)
        else:
            truth[corpus.ids[j]] = ("card", body_of(text.encode()).decode())
    return truth


def stored(db, kind: str = "models") -> dict[str, tuple[str, str | None]]:
    one = kind[:-1]
    with HarvesterCatalog(db.url) as catalog:
        states = db.rows(f"SELECT r.id, c.state FROM {one}_cards c JOIN {kind} r ON r.row_key = c.{one}_key")
        return {repo_id: (state, catalog.card(repo_id, kind=kind)) for repo_id, state in states}


def card_paths(hub, kind: str = "models") -> list[str]:
    return [unquote(request.path) for request in hub.card_requests(kind) if request.status != 307]


def test_the_first_run_reads_every_selected_card_once_at_its_sha_and_asks_nothing_of_the_api(hub, db):
    sync(config(hub, db))
    hub.requests.clear()
    run = sync(config(hub, db, lane="cards", where=EVERY, cards_batch=64))
    assert (run["scope"], run["mode"], run["status"], run["complete"]) == ("models:cards", "cards", "ok", True)
    assert run["requests"] == len(card_paths(hub)) == 300 and run["pages"] == 5
    assert not hub.repo_requests() and not hub.listing_requests(), "files only: the API bucket is untouched"
    corpus = hub.corpora["models"]
    assert {path.split("/resolve/")[1] for path in card_paths(hub)} == \
        {f"{corpus.sha(j)}/README.md" for j in corpus.live()}
    truth = expected(hub)
    assert stored(db) == truth
    assert {state for state, _ in truth.values()} == {"card", "none", "unreadable"}
    errors = dict(db.rows("SELECT state, min(error) FROM model_cards GROUP BY state"))
    assert errors["none"] == "EntryNotFound" and errors["card"] is None and errors["unreadable"]
    logged = db.rows("SELECT count(*) FROM changes WHERE CAST(fields AS TEXT) LIKE '%card%'")[0][0]
    assert logged == sum(state == "card" for state, _ in truth.values()) == run["rows_updated"]


def test_later_runs_fetch_only_repos_whose_sha_moved_and_log_card_when_the_text_changed(hub, db):
    sync(config(hub, db))
    sync(config(hub, db, lane="cards", where=EVERY))
    hub.requests.clear()
    assert sync(config(hub, db, lane="cards", where=EVERY))["requests"] == 0
    corpus = hub.corpora["models"]
    moved = corpus.modify(12)
    sync(config(hub, db))
    hub.requests.clear()
    run = sync(config(hub, db, lane="cards", where=EVERY))
    assert sorted(p.split("/resolve/")[0].lstrip("/") for p in card_paths(hub)) == sorted(moved)
    assert run["requests"] == 12
    assert stored(db) == expected(hub)
    logged = {repo_id for (repo_id,) in db.rows(
        "SELECT repo_id FROM changes WHERE CAST(fields AS TEXT) LIKE '%card%' AND run_id = :run", run=run["id"])}
    assert logged == {repo_id for repo_id in moved if expected(hub)[repo_id][0] == "card"}


def test_an_unreadable_card_is_not_asked_again_until_its_sha_moves(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    gated = next(j for j in corpus.live() if corpus.gated_value(j) == "manual")
    sync(config(hub, db, lane="cards", where=EVERY))
    assert db.rows("SELECT c.state, c.error FROM model_cards c JOIN models r ON r.row_key = c.model_key "
                   "WHERE r.id = :id", id=corpus.ids[gated]) == [("unreadable", "GatedRepo")]
    hub.requests.clear()
    assert sync(config(hub, db, lane="cards", where=EVERY))["requests"] == 0
    corpus.modify(ids=[corpus.ids[gated]])
    sync(config(hub, db))
    hub.requests.clear()
    assert sync(config(hub, db, lane="cards", where=EVERY))["requests"] == 1


def test_a_renamed_repo_is_read_through_the_hubs_redirect(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    before = expected(hub)
    with_card = [corpus.ids[j] for j in corpus.live() if before[corpus.ids[j]][0] == "card"][:3]
    renames = corpus.rename(ids=with_card)
    run = sync(config(hub, db, lane="cards", where=EVERY))
    assert run["status"] == "ok"
    assert sum(r.status == 307 for r in hub.card_requests()) == 3
    truth = expected(hub)
    for old, new in renames:
        assert stored(db)[old] == truth[new], "stored under the catalog's row, read from the new id"


def test_where_selects_the_repos_and_the_default_reads_the_busy_ones(hub, db):
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    run = sync(config(hub, db, lane="cards", where="downloads >= 1000 AND pipeline_tag IS NOT NULL"))
    chosen = {corpus.ids[j] for j in corpus.live() if corpus.downloads[j] >= 1000 and corpus.category_value(j)}
    assert set(stored(db)) == chosen and run["requests"] == len(chosen) > 0
    sync(config(hub, db, lane="cards"))
    busy = {corpus.ids[j] for j in corpus.live() if corpus.downloads[j] >= 100}
    assert set(stored(db)) == chosen | busy and busy - chosen
    assert DEFAULT_WHERE["models"] == "downloads >= 100"


def test_max_repos_caps_a_run_and_the_next_run_goes_on(hub, db):
    sync(config(hub, db))
    first = sync(config(hub, db, lane="cards", where=EVERY, max_repos=40, cards_batch=15))
    assert (first["requests"], first["complete"]) == (40, False)
    assert len(stored(db)) == 40
    second = sync(config(hub, db, lane="cards", where=EVERY))
    assert (second["requests"], second["complete"]) == (260, True)
    assert stored(db) == expected(hub)


def test_a_stop_commits_the_batch_in_hand_and_the_next_run_finishes(hub, db):
    sync(config(hub, db))
    stop = threading.Event()
    with pytest.raises(Interrupted):
        sync(config(hub, db, lane="cards", where=EVERY, cards_batch=50), stop=stop, on_page=lambda stats: stop.set())
    assert len(stored(db)) == 50
    hub.requests.clear()
    sync(config(hub, db, lane="cards", where=EVERY))
    assert len(card_paths(hub)) == 250 and stored(db) == expected(hub)


def test_transient_failures_and_bodies_cut_short_are_retried(hub, db):
    sync(config(hub, db))
    for fault in ("503,every=9", "drop,every=13", "truncate,every=11", "malformed,every=17"):
        hub.faults.add(fault)
    run = sync(config(hub, db, lane="cards", where=EVERY))
    assert run["status"] == "ok" and run["retries"] > 20
    assert stored(db) == expected(hub)


def test_the_lane_runs_in_the_resolvers_bucket_with_a_pace_of_its_own(hub, db):
    sync(config(hub, db))
    hub.faults.quota = Quota(1, 300.0)  # the API bucket is spent ...
    hub.faults.admit()
    hub.faults.resolver_quota = Quota(100, 1.0)  # ... and the resolvers' runs low every 100 requests
    run = sync(config(hub, db, lane="cards", where=EVERY))
    assert run["status"] == "ok" and run["requests"] == 300
    assert stored(db) == expected(hub)
    assert all(r.status != 429 for r in hub.card_requests()), "paced from its bucket's headers, not refused"


def test_datasets_have_cards_too(hub, db):
    sync(config(hub, db, kind="datasets"))
    run = sync(config(hub, db, kind="datasets", lane="cards", where=EVERY))
    assert run["scope"] == "datasets:cards" and run["requests"] == 40
    assert not hub.card_requests("models") and len(hub.card_requests("datasets")) == 40
    assert stored(db, "datasets") == expected(hub, "datasets")


def test_hostile_bodies_are_stored_exactly_and_oversized_ones_capped_and_counted(make_hub, db, monkeypatch):
    seed = next(seed for seed in range(100) if Corpus.generate("models", 40, seed).has_card(HOSTILE_FIRST))
    hub = make_hub(models=40, seed=seed)
    sync(config(hub, db))
    corpus = hub.corpora["models"]
    [hostile] = corpus.hostile_cards()
    monkeypatch.setattr("harvester.cards.MAX_BODY", 30_000)
    sync(config(hub, db, lane="cards", where=EVERY))
    body = stored(db)[hostile][1]
    assert HOSTILE in body and "\x00\x07\x08\x0b\x0c\x1b[31m" in body
    cut = db.rows("SELECT r.id, c.size FROM model_cards c JOIN models r ON r.row_key = c.model_key "
                  "WHERE c.truncated")
    assert cut and all(size > 30_000 for _, size in cut)
    whole = {repo_id: expected(hub)[repo_id][1] for repo_id, _ in cut}
    assert all(stored(db)[repo_id][1] == whole[repo_id].encode()[:30_000].decode() for repo_id in whole)


def test_invalid_utf8_and_control_bytes_are_stored_as_served():
    body = b"caf\xe9 \x00\x1b[2J \xff\xfe ok"
    assert zlib.decompress(stored_cards.compress(body)) == body
    assert stored_cards.as_text(stored_cards.compress(body)) == "caf\ufffd \x00\x1b[2J \ufffd\ufffd ok"
    assert body_of(b"---\nlicense: mit\n---\n\n\xff body") == b"\n\xff body"
    assert body_of(b"no front matter") == b"no front matter"


@pytest.mark.parametrize("where", [
    "1=1; DROP TABLE models", "1=1) OR (1=1", "downloads > 0 --", "likes /* x */ > 0", "id = 'a",
    "(likes > 1", "1=1 UNION SELECT 1", "id IN (DELETE FROM models RETURNING id)", "pg_sleep(10) IS NULL",
    "load_extension('x') IS NULL", "likes > 0); ATTACH 'x' AS y; --", "1=1 ORDER BY 1", "",
])
def test_where_refuses_anything_but_one_read_only_expression(where):
    with pytest.raises(ConfigError, match="--where"):
        check_where(where)


@pytest.mark.parametrize("where", [
    "downloads >= 100", "pipeline_tag = 'text-generation' AND likes > 5", "id LIKE '%; drop%'",
    "author IN ('a', 'b') OR (likes > 3 AND NOT private)", "replace(id, '-', '') LIKE 'x%'", '"license" = \'mit\'',
])
def test_where_takes_ordinary_expressions(where):
    assert check_where(where) == where


def test_a_where_that_names_no_column_is_a_configuration_error(hub, db):
    sync(config(hub, db))
    with pytest.raises(ConfigError, match="does not select models"):
        sync(config(hub, db, lane="cards", where="no_such_column > 1"))


def test_cards_refuse_scope_filters_and_share_where_and_max_repos_with_details(hub, db):
    with pytest.raises(ConfigError, match="scope filters"):
        config(hub, db, lane="cards", author="x")
    with pytest.raises(ConfigError, match="--where applies to --details and --cards only"):
        config(hub, db, lane="stats", where="likes > 1")
    with pytest.raises(ConfigError, match="--max-repos applies to --details and --cards only"):
        config(hub, db, lane="stats", max_repos=3)


def test_cli_cards_with_where_and_a_budget(hub, db):
    sync(config(hub, db))
    result = CliRunner().invoke(main, ["sync", "--db", str(db), "--endpoint", hub.url, "--cards",
                                       "--where", "likes >= 0", "--max-repos", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert '"mode": "cards"' in result.stdout and len(hub.card_requests()) == 3
    bad = CliRunner().invoke(main, ["sync", "--db", str(db), "--endpoint", hub.url, "--cards",
                                    "--where", "1=1; DELETE FROM models"])
    assert bad.exit_code == 2 and "--where" in bad.stderr
    assert db.rows("SELECT count(*) FROM models")[0][0] == 300


def searched(db, *words: str) -> dict[str, str | None]:
    result = CliRunner().invoke(main, ["search", "--db", db.url, "--json", "--limit", "1000", *words])
    assert result.exit_code == 0, result.output
    return {row["id"]: row["snippet"] for row in json.loads(result.stdout)}


def test_search_finds_card_text_with_a_snippet_and_follows_the_cards_as_they_change(hub, db):
    sync(config(hub, db))
    assert searched(db, "chemistry", "reaction") == {}, "no card text before the lane reads it"
    sync(config(hub, db, lane="cards", where=EVERY))
    truth = expected(hub)
    about = {repo_id for repo_id, (state, body) in truth.items() if state == "card" and "chemistry reaction" in body}
    found = searched(db, "chemistry", "reaction")
    assert about and set(found) == about
    assert all("chemistry" in (snippet or "").lower() for snippet in found.values())
    corpus = hub.corpora["models"]
    changed = corpus.modify(ids=sorted(about))
    sync(config(hub, db))
    sync(config(hub, db, lane="cards", where=EVERY))
    now = {repo_id for repo_id in changed if "chemistry reaction" in (expected(hub)[repo_id][1] or "")}
    assert set(searched(db, "chemistry", "reaction")) == now, "the index follows the cards the lane replaced"


def test_snippets_of_hostile_cards_carry_no_control_characters(make_hub, db):
    seed = next(seed for seed in range(100) if Corpus.generate("models", 40, seed).has_card(HOSTILE_FIRST))
    hub = make_hub(models=40, seed=seed)
    sync(config(hub, db))
    sync(config(hub, db, lane="cards", where=EVERY))
    [hostile] = hub.corpora["models"].hostile_cards()
    snippet = searched(db, "control", "characters")[hostile]
    assert "Control characters:" in snippet and "red" in snippet
    assert not any(unicodedata.category(c)[0] == "C" for c in snippet), snippet
