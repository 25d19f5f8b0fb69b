"""The catalog: migrations, SQLite settings, the upsert's merge behaviour, the row mapping."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import OperationalError

from harvester.cli import main
from harvester.errors import CatalogTooNew
from harvester.mapping import RejectedItem, map_counters, map_model, parse_hub_time
from harvester.state import OVERLAP, WalkState
from harvester.store.bulk import bind_processor
from harvester.store.counters import record_counters
from harvester.store.engine import (
    SCHEMA_HEAD,
    alembic_config,
    create_catalog_engine,
    open_catalog,
    schema_revision,
)
from harvester.store.repos import upsert_repos
from harvester.store.schema import declared_here, metadata, model_tag_keys, model_tags, models, models_raw, tag_names

NOW = datetime(2026, 11, 25, tzinfo=UTC)
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.fixture
def engine(db):
    engine = open_catalog(db.url)
    yield engine
    engine.dispose()


def item(repo_id: str = "acme/model", **fields) -> dict:
    base = {"_id": "6ae67f4400000000000d91ea", "id": repo_id, "sha": "a" * 40, "downloads": 10, "likes": 2,
            "lastModified": "2024-05-13T17:47:06.000Z", "createdAt": "2023-01-02T03:04:05.678Z",
            "tags": ["transformers", "en"]}
    return base | fields


def test_migrations_build_exactly_the_declared_schema(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": declared_here})
        assert compare_metadata(context, metadata) == []


def test_the_revision_opened_without_alembic_is_the_newest_migration():
    """open_catalog skips Alembic for a catalog at SCHEMA_HEAD: it must be migrations/' head."""
    assert SCHEMA_HEAD == HEAD


def test_db_upgrade_creates_the_schema_and_reports_its_revision(tmp_path):
    result = CliRunner().invoke(main, ["db", "upgrade", "--db", str(tmp_path / "new.db")])
    assert result.exit_code == 0 and f"revision {HEAD}" in result.output


def test_migrations_downgrade_to_nothing_and_back(db):
    url = db.url
    engine = open_catalog(url)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert schema_revision(engine) is None
    engine.dispose()
    assert schema_revision(open_catalog(url)) == HEAD


def test_tags_survive_the_tag_table_rebuilds_both_ways(db):
    """Revisions 0009 and 0010 rebuild the tag tables (0010 makes ``model_tags`` a view of them):
    no tag is lost either way, and the cascade from the repo still reaches them."""
    engine = open_catalog(db.url)
    with engine.begin() as conn:
        upsert_repos(conn, "models", [map_model(item("a/one")), map_model(item("b/two", _id="6ae67f4400000000000d91eb",
                                                                               tags=["en", "mlx"]))], now=NOW)
    tags = "SELECT model_id, tag FROM model_tags ORDER BY 1, 2"
    expected = [("a/one", "en"), ("a/one", "transformers"), ("b/two", "en"), ("b/two", "mlx")]
    config = alembic_config()
    for target in ("0008", HEAD):
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            (command.downgrade if target != HEAD else command.upgrade)(config, target)
        assert db.rows(tags) == expected
    with engine.begin() as conn:  # harvester's own connection: SQLite enforces foreign keys per connection
        conn.execute(models.delete().where(models.c.id == "b/two"))
    assert db.rows("SELECT model_id FROM model_tags WHERE tag = 'en'") == [("a/one",)]
    assert db.rows("SELECT count(*) FROM model_tag_keys") == [(2,)], "the deleted repo's tags went with it"
    engine.dispose()


def test_a_catalog_from_a_newer_harvester_is_refused_untouched(tmp_path):
    path = tmp_path / "hub.db"
    open_catalog(f"sqlite:///{path}").dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(CatalogTooNew, match="written by a newer harvester.*9999.*upgrade harvester"):
        open_catalog(f"sqlite:///{path}")
    assert path.read_bytes() == before
    result = CliRunner().invoke(main, ["sync", "--db", str(path), "--endpoint", "http://127.0.0.1:9"])
    assert result.exit_code == 4 and "newer harvester" in result.stderr


@pytest.mark.sqlite_only
def test_sqlite_is_opened_with_wal_busy_timeout_and_foreign_keys(engine):
    with engine.connect() as conn:
        pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert (pragma("journal_mode"), pragma("foreign_keys"), pragma("busy_timeout")) == ("wal", 1, 30_000)


