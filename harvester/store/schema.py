"""The catalog's tables: a public interface users write SQL against.

Change it only through an Alembic revision in ``migrations/versions``.
Timestamps are UTC. ``gated`` is NULL when a repo is not gated, else 'auto' or 'manual'.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

UtcDateTime = DateTime(timezone=True)
# jsonb on PostgreSQL (indexable, compact); "none" is SQL NULL where NullableJSON says so
Json = JSON().with_variant(JSONB(), "postgresql")
NullableJSON = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class Base(DeclarativeBase):
    pass


# Views the revisions create, described for reading only: neither created from here nor compared.
views = MetaData()


class RepoColumns:
    """What every repo kind shares, as the Hub last listed it."""

    id: Mapped[str] = mapped_column(String, primary_key=True)  # "author/name"
    hub_id: Mapped[str] = mapped_column(String, index=True)  # the Hub's stable _id
    author: Mapped[str | None] = mapped_column(String, index=True)
    sha: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_modified: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    private: Mapped[bool | None]
    disabled: Mapped[bool | None]
    likes: Mapped[int | None] = mapped_column(BigInteger, index=True)
    trending_score: Mapped[float | None] = mapped_column(Float)
    license: Mapped[str | None] = mapped_column(String)
    card_data: Mapped[Any | None] = mapped_column(Json)
    raw: Mapped[Any] = mapped_column(Json)  # the item exactly as received
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # NULL while the repo exists
    # The commit whose files (and heavy fields) are stored; `sync --details` refetches when it is not `sha`.
    files_sha: Mapped[str | None] = mapped_column(String)
    # A stable integer per row, growing in the order the catalog first stored repos; tags are
    # stored under it (revision 0010). Kept across renames; never NULL once a sync wrote the row.
    row_key: Mapped[int | None] = mapped_column(Integer, index=True, unique=True)


class Model(RepoColumns, Base):
    """One model repo."""

    __tablename__ = "models"

    gated: Mapped[str | None] = mapped_column(String)
    downloads: Mapped[int | None] = mapped_column(BigInteger, index=True)  # last 30 days
    downloads_all_time: Mapped[int | None] = mapped_column(BigInteger)
    pipeline_tag: Mapped[str | None] = mapped_column(String, index=True)
    library_name: Mapped[str | None] = mapped_column(String, index=True)
    # Heavy fields, from `sync --details` at `files_sha` (SQL NULL when the Hub has none):
    parameters: Mapped[int | None] = mapped_column(BigInteger)  # safetensors total parameter count
    safetensors: Mapped[Any | None] = mapped_column(NullableJSON)  # {"parameters": {dtype: count}, "total": n}
    config: Mapped[Any | None] = mapped_column(NullableJSON)  # config.json highlights: architectures, model_type


class Dataset(RepoColumns, Base):
    """One dataset repo."""

    __tablename__ = "datasets"

    gated: Mapped[str | None] = mapped_column(String)
    downloads: Mapped[int | None] = mapped_column(BigInteger, index=True)
    downloads_all_time: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str | None] = mapped_column(Text)
    paperswithcode_id: Mapped[str | None] = mapped_column(String)


class Space(RepoColumns, Base):
    """One space repo."""

    __tablename__ = "spaces"

    sdk: Mapped[str | None] = mapped_column(String, index=True)  # gradio, streamlit, docker, static
    runtime_stage: Mapped[str | None] = mapped_column(String)  # RUNNING, SLEEPING, BUILD_ERROR, ...
    hardware: Mapped[str | None] = mapped_column(String)  # cpu-basic, t4-small, ...


class Rename(Base):
    """A repo that reappeared under a new id with the same ``hub_id``: updated in place, recorded here."""

    __tablename__ = "renames"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    hub_id: Mapped[str] = mapped_column(String, index=True)
    old_id: Mapped[str] = mapped_column(String, index=True)
    new_id: Mapped[str] = mapped_column(String, index=True)
    run_id: Mapped[int | None] = mapped_column(Integer)
    renamed_at: Mapped[datetime] = mapped_column(UtcDateTime)  # when the catalog noticed


def _tag_table(name: str, repos: str, key: str) -> Table:
    """Tags of one repo kind, stored under the repo's ``row_key``; users read them through the
    view ``<kind>_tags`` (repo id, tag), which `views` describes.

    Keys grow with arrival, so a page's new tags go to the end of the primary key and, within
    each tag, to the end of the tag index, instead of to random places all over both (a repo id
    is random in listing order). Revision 0010.
    """
    return Table(
        name, Base.metadata,
        Column(key, Integer, ForeignKey(f"{repos}.row_key", ondelete="CASCADE"), primary_key=True),
        Column("tag", String, primary_key=True),
        Index(f"ix_{name}_tag", "tag"),
        sqlite_with_rowid=False,
    )


def _tag_view(name: str, key: str) -> Table:
    """The public view of a kind's tags: (repo id, tag), as the tag tables were up to revision 0009."""
    return Table(name, views, Column(key, String), Column("tag", String))


