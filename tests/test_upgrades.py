"""Catalogs written at every revision upgrade to head with their data intact, and back down."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, LargeBinary, MetaData, String, Text, insert, select
from sqlalchemy import text as sa_text

from harvester.store.engine import alembic_config, create_catalog_engine, schema_revision
from harvester.store.schema import is_search_table

REVISIONS = [rev.revision for rev in reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))]
HEAD = REVISIONS[-1]


def migrate(engine, direction: str, target: str) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        getattr(command, direction)(config, target)


def sample_value(column, n: int):
    kind = column.type
    if isinstance(kind, Boolean):
        return n % 2 == 0
    if isinstance(kind, Integer):
        return n
    if isinstance(kind, Float):
        return n + 0.5
    if isinstance(kind, DateTime):
        return datetime(2024, 1, 1 + n, tzinfo=UTC)
    if isinstance(kind, JSON):
        return {"n": n, "text": "é🤗"}
    if isinstance(kind, String | Text):
        return f"{column.name}-{n}"
    if isinstance(kind, LargeBinary):
        return bytes([n, 0, 255])
    raise AssertionError(f"no sample for {column.table.name}.{column.name} of type {kind!r}")


def naive(value):
    """SQLite hands datetimes back without their (UTC) zone; PostgreSQL in its session's zone."""
    return value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, datetime) and value.tzinfo else value


def fill(engine) -> dict[str, list[dict]]:
    """Three rows in every table of the catalog as it stands, foreign keys respected."""
    metadata = MetaData()
    metadata.reflect(engine)
    written: dict[str, list[dict]] = {}
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version" or is_search_table(table.name):
                continue
            seeded = [dict(row) for row in conn.execute(select(table)).mappings()]
            if seeded:  # a table its revision fills (link_relations): its own rows serve
                written[table.name] = seeded
                continue
            rows = []
            for n in range(3):
                row = {c.name: sample_value(c, n) for c in table.columns}
                for fk in table.foreign_keys:
                    row[fk.parent.name] = written[fk.column.table.name][n][fk.column.name]
                rows.append(row)
            conn.execute(insert(table), rows)
            written[table.name] = rows
    return written


@pytest.mark.parametrize("revision", REVISIONS)
def test_a_catalog_from_each_revision_upgrades_to_head_with_its_data(db, revision: str):
    engine = create_catalog_engine(db.url)
    migrate(engine, "upgrade", revision)
    written = fill(engine)
    assert written, "every revision has tables to fill"
    migrate(engine, "upgrade", "head")
    assert schema_revision(engine) == HEAD
    metadata = MetaData()
    metadata.reflect(engine, views=True)  # a table that became a view (the tag tables, 0010) is read through it
    with engine.connect() as conn:
        for name, rows in written.items():
            table = metadata.tables[name]
            stored = [dict(row) for row in conn.execute(select(table)).mappings()]
            if name == "search_indexed" and revision < "0017":  # derived: 0014 and 0017 rebuild the search index
                assert stored == []
                continue
            assert len(stored) == len(rows)
            for row, back in zip(rows, stored, strict=True):
                kept = {key: naive(value) for key, value in row.items() if key in table.c}
                assert {key: naive(back[key]) for key in kept} == kept, f"{name} lost data"
            if name.endswith("_tag_keys") and "tag" in rows[0]:  # tags by id since revision 0012
                key = next(column for column in rows[0] if column.endswith("_key"))
                tags = conn.execute(sa_text(f"SELECT t.{key}, n.tag FROM {name} t JOIN tag_names n ON n.id = t.tag_id"))
                assert set(tags) == {(row[key], row["tag"]) for row in rows}, f"{name} lost tags"
            if name in ("models", "datasets", "spaces") and "raw" in rows[0]:  # a view since revision 0012
                view = metadata.tables[f"{name}_raw"]
                items = {repo_id: json.loads(raw) if isinstance(raw, str) else raw
                         for repo_id, raw in conn.execute(select(view.c.id, view.c.raw))}
                assert items == {row["id"]: row["raw"] for row in rows}, f"{name}_raw lost data"
    engine.dispose()


@pytest.mark.parametrize("revision", REVISIONS)
def test_each_revision_downgrades_and_upgrades_again(db, revision: str):
    engine = create_catalog_engine(db.url)
    migrate(engine, "upgrade", "head")
    before = REVISIONS.index(revision) - 1
    migrate(engine, "downgrade", REVISIONS[before] if before >= 0 else "base")
    assert schema_revision(engine) == (REVISIONS[before] if before >= 0 else None)
    migrate(engine, "upgrade", "head")
    assert schema_revision(engine) == HEAD
    engine.dispose()


def test_revision_0011_turns_json_null_cards_into_sql_null(db):
    engine = create_catalog_engine(db.url)
    migrate(engine, "upgrade", "0010")
    json_null = "'null'::jsonb" if db.backend == "postgresql" else "'null'"
    card = "'{\"license\": \"mit\"}'" + ("::jsonb" if db.backend == "postgresql" else "")
    with engine.begin() as conn:
        for n, value in enumerate((json_null, card)):
            conn.exec_driver_sql(
                f"INSERT INTO models (id, hub_id, raw, card_data, first_seen_at, last_seen_at) VALUES "
                f"('m{n}', 'h{n}', '{{}}', {value}, '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00')")
    migrate(engine, "upgrade", "head")
    engine.dispose()
    assert db.rows("SELECT id FROM models WHERE card_data IS NULL") == [("m0",)]
    assert db.rows("SELECT count(*) FROM models WHERE verified_at IS NULL") == [(2,)]


def test_revision_0021_leaves_fetched_details_alone_until_their_commit_moves(db, make_hub):
    from harvester.sync import sync
    from helpers import config

    hub = make_hub(models=60, seed=5)
    sync(config(hub, db))
    sync(config(hub, db, lane="details"))
    engine = create_catalog_engine(db.url)
    migrate(engine, "downgrade", "0020")  # a catalog whose details a harvester of revision 0020 fetched
    migrate(engine, "upgrade", "head")
    engine.dispose()
    assert db.rows("SELECT count(*) AS n, count(files_sha) AS fetched, count(children_model_count) AS children "
                   "FROM models") == [(60, 60, 0)]
    assert db.rows("SELECT count(*) FROM hub_base_models") == [(0,)]
    assert sync(config(hub, db, lane="details"))["requests"] == 0, "not a request per model to fill them in"
    hub.corpora["models"].modify(4)
    sync(config(hub, db))
    assert sync(config(hub, db, lane="details"))["requests"] == 4
    assert db.rows("SELECT count(children_model_count) FROM models") == [(4,)]