@pytest.mark.sqlite_only
def test_connections_opening_a_new_file_at_once_all_get_it_in_wal_mode(tmp_path):
    """Switching a new file to WAL can deadlock between two connections, which SQLite breaks by
    failing one at once; without a retry, about one round in eight failed here."""
    def open_at_once(url: str, errors: list[Exception], start: threading.Barrier) -> None:
        engine = create_catalog_engine(url)
        start.wait()
        try:
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        except Exception as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)
        finally:
            engine.dispose()

    errors: list[Exception] = []
    for round_ in range(30):
        start = threading.Barrier(4)
        threads = [threading.Thread(target=open_at_once, args=(f"sqlite:///{tmp_path / f'{round_}.db'}", errors, start))
                   for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []


@pytest.mark.sqlite_only
def test_a_file_another_writer_holds_is_waited_for_once_not_once_per_retry(tmp_path):
    path = tmp_path / "held.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")  # a rollback-journal file: switching it to WAL must wait
    engine = create_catalog_engine(f"sqlite:///{path}", busy_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(OperationalError, match="locked"):
        engine.connect()
    assert time.monotonic() - started < 3, "the busy timeout bounds the whole wait (it was 20 of them)"
    holder.close()
    engine.dispose()


def test_upsert_merges_changes_keeps_first_seen_and_replaces_tags(engine):
    with engine.begin() as conn:
        assert upsert_repos(conn, "models", [map_model(item())], now=NOW) == (1, 0, 0, 0, 0)
    later = NOW + timedelta(hours=1)
    with engine.begin() as conn:
        assert upsert_repos(conn, "models", [map_model(item())], now=later) == (0, 0, 1, 0, 0)
        changed = map_model(item(sha="b" * 40, tags=["transformers", "fr"]))
        assert upsert_repos(conn, "models", [changed], now=later) == (0, 1, 0, 0, 0)
    with engine.connect() as conn:
        row = conn.execute(select(models)).mappings().one()
        tags = set(conn.execute(select(model_tags.c.tag)).scalars())
    assert row["sha"] == "b" * 40 and tags == {"transformers", "fr"}
    assert row["first_seen_at"].replace(tzinfo=UTC) == NOW and row["last_seen_at"].replace(tzinfo=UTC) == later


def test_row_keys_grow_with_arrival_and_stay_with_their_row(engine):
    """New rows take keys above every key before them (so their tags are appended), in id order
    within a page; a changed row keeps its key, and its tags are replaced under it when they changed
    and left as they are when they did not."""
    with engine.begin() as conn:
        upsert_repos(conn, "models", [map_model(item("b/two", _id="6ae67f4400000000000d91eb")),
                                      map_model(item("a/one"))], now=NOW)
        counts = upsert_repos(conn, "models", [map_model(item("c/three", _id="6ae67f4400000000000d91ec")),
                                               map_model(item("a/one", tags=["fr"])),
                                               map_model(item("b/two", _id="6ae67f4400000000000d91eb", likes=9))],
                              now=NOW)
    assert counts == (1, 2, 0, 0, 0)
    with engine.connect() as conn:
        keys = dict(conn.execute(select(models.c.id, models.c.row_key)).all())
        stored = sorted(conn.execute(select(model_tag_keys.c.model_key, tag_names.c.tag)
                                     .join(tag_names, tag_names.c.id == model_tag_keys.c.tag_id)).all())
    assert keys == {"a/one": 1, "b/two": 2, "c/three": 3}
    assert stored == [(1, "fr"), (2, "en"), (2, "transformers"), (3, "en"), (3, "transformers")]


def test_duplicate_ids_in_a_page_keep_the_last(engine):
    with engine.begin() as conn:
        rows = [map_model(item(likes=1)), map_model(item(likes=5))]
        assert upsert_repos(conn, "models", rows, now=NOW) == (1, 0, 0, 0, 0)
    with engine.connect() as conn:
        assert conn.execute(select(models.c.likes)).scalar_one() == 5


# -- mapping ----------------------------------------------------------------------------------------


def test_map_model_reads_the_hubs_fields():
    row = map_model(item(gated="manual", cardData={"license": "mit"}, pipeline_tag="fill-mask")).row
    assert row["author"] == "acme" and row["gated"] == "manual" and row["license"] == "mit"
    assert row["last_modified"] == datetime(2024, 5, 13, 17, 47, 6, tzinfo=UTC)
    assert row["created_at"].microsecond == 678_000 and row["pipeline_tag"] == "fill-mask"


def test_license_falls_back_to_the_license_tag_and_gated_false_is_null():
    row = map_model(item(tags=["license:apache-2.0"], gated=False)).row
    assert (row["license"], row["gated"]) == ("apache-2.0", None)


def test_legacy_ids_without_author():
    assert map_model(item("gpt2")).row["author"] is None


@pytest.mark.parametrize("bad", [
    [], "text", {"id": "x"}, {"_id": "y"}, item(tags="not-a-list"), item(lastModified=12), item(createdAt="yesterday"),
])
def test_items_that_cannot_be_rows_are_rejected_with_a_reason(bad):
    with pytest.raises(RejectedItem):
        map_model(bad)


def test_parse_hub_time_is_utc():
    assert parse_hub_time("2024-05-13T17:47:06.123Z") == datetime(2024, 5, 13, 17, 47, 6, 123000, tzinfo=UTC)
    assert parse_hub_time(None) is None


# -- walk state -------------------------------------------------------------------------------------


def test_walk_state_takes_its_watermark_from_the_top_of_the_walk():
    top = datetime(2026, 1, 1, tzinfo=UTC)
    state = WalkState("models", "models").begin("full", first_url="u0", page_size=100, now=NOW)
    state = state.advance(next_url="u1", page_size=100, newest=top)
    state = state.advance(next_url=None, page_size=50, newest=top - timedelta(days=300))
    assert (state.watermark, state.cursor, state.pages, state.page_size) == (top, None, 2, 50)
    incremental = state.begin("incremental", first_url="u0", page_size=100, now=NOW)
    assert incremental.stop_before == top - OVERLAP


@pytest.mark.parametrize(("url", "message", "code"), [
    ("nonsense://x", "not a database URL SQLAlchemy knows", 1),
    ("postgresql+nosuchdriver://u@h/db", "not a database URL SQLAlchemy knows", 1),
    ("mysql://u:secret@h/db", "in SQLite or PostgreSQL, not mysql", 2),
    ("mssql+pyodbc://u@h/db", "in SQLite or PostgreSQL, not mssql", 2),
])
def test_bad_database_urls_are_one_line_errors(url, message, code):
    result = CliRunner().invoke(main, ["status", "--db", url])
    assert result.exit_code == code and message in result.stderr and "Traceback" not in result.stderr
    assert "secret" not in result.stderr
    synced = CliRunner().invoke(main, ["sync", "--db", url, "--kind", "all", "--endpoint", "http://127.0.0.1:9"])
    assert synced.exit_code == code and synced.stderr.count(message) == 1, "said once, not once per kind"


def test_status_of_a_missing_catalog_says_so_and_creates_nothing(tmp_path):
    path = tmp_path / "nothere.db"
    result = CliRunner().invoke(main, ["status", "--db", str(path)])
    assert result.exit_code == 1 and "no catalog at" in result.stderr and "harvester sync" in result.stderr
    assert not path.exists()


def test_status_of_a_database_without_our_schema_says_so(tmp_path):
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE unrelated (x)").connection.close()
    result = CliRunner().invoke(main, ["status", "--db", str(path)])
    assert result.exit_code == 1 and "has no harvester schema" in result.stderr


def test_status_of_a_fresh_catalog_says_no_syncs_yet(tmp_path):
    path = tmp_path / "hub.db"
    assert CliRunner().invoke(main, ["db", "upgrade", "--db", str(path)]).exit_code == 0
    result = CliRunner().invoke(main, ["status", "--db", str(path)])
    assert result.exit_code == 0 and "no syncs yet" in result.output


def test_a_missing_postgresql_driver_names_the_extra_to_install():
    hide_psycopg = "import sys; sys.modules['psycopg'] = None; from harvester.cli import main; main()"
    result = subprocess.run([sys.executable, "-c", hide_psycopg, "status", "--db",
                             "postgresql+psycopg://someone:secret@127.0.0.1:9/hub"], capture_output=True, text=True)
    assert result.returncode == 1
    assert "pip install 'hf-harvester[postgres]'" in result.stderr and "secret" not in result.stderr


@given(st.datetimes(timezones=st.sampled_from([UTC, None])), st.booleans())
def test_sqlite_datetimes_are_bound_as_sqlalchemy_binds_them(value, twice):
    """The bulk writer's faster formatter gives SQLAlchemy's text (which SQL compares as text)."""
    dialect = sqlite.dialect()
    column_type = models.c.created_at.type
    fast, reference = bind_processor(column_type, dialect), column_type.dialect_impl(dialect).bind_processor(dialect)
    if twice:  # the text kept of the value before is not mistaken for this one's
        fast(value.replace(microsecond=(value.microsecond + 1) % 1_000_000))
    assert fast(value) == fast(value) == reference(value)


def _raw(conn, repo_id: str) -> dict:
    raw = conn.execute(select(models_raw.c.raw).where(models_raw.c.id == repo_id)).scalar_one()
    return json.loads(raw) if isinstance(raw, str) else raw


def test_after_the_counter_lane_the_raw_item_follows_the_columns_and_a_listing_corrects_them(engine):
    """The counter lane's values show in every item, even one kept whole in ``raw_extra``; a
    listing that serves the item as first stored (likes back at 2) sets the columns back."""
    plain = item("a/plain", _id="6ae67f4400000000000d91e1")
    whole = item("a/whole", _id="6ae67f4400000000000d91e2", author=None)  # a null field: kept whole
    patched = item("a/patched", _id="6ae67f4400000000000d91e3", trendingScore=2.0)  # a float the column cannot say
    with engine.begin() as conn:
        upsert_repos(conn, "models", [map_model(i) for i in (plain, whole, patched)], now=NOW)
        lane = dict(map_counters("models", {**i, "likes": 99, "trendingScore": 7}) for i in (plain, whole, patched))
        record_counters(conn, "models", lane, run_id=1, now=NOW)
    with engine.connect() as conn:
        for repo_id in lane:
            assert (_raw(conn, repo_id)["likes"], _raw(conn, repo_id)["trendingScore"]) == (99, 7), repo_id
        assert _raw(conn, "a/whole")["author"] is None
    with engine.begin() as conn:
        counts = upsert_repos(conn, "models", [map_model(i) for i in (plain, whole, patched)], now=NOW)
    assert (counts.updated, counts.unchanged) == (3, 0)
    with engine.connect() as conn:
        assert conn.execute(select(models.c.id, models.c.likes).order_by(models.c.id)).all() == [
            ("a/patched", 2), ("a/plain", 2), ("a/whole", 2)]
        assert [_raw(conn, i["id"]) for i in (plain, whole, patched)] == [plain, whole, patched]
        assert type(_raw(conn, "a/patched")["trendingScore"]) is float


@pytest.mark.parametrize("card", [1.0, 0.30000000000000004, -0.0, 10**16, 2**64, "text", [1.5]])
def test_any_card_comes_back_as_it_was_sent(engine, card):
    sent = item(cardData=card)
    with engine.begin() as conn:
        upsert_repos(conn, "models", [map_model(sent)], now=NOW)
    with engine.connect() as conn:
        back = _raw(conn, sent["id"])["cardData"]
    assert back == card and (type(back) is type(card) or engine.dialect.name == "postgresql")  # jsonb: 1.0 is 1


def test_an_item_with_more_tags_than_a_small_integer_counts_is_stored(engine):
    sent = item(tags=[f"t{n}" for n in range(40_000)])
    with engine.begin() as conn:
        upsert_repos(conn, "models", [map_model(sent)], now=NOW)
    with engine.connect() as conn:
        assert _raw(conn, sent["id"])["tags"] == sent["tags"]


@pytest.mark.parametrize("fields", [{"lastModified": "0001-01-01T00:30:00.000+01:00"}, {"trendingScore": 10**400}])
def test_values_beyond_a_datetime_or_a_float_reject_the_item_alone(fields):
    with pytest.raises(RejectedItem, match="range"):
        map_model(item(**fields))