class SyncState(Base):
    """Where each listing scope stands: an unfinished walk's cursor and the last finished watermark."""

    __tablename__ = "sync_state"

    scope: Mapped[str] = mapped_column(String, primary_key=True)  # kind plus any filters
    kind: Mapped[str] = mapped_column(String(16))
    cursor: Mapped[str | None] = mapped_column(Text)  # next-page URL of an unfinished walk
    walk_mode: Mapped[str | None] = mapped_column(String(16))  # full or incremental
    walk_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    walk_top: Mapped[datetime | None] = mapped_column(UtcDateTime)  # newest lastModified when the walk began
    walk_stop_before: Mapped[datetime | None] = mapped_column(UtcDateTime)  # incremental walks stop below this
    walk_pages: Mapped[int] = mapped_column(Integer, default=0)
    page_size: Mapped[int | None] = mapped_column(Integer)
    watermark: Mapped[datetime | None] = mapped_column(UtcDateTime)  # Hub lastModified of the last finished walk
    # Set when a full walk finishes: rows not seen since then are deleted once its catch-up is done.
    sweep_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SyncLock(Base):
    """A scope held by a running sync; renewed with every page, taken over once expired."""

    __tablename__ = "sync_locks"

    scope: Mapped[str] = mapped_column(String, primary_key=True)
    owner: Mapped[str] = mapped_column(String)  # a random id per holding process and run
    host: Mapped[str | None] = mapped_column(String)  # for people reading `harvester status`
    pid: Mapped[int | None] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(Integer)
    ttl_seconds: Mapped[float] = mapped_column(Float)
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the holder's clock plus ttl_seconds


