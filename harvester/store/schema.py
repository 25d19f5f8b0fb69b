"""The catalog's tables: a public interface users write SQL against.

Change it only through an Alembic revision in ``migrations/versions``.
Timestamps are UTC. ``gated`` is NULL when a repo is not gated, else 'auto' or 'manual'.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.types import TypeEngine

UtcDateTime = DateTime(timezone=True)


class JsonDocument(TypeDecorator):
    """JSON, stored as jsonb on PostgreSQL (indexable, compact). The PostgreSQL type is picked
    when a PostgreSQL engine first uses the column, so opening a SQLite catalog never imports
    the PostgreSQL dialect (a twentieth of a second of every run). With ``none_as_null``, Python's
    None is SQL NULL; without it, the JSON text ``null``."""

    impl = JSON
    cache_ok = True
    comparator_factory = JSON.Comparator

    @property
    def should_evaluate_none(self) -> bool:
        return self.impl.should_evaluate_none

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB(none_as_null=self.impl.none_as_null))
        return dialect.type_descriptor(self.impl)


NullableJSON = JsonDocument(none_as_null=True)

metadata = MetaData()
# Views the revisions create, described for reading only: neither created from here nor compared.
views = MetaData()


def _repo_columns() -> list[Column]:
    """What every repo kind shares, as the Hub last listed it (after the kind's own columns)."""
    return [
        Column("id", String, primary_key=True),  # "author/name"
        Column("hub_id", String, nullable=False, index=True),  # the Hub's stable _id
        Column("author", String, index=True),
        Column("sha", String),
        Column("created_at", UtcDateTime),
        Column("last_modified", UtcDateTime, index=True),
        Column("private", Boolean),
        Column("disabled", Boolean),
        Column("likes", BigInteger, index=True),
        Column("trending_score", Float),
        Column("license", String),
        Column("card_data", NullableJSON),  # SQL NULL when the item has no cardData (revision 0011)
        # What the columns and tags cannot say of the item a listing last served whole (at
        # `verified_at`), so that the view `<kind>_raw` rebuilds it exactly; SQL NULL for the
        # usual item (`mapping.item_patch`). Revision 0012, which dropped the column `raw`.
        Column("raw_extra", NullableJSON),
        Column("item_hash", BigInteger),  # a digest of that item's JSON: a listing tells changed items by it
        Column("first_seen_at", UtcDateTime, nullable=False),
        Column("last_seen_at", UtcDateTime, nullable=False),
        Column("deleted_at", UtcDateTime),  # NULL while the repo exists
        # The commit whose files (and heavy fields) are stored; `sync --details` refetches when it is not `sha`.
        Column("files_sha", String),
        # A stable integer per row, growing in the order the catalog first stored repos; tags are
        # stored under it (revision 0010). Kept across renames; never NULL once a sync wrote the row.
        Column("row_key", Integer, index=True, unique=True),
        # When a listing last served this repo with all its fields (any walk of full items: the
        # incremental walk, a full walk, the verification lap); NULL if never since revision 0011.
        Column("verified_at", UtcDateTime),
    ]


def _repo_table(name: str, *columns: Column) -> Table:
    return Table(name, metadata, *columns, *_repo_columns())


models = _repo_table(
    "models",
    Column("gated", String),
    Column("downloads", BigInteger, index=True),  # last 30 days
    Column("downloads_all_time", BigInteger),
    Column("pipeline_tag", String, index=True),
    Column("library_name", String, index=True),
    # Heavy fields, from `sync --details` at `files_sha` (SQL NULL when the Hub has none):
    Column("parameters", BigInteger),  # safetensors total parameter count
    Column("safetensors", NullableJSON),  # {"parameters": {dtype: count}, "total": n}
    Column("config", NullableJSON),  # config.json highlights: architectures, model_type
)
datasets = _repo_table(
    "datasets",
    Column("gated", String),
    Column("downloads", BigInteger, index=True),
    Column("downloads_all_time", BigInteger),
    Column("description", Text),
    Column("paperswithcode_id", String),
)
spaces = _repo_table(
    "spaces",
    Column("sdk", String, index=True),  # gradio, streamlit, docker, static
    Column("runtime_stage", String),  # RUNNING, SLEEPING, BUILD_ERROR, ...
    Column("hardware", String),  # cpu-basic, t4-small, ...
)

# A repo that reappeared under a new id with the same ``hub_id``: updated in place, recorded here.
renames = Table(
    "renames", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("hub_id", String, nullable=False, index=True),
    Column("old_id", String, nullable=False, index=True),
    Column("new_id", String, nullable=False, index=True),
    Column("run_id", Integer),
    Column("renamed_at", UtcDateTime, nullable=False),  # when the catalog noticed
)


# Every distinct tag of every kind, once, under an integer id the tag tables store (revision 0012).
tag_names = Table(
    "tag_names", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tag", String, nullable=False),
    Index("ix_tag_names_tag", "tag", unique=True),
)


def _tag_table(name: str, repos: str, key: str) -> Table:
    """Tags of one repo kind, stored under the repo's ``row_key`` by tag id (``tag_names``);
    users read them through the view ``<kind>_tags`` (repo id, tag), which `views` describes.

    Keys grow with arrival, so a page's new tags go to the end of the primary key and, within
    each tag, to the end of the tag index, instead of to random places all over both (a repo id
    is random in listing order). Revision 0010; integer tag ids and positions since 0012.
    """
    return Table(
        name, metadata,
        Column(key, Integer, ForeignKey(f"{repos}.row_key", ondelete="CASCADE"), primary_key=True),
        Column("tag_id", Integer, ForeignKey("tag_names.id"), primary_key=True),
        Column("position", Integer, nullable=False),  # in the item's tags, from 0
        Index(f"ix_{name}_tag_id", "tag_id"),
        sqlite_with_rowid=False,
    )


def _tag_view(name: str, key: str) -> Table:
    """The public view of a kind's tags: (repo id, tag), as the tag tables were up to revision 0009."""
    return Table(name, views, Column(key, String), Column("tag", String))


def _raw_view(name: str) -> Table:
    """The public view of each repo's item as a listing last served it whole: (repo id, raw),
    rebuilt from the row's columns, tags and ``raw_extra`` (revision 0012)."""
    return Table(name, views, Column("id", String), Column("raw", NullableJSON))


# Where each listing scope stands: an unfinished walk's cursor and the last finished watermark.
sync_state = Table(
    "sync_state", metadata,
    Column("scope", String, primary_key=True),  # kind plus any filters
    Column("kind", String(16), nullable=False),
    Column("cursor", Text),  # next-page URL of an unfinished walk
    Column("walk_mode", String(16)),  # full or incremental
    Column("walk_started_at", UtcDateTime),
    Column("walk_top", UtcDateTime),  # newest lastModified when the walk began
    Column("walk_stop_before", UtcDateTime),  # incremental walks stop below this
    Column("walk_pages", Integer, nullable=False, default=0),
    Column("page_size", Integer),
    Column("watermark", UtcDateTime),  # Hub lastModified of the last finished walk
    # Set when a full walk finishes: rows not seen since then are deleted once its catch-up is done.
    Column("sweep_since", UtcDateTime),
    Column("updated_at", UtcDateTime),
)

# A scope held by a running sync; renewed with every page, taken over once expired.
sync_locks = Table(
    "sync_locks", metadata,
    Column("scope", String, primary_key=True),
    Column("owner", String, nullable=False),  # a random id per holding process and run
    Column("host", String),  # for people reading `harvester status`
    Column("pid", Integer),
    Column("run_id", Integer),
    Column("ttl_seconds", Float, nullable=False),
    Column("acquired_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),  # the holder's clock plus ttl_seconds
)

# The change log: one row per insert, update, rename, delete or undelete a sync wrote.
# ``seq`` grows in commit order, so ``WHERE seq > last_seen`` never misses or repeats an event.
changes = Table(
    "changes", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer),
    Column("kind", String(16), nullable=False),
    # Not indexed since revision 0012: a feed reads by seq, and the index took a twentieth of a
    # catalog for a lookup no command makes (one repo's history is a scan: 0.1 s per million changes).
    Column("hub_id", String, nullable=False),
    Column("repo_id", String, nullable=False),  # the repo id after the change
    Column("change", String(16), nullable=False),  # insert, update, rename, delete, undelete
    Column("fields", NullableJSON),  # updates: the names of the columns that changed
    Column("previous_id", String),  # renames: the repo id before
    Column("changed_at", UtcDateTime, nullable=False),
    Index("ix_changes_kind_seq", "kind", "seq"),
)

# The graph (revision 0013). An item states edges (`mapping.item_links`): its base models, the
# datasets it was trained on, the papers it cites, the models and datasets a space uses. Each
# edge is stored under the source repo's ``row_key`` (so it follows renames of its source) with
# an integer relation code and target id, rewritten with the row whenever its item changes.
# Targets are kept as written and resolved when read (the views `links`, `base_model_counts`,
# ...): a repo not in the catalog yet resolves once it is, a renamed one through `renames`.
link_relations = Table(
    "link_relations", metadata,
    Column("code", Integer, primary_key=True, autoincrement=False),
    Column("relation", String(16), nullable=False),  # base_model, trained_on, cites, uses
    Column("detail", String(16)),  # base_model: finetune, quantized, adapter, merge; NULL when unsaid
)
link_targets = Table(
    "link_targets", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # models, datasets, papers
    Column("name", String, nullable=False),  # a repo id as written, or "arxiv:<id>" / "doi:<id>"
    Index("ix_link_targets_kind_name", "kind", "name", unique=True),
)


def _link_table(name: str, repos: str, key: str) -> Table:
    """The edges of one repo kind, under the source's ``row_key``, one per target (a target's
    kind fixes the relation but for a base model's derivation); indexed by target for `uses`
    and descendants."""
    return Table(
        name, metadata,
        Column(key, Integer, ForeignKey(f"{repos}.row_key", ondelete="CASCADE"), primary_key=True),
        Column("target_id", Integer, ForeignKey("link_targets.id"), primary_key=True),
        Column("relation", Integer, ForeignKey("link_relations.code"), nullable=False),
        Index(f"ix_{name}_target_id", "target_id"),
        sqlite_with_rowid=False,
    )


model_links = _link_table("model_links", "models", "model_key")
dataset_links = _link_table("dataset_links", "datasets", "dataset_key")
space_links = _link_table("space_links", "spaces", "space_key")
LINK_TABLES = {"models": (model_links, "model_key"), "datasets": (dataset_links, "dataset_key"),
               "spaces": (space_links, "space_key")}


# Up to which change ``<kind>_search`` (SQLite FTS5, filled by `harvester search`) is current.
search_indexed = Table(
    "search_indexed", metadata,
    Column("kind", String(16), primary_key=True),
    Column("seq", Integer, nullable=False),
)

# One `harvester sync` run and what it did; updated with every committed page.
sync_runs = Table(
    "sync_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String, nullable=False, index=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("mode", String(16), nullable=False),  # full, incremental, resume
    Column("status", String(16), nullable=False),  # running, ok, failed, interrupted, abandoned
    Column("complete", Boolean, nullable=False, default=False),  # False when --max-pages left the walk unfinished
    *(Column(name, Integer, nullable=False, default=0) for name in (
        "pages", "requests", "retries", "rows_seen", "rows_inserted", "rows_updated", "rows_unchanged",
        "rows_rejected")),
    Column("rows_renamed", Integer, nullable=False, default=0, server_default="0"),
    Column("rows_deleted", Integer, nullable=False, default=0, server_default="0"),
    Column("samples_taken", Integer, nullable=False, default=0, server_default="0"),  # --stats history rows
    Column("error", Text),
)


def _stats_table(name: str, repos: str, key: str) -> Table:
    """Counter history of one repo kind: a sample per repo and `--stats` run, only when a value changed.

    Clustered on (repo, run) in SQLite, so one repo's history is one contiguous range.
    """
    return Table(
        name, metadata,
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
        name, metadata,
        Column(key, String, ForeignKey(f"{repos}.id", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True),
        Column("path", String, primary_key=True),
        Column("size", BigInteger),  # bytes
        Column("lfs_sha256", String),  # for files stored in LFS: the content hash (same weights, same hash)
        sqlite_with_rowid=False,
    )


# Columns only `sync --details` writes; listing upserts leave them as they are.
DETAIL_COLUMNS = frozenset({"files_sha", "parameters", "safetensors", "config"})

model_tag_keys = _tag_table("model_tag_keys", "models", "model_key")
dataset_tag_keys = _tag_table("dataset_tag_keys", "datasets", "dataset_key")
space_tag_keys = _tag_table("space_tag_keys", "spaces", "space_key")
model_tags = _tag_view("model_tags", "model_id")
dataset_tags = _tag_view("dataset_tags", "dataset_id")
space_tags = _tag_view("space_tags", "space_id")
models_raw = _raw_view("models_raw")
datasets_raw = _raw_view("datasets_raw")
spaces_raw = _raw_view("spaces_raw")
RAW_VIEWS = {"models": models_raw, "datasets": datasets_raw, "spaces": spaces_raw}
model_stats = _stats_table("model_stats", "models", "model_id")
dataset_stats = _stats_table("dataset_stats", "datasets", "dataset_id")
space_stats = _stats_table("space_stats", "spaces", "space_id")
model_files = _files_table("model_files", "models", "model_id")
dataset_files = _files_table("dataset_files", "datasets", "dataset_id")
space_files = _files_table("space_files", "spaces", "space_id")


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
