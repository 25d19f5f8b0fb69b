"""SQLite and PostgreSQL hold the same catalog after the same runs (run with --backend all)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog import Catalog
from harvester.kinds import KINDS
from harvester.store.schema import JsonDocument, metadata
from harvester.sync import sync, sync_kind
from helpers import config

pytestmark = pytest.mark.both_backends

# Columns that record when this catalog saw something, not what the Hub said.
LOCAL_TIME = {"first_seen_at", "last_seen_at", "verified_at", "deleted_at", "renamed_at", "taken_at", "updated_at",
              "changed_at", "walk_started_at", "added_at", "refused_at"}
SURROGATE = {("renames", "id")}  # numbered in commit order; ordering by repo id follows each backend's collation
SKIPPED_TABLES = {"sync_runs", "sync_locks"}  # run history: times, and request counts that vary with timing


def contents(db: Catalog) -> dict[str, list]:
    """Every table's rows, local times reduced to whether they are set, JSON parsed, sorted."""
    tables = {}
    for table in metadata.sorted_tables:
        if table.name in SKIPPED_TABLES:
            continue
        names = [c.name for c in table.columns if (table.name, c.name) not in SURROGATE]
        rows = []
        for row in db.rows(f"SELECT {', '.join(names)} FROM {table.name}"):
            shaped = []
            for name, value in zip(names, row, strict=True):
                if name in LOCAL_TIME:
                    value = value is not None
                elif isinstance(table.c[name].type, JsonDocument) and value is not None:
                    value = json.loads(value)
                shaped.append(value)
            rows.append(tuple(shaped))
        tables[table.name] = sorted(rows, key=repr)
    return tables


def test_the_same_runs_build_the_same_catalog_on_sqlite_and_postgresql(tmp_path: Path, postgres, make_hub):
    catalogs = [Catalog.sqlite(tmp_path / "hub.db"), Catalog(postgres.create_database("same_runs"))]
    hub = make_hub(models=700, datasets=150, spaces=150, seed=17)
    for db in catalogs:
        for kind in KINDS:
            sync(config(hub, db, kind=kind))
    corpus = hub.corpora["models"]
    corpus.modify(40), corpus.rename(5), corpus.delete(8), corpus.add(12), corpus.bump_counters(60)
    corpus.drift(50), corpus.make_private(3)
    for db in catalogs:
        list(sync_kind(config(hub, db, verify_pages=20)))  # the walk, then a whole lap
        sync(config(hub, db, full=True))
        sync(config(hub, db, lane="stats", top=300))
        sync(config(hub, db, lane="details"))
    sqlite, postgresql = (contents(db) for db in catalogs)
    assert sqlite.keys() == postgresql.keys()
    for name in sqlite:
        assert sqlite[name] == postgresql[name], f"{name} differs between the backends"
    assert len(sqlite["models"]) == 712 and sqlite["model_files"] and sqlite["model_stats"] and sqlite["renames"]
    for db in catalogs:
        db.dispose()