class Change(Base):
    """The change log: one row per insert, update, rename, delete or undelete a sync wrote.

    ``seq`` grows in commit order, so ``WHERE seq > last_seen`` never misses or repeats an event.
    """

    __tablename__ = "changes"
    __table_args__ = (Index("ix_changes_kind_seq", "kind", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    hub_id: Mapped[str] = mapped_column(String, index=True)
    repo_id: Mapped[str] = mapped_column(String)  # the repo id after the change
    change: Mapped[str] = mapped_column(String(16))  # insert, update, rename, delete, undelete
    fields: Mapped[Any | None] = mapped_column(NullableJSON)  # updates: the names of the columns that changed
    previous_id: Mapped[str | None] = mapped_column(String)  # renames: the repo id before
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SearchIndexed(Base):
    """Up to which change ``<kind>_search`` (SQLite FTS5, filled by `harvester search`) is current."""

    __tablename__ = "search_indexed"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)


class SyncRun(Base):
    """One `harvester sync` run and what it did; updated with every committed page."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String, index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    mode: Mapped[str] = mapped_column(String(16))  # full, incremental, resume
    status: Mapped[str] = mapped_column(String(16))  # running, ok, failed, interrupted, abandoned
    complete: Mapped[bool] = mapped_column(default=False)  # False when --max-pages left the walk unfinished
    pages: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    rows_seen: Mapped[int] = mapped_column(Integer, default=0)
    rows_inserted: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rows_renamed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_deleted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    samples_taken: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # --stats history rows
    error: Mapped[str | None] = mapped_column(Text)


def _stats_table(name: str, repos: str, key: str) -> Table:
    """Counter history of one repo kind: a sample per repo and `--stats` run, only when a value changed.

    Clustered on (repo, run) in SQLite, so one repo's history is one contiguous range.
    """
    return Table(
        name, Base.metadata,
        Column(key, String, ForeignKey(f"{repos}.id", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True),
        Column("run_id", Integer, primary_key=True),
        Column("taken_at", UtcDateTime, nullable=False),
        Column("downloads", BigInteger),
        Column("likes", BigInteger),
        Column("trending_score", Float),
        sqlite_with_rowid=False,
    )


def _files_table(name: str, repos: str, key: str) -> Table:
    """Files of one repo kind at its ``files_sha``, from `sync --details`; sizes where the Hub gives them."""
    return Table(
        name, Base.metadata,
        Column(key, String, ForeignKey(f"{repos}.id", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True),
        Column("path", String, primary_key=True),
        Column("size", BigInteger),  # bytes
        Column("lfs_sha256", String),  # for files stored in LFS: the content hash (same weights, same hash)
        sqlite_with_rowid=False,
    )


# Columns only `sync --details` writes; listing upserts leave them as they are.
DETAIL_COLUMNS = frozenset({"files_sha", "parameters", "safetensors", "config"})

models = Model.__table__
datasets = Dataset.__table__
spaces = Space.__table__
model_tag_keys = _tag_table("model_tag_keys", "models", "model_key")
dataset_tag_keys = _tag_table("dataset_tag_keys", "datasets", "dataset_key")
space_tag_keys = _tag_table("space_tag_keys", "spaces", "space_key")
model_tags = _tag_view("model_tags", "model_id")
dataset_tags = _tag_view("dataset_tags", "dataset_id")
space_tags = _tag_view("space_tags", "space_id")
model_stats = _stats_table("model_stats", "models", "model_id")
dataset_stats = _stats_table("dataset_stats", "datasets", "dataset_id")
space_stats = _stats_table("space_stats", "spaces", "space_id")
model_files = _files_table("model_files", "models", "model_id")
dataset_files = _files_table("dataset_files", "datasets", "dataset_id")
space_files = _files_table("space_files", "spaces", "space_id")
sync_state = SyncState.__table__
sync_runs = SyncRun.__table__
sync_locks = SyncLock.__table__
changes = Change.__table__
search_indexed = SearchIndexed.__table__
renames = Rename.__table__

def is_search_table(name: str | None) -> bool:
    """SQLite's FTS5 tables for `harvester search` and their shadow tables: made by revision
    0008 and filled by `harvester search`, not declared here."""
    return bool(name) and any(name.startswith(f"{kind}_search") for kind in ("models", "datasets", "spaces"))


def declared_here(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's ``include_name``: compare and autogenerate everything but the search tables."""
    return not (type_ == "table" and is_search_table(name))


STATS_TABLES = {"models": model_stats, "datasets": dataset_stats, "spaces": space_stats}
FILES_TABLES = {"models": model_files, "datasets": dataset_files, "spaces": space_files}

# Per kind: its table, and the name its dependent tables (stats, files) give the repo id.
REPO_TABLES = {
    "models": (models, "model_id"),
    "datasets": (datasets, "dataset_id"),
    "spaces": (spaces, "space_id"),
}
# Per kind: its tag table and that table's ``row_key`` column.
TAG_TABLES = {
    "models": (model_tag_keys, "model_key"),
    "datasets": (dataset_tag_keys, "dataset_key"),
    "spaces": (space_tag_keys, "space_key"),
}
