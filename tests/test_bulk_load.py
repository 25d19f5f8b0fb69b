"""The first walk of an empty kind as a bulk load (`store.loading`): indexes deferred, then built."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import create_engine, inspect

from harvester.catalog import Catalog as HarvesterCatalog
from harvester.store.loading import deferrable
from harvester.sync import sync
from helpers import PAGE, assert_catalog_equals_corpus, config, expected_catalog, sigkill_after


def indexes(db) -> set[str]:
    """The names of the indexes the catalog holds on the tables of the models' deferrable indexes."""
    engine = create_engine(db.url)
    try:
        inspector = inspect(engine)
        return {index["name"] for table in {index.table.name for index in deferrable("models")}
                for index in inspector.get_indexes(table)}
    finally:
        engine.dispose()


def pending(db) -> list[str]:
    return [name for (name,) in db.rows("SELECT name FROM deferred_indexes WHERE kind = 'models' ORDER BY name")]


DEFERRED = sorted(index.name for index in deferrable("models"))


def test_deferrable_indexes_keep_what_a_page_reads():
    assert "ix_models_author" in DEFERRED and "ix_model_tag_keys_tag_id" in DEFERRED
    assert "ix_models_hub_id" not in DEFERRED, "a page finds a repo renamed since an earlier page through it"
    assert not any(index.unique for index in deferrable("models")), "unique indexes are constraints"


def test_a_first_walk_defers_its_indexes_answers_right_meanwhile_and_builds_them_when_it_ends(fresh_hub, db):
    first = sync(config(fresh_hub, db, max_pages=3))
    assert not first["complete"]
    assert pending(db) == DEFERRED
    assert not set(DEFERRED) & indexes(db)
    with HarvesterCatalog(db.url) as catalog:
        [models] = [scope for scope in catalog.status() if scope.scope == "models"]
        assert models.staleness is not None and models.staleness.indexes_pending == len(DEFERRED)
        rows = dict(db.rows("SELECT id, author FROM models"))
        author = sorted(rows.values())[0]
        found = {row["id"] for row in catalog.query(f"SELECT id FROM models WHERE author = '{author}'")}
    assert found == {repo for repo, owner in rows.items() if owner == author}
    assert set(rows) <= set(expected_catalog(fresh_hub))

    second = sync(config(fresh_hub, db))
    assert (second["mode"], second["complete"]) == ("resume", True)
    assert pending(db) == []
    assert set(DEFERRED) <= indexes(db)
    assert_catalog_equals_corpus(fresh_hub, db)
    with HarvesterCatalog(db.url) as catalog:
        [models] = [scope for scope in catalog.status() if scope.scope == "models"]
        assert models.staleness is not None and models.staleness.indexes_pending == 0


def test_a_build_killed_half_way_is_finished_by_the_next_run(fresh_hub, db):
    sync(config(fresh_hub, db))
    left = DEFERRED[::2]  # as a build killed after every other index would leave them
    for name in left:
        db.execute(f"DROP INDEX {name}")
        db.execute("INSERT INTO deferred_indexes (name, kind, deferred_at) VALUES (:n, 'models', :t)",
                   n=name, t="2026-12-07 00:00:00")
    assert not set(left) & indexes(db)
    run = sync(config(fresh_hub, db))
    assert run["mode"] == "incremental"
    assert pending(db) == [] and set(DEFERRED) <= indexes(db)
    assert_catalog_equals_corpus(fresh_hub, db)


def test_only_an_empty_kind_is_loaded_in_bulk(fresh_hub, db):
    sync(config(fresh_hub, db))
    seen: list[list[str]] = []
    again = sync(config(fresh_hub, db, full=True), on_page=lambda stats: seen.append(pending(db)))
    assert again["mode"] == "full" and seen and all(names == [] for names in seen)
    assert set(DEFERRED) <= indexes(db)


def test_a_sigkilled_first_walk_resumes_and_still_builds_its_indexes(make_hub, db):
    hub = make_hub(models=3_000, seed=5, page_size=PAGE)
    hub.faults.add("slow=0.05")
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HARVESTER_DB": db.url}
    process = subprocess.Popen([sys.executable, "-m", "harvester", "sync", "--page-size", str(PAGE)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sigkill_after(process, db, 10)
    assert pending(db) == DEFERRED
    hub.faults.clear()
    run = sync(config(hub, db))
    assert (run["mode"], run["complete"]) == ("resume", True)
    assert pending(db) == [] and set(DEFERRED) <= indexes(db)
    assert_catalog_equals_corpus(hub, db)
