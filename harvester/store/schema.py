"""The catalog's tables: a public interface users write SQL against.

Change it only through an Alembic revision in ``migrations/versions``.
Timestamps are UTC. ``gated`` is NULL when a repo is not gated, else 'auto' or 'manual'.

Every column says what it holds with ``doc=`` (Python only: it changes no DDL), and every table
and view with ``info`` (``title``, ``description``, see `documented`): the one place the docs of
the schema live, read by ``harvester serve`` for Datasette's metadata and by a test that checks
every table, view and column of a migrated catalog is described. The views are created by the
revisions; ``views`` declares them here, with their columns, for those readers only.
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
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
    text,
)
from sqlalchemy.types import TypeEngine

from ..kinds import KINDS

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


def documented(title: str, description: str) -> dict[str, str]:
    """A table's or view's ``info``: its title and what one row is, for Datasette and the docs."""
    return {"title": title, "description": description}


def _repo_columns(one: str) -> list[Column]:
    """What every repo kind shares, as the Hub last listed it (after the kind's own columns)."""
    return [
        Column("id", String, primary_key=True, doc=f"The {one}'s repo id, \"author/name\" (primary key)."),
        Column("hub_id", String, nullable=False, index=True,
               doc="The Hub's stable `_id`: the repo's identity across renames."),
        Column("author", String, index=True, doc="The user or organisation that owns the repo."),
        Column("sha", String, doc="The commit the Hub last listed for the repo."),
        Column("created_at", UtcDateTime, doc="When the repo was created on the Hub (UTC)."),
        Column("last_modified", UtcDateTime, index=True, doc="The Hub's `lastModified`: its last commit (UTC)."),
        Column("private", Boolean, doc="Whether the repo is private (only a token's own private repos are listed)."),
        Column("disabled", Boolean, doc="Whether the Hub disabled the repo."),
        Column("likes", BigInteger, index=True, doc="Likes on the Hub."),
        Column("trending_score", Float, doc="The Hub's trending score."),
        Column("license", String, doc="The license the card declares."),
        # SQL NULL when the item has no cardData (revision 0011)
        Column("card_data", NullableJSON, doc="The repo card's metadata (JSON); NULL when the repo has no card."),
        # Revision 0012 dropped the column `raw`; `mapping.item_patch` builds this.
        Column("raw_extra", NullableJSON,
               doc="What the columns and tags cannot say of the item a listing last served whole, so that "
                   "the view `<kind>_raw` rebuilds it exactly (JSON); NULL for the usual item."),
        Column("item_hash", BigInteger,
               doc="A 64-bit digest of that item's JSON: how a listing tells a changed item."),
        Column("first_seen_at", UtcDateTime, nullable=False, doc="When a sync first stored the repo."),
        Column("last_seen_at", UtcDateTime, nullable=False,
               doc="When a walk last saw the repo (any walk, ids-only reconcile included)."),
        Column("deleted_at", UtcDateTime, doc="When a sync found the repo gone from the Hub; NULL while it exists."),
        Column("files_sha", String,
               doc="The commit whose files and heavy fields are stored (`sync --details` refetches when it is "
                   "not `sha`); NULL until then."),
        # Tags are stored under it (revision 0010).
        Column("row_key", Integer, index=True, unique=True,
               doc="A stable integer per row, growing in the order the catalog first stored repos; kept "
                   "across renames. Tags, links and the search index are stored under it."),
        Column("verified_at", UtcDateTime,
               doc="When a listing last served the repo with all its fields (the incremental walk, a full "
                   "walk or the verification lap); NULL if never since revision 0011."),
    ]


def _repo_table(name: str, title: str, description: str, *columns: Column | Index) -> Table:
    """A repo kind's table: its own columns, the shared ones, then its own indexes (which may name both)."""
    own = [c for c in columns if isinstance(c, Column)]
    indexes = [c for c in columns if not isinstance(c, Column)]
    return Table(name, metadata, *own, *_repo_columns(KINDS[name].singular), *indexes, _creation_order(name),
                 info=documented(title, description))


def _creation_order(name: str) -> Index:
    """Revision 0015: live rows in the Hub's creation order (createdAt, ties by ``_id``), where a
    page of the lap finds the rows it did not list (`store.repos.sweep_stretch`)."""
    live = text("deleted_at IS NULL")
    return Index(f"ix_{name}_live_created_order", "created_at", "hub_id", sqlite_where=live, postgresql_where=live)


def _downloads() -> list[Column]:
    return [
        Column("gated", String, doc="NULL when the repo is not gated, else 'auto' or 'manual'."),
        Column("downloads", BigInteger, index=True, doc="Downloads over the last 30 days."),
        Column("downloads_all_time", BigInteger, doc="Downloads since the repo was created."),
    ]


models = _repo_table(
    "models", "Models", "One row per model the catalog has stored, deleted ones included (`deleted_at`).",
    *_downloads(),
    Column("pipeline_tag", String, index=True, doc="The model's task (text-generation, ...)."),
    Column("library_name", String, index=True, doc="The library the model is for (transformers, gguf, ...)."),
    # Revision 0016: the listing's field groups (`kinds.FieldGroup`, `sync --fields`) give these; each is
    # NULL while its group is not asked for, or the item lacks the field. The fields stay whole in
    # `raw_extra`, so `models_raw` rebuilds the item as served.
    Column("parameters", BigInteger, index=True,
           doc="Total parameter count: `safetensors.total` (group parameters); NULL without safetensors."),
    Column("safetensors", NullableJSON,
           doc='Safetensors parameters per dtype as served: {"parameters": {dtype: count}, "total": n} (JSON, '
               'group parameters); per dtype also in `model_dtypes`.'),
    Column("config", NullableJSON,
           doc="config.json as the listing serves it: architectures, model_type, ... (JSON, group architecture)."),
    Column("architecture", String, index=True,
           doc="The first of `config.architectures` (LlamaForCausalLM, ...; group architecture)."),
    Column("model_type", String, index=True, doc="`config.model_type` (llama, bert, ...; group architecture)."),
    Column("auto_model", String, doc="`transformersInfo.auto_model`: the auto class (group architecture)."),
    Column("processor", String, doc="`transformersInfo.processor` (AutoTokenizer, ...; group architecture)."),
    Column("gguf_architecture", String, index=True, doc="`gguf.architecture` (group gguf)."),
    Column("gguf_context_length", BigInteger, doc="`gguf.context_length`, in tokens (group gguf)."),
    Column("gguf_parameters", BigInteger, doc="`gguf.total`: parameters of the GGUF weights (group gguf)."),
    Column("gguf_file_size", BigInteger, doc="`gguf.totalFileSize`, bytes, when the Hub says (group gguf)."),
    Column("inference", String, doc='`inference`: "warm" while a provider serves it live (group providers).'),
    Column("spaces_using", BigInteger, doc="How many spaces the Hub lists as using it (`spaces`, group usage)."),
    Column("used_storage", BigInteger,
           doc="`usedStorage`, bytes: from `sync --details` (model listings refuse it); NULL until then."),
    # Revision 0021: the Hub's count at `files_sha`; it moves without a commit, as models derive from this one.
    Column("children_model_count", BigInteger,
           doc="`childrenModelCount`: models the Hub counts as derived from this one, as of the last "
               "`sync --details` of it (model listings refuse it; it moves without a commit); NULL until then."),
    # Revision 0014, for `harvester serve` at 1,000,000 models (benchmarks/serve.py). New models
    # per week by task reads only the weeks it draws, from this index alone: 1.2 s -> 0.3 s.
    # New repos append to it, and an update leaves it alone (created_at never moves).
    Index("ix_models_live_created_at", "created_at", "pipeline_tag",
          sqlite_where=text("deleted_at IS NULL"), postgresql_where=text("deleted_at IS NULL")),
    # Joins from tags and links to live models (`base_model_counts`, the `*_current` counts) read
    # this instead of each row: counting live models 0.63 s -> 0.08 s; with the links' index on
    # (target_id, relation), the ranked counts read indexes alone. It grows in arrival order, like
    # row_key's own (unique) index.
    Index("ix_models_row_key_deleted_at", "row_key", "deleted_at"),
)
datasets = _repo_table(
    "datasets", "Datasets", "One row per dataset the catalog has stored, deleted ones included (`deleted_at`).",
    *_downloads(),
    Column("description", Text, doc="The dataset's short description."),
    Column("paperswithcode_id", String, doc="Its Papers with Code id."),
    Column("used_storage", BigInteger, doc="`usedStorage`, bytes the repo stores (group storage, revision 0016)."),
)
spaces = _repo_table(
    "spaces", "Spaces", "One row per space the catalog has stored, deleted ones included (`deleted_at`).",
    Column("sdk", String, index=True, doc="gradio, streamlit, docker or static."),
    Column("runtime_stage", String, doc="RUNNING, SLEEPING, BUILD_ERROR, ..."),
    Column("hardware", String, doc="cpu-basic, t4-small, ..."),
    Column("used_storage", BigInteger, doc="`usedStorage`, bytes the repo stores (group storage, revision 0016)."),
)

# A repo that reappeared under a new id with the same ``hub_id``: updated in place, recorded here.
renames = Table(
    "renames", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True, doc="The rename's number, in the order noticed."),
    Column("kind", String(16), nullable=False, doc="models, datasets or spaces."),
    Column("hub_id", String, nullable=False, index=True, doc="The Hub's `_id` of the renamed repo."),
    Column("old_id", String, nullable=False, index=True, doc="The repo id before."),
    Column("new_id", String, nullable=False, index=True, doc="The repo id after."),
    Column("run_id", Integer, doc="The sync run that noticed (`sync_runs.id`)."),
    Column("renamed_at", UtcDateTime, nullable=False, doc="When the catalog noticed."),
    info=documented("Renames", "One row per rename: a known `hub_id` listed under a new repo id."),
)


# Every distinct tag of every kind, once, under an integer id the tag tables store (revision 0012).
tag_names = Table(
    "tag_names", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True, doc="The tag's integer id."),
    Column("tag", String, nullable=False, doc="The tag's text (unique)."),
    Index("ix_tag_names_tag", "tag", unique=True),
    info=documented("Tag names", "Every distinct tag of every kind once, under the integer id the tag tables store."),
)


def _tag_table(name: str, repos: str, key: str) -> Table:
    """Tags of one repo kind, stored under the repo's ``row_key`` by tag id (``tag_names``);
    users read them through the view ``<kind>_tags`` (repo id, tag), which `views` describes.

    Keys grow with arrival, so a page's new tags go to the end of the primary key and, within
    each tag, to the end of the tag index, instead of to random places all over both (a repo id
    is random in listing order). Revision 0010; integer tag ids and positions since 0012.
    """
    one = KINDS[repos].singular
    return Table(
        name, metadata,
        Column(key, Integer, ForeignKey(f"{repos}.row_key", ondelete="CASCADE"), primary_key=True,
               doc=f"The {one}'s `row_key`."),
        Column("tag_id", Integer, ForeignKey("tag_names.id"), primary_key=True, doc="The tag's id in `tag_names`."),
        Column("position", Integer, nullable=False, doc="The tag's place among the item's tags, from 0."),
        Index(f"ix_{name}_tag_id", "tag_id"),
        sqlite_with_rowid=False,
        info=documented(f"{one.capitalize()} tags, stored",
                        f"Where {one} tags are stored, by `row_key` and tag id; read them through `{one}_tags`."),
    )


def _tag_view(name: str, key: str) -> Table:
    """The public view of a kind's tags: (repo id, tag), as the tag tables were up to revision 0009."""
    one = key.removesuffix("_id")
    return Table(name, views, Column(key, String, doc=f"The {one}'s repo id."), Column("tag", String, doc="A tag."),
                 info=documented(f"{one.capitalize()} tags",
                                 f"One row per tag of a {one}: \"{one}s with tag X\" and \"tags of {one} X\" are "
                                 "both indexed lookups."))


def _raw_view(name: str) -> Table:
    """The public view of each repo's item as a listing last served it whole: (repo id, raw),
    rebuilt from the row's columns, tags and ``raw_extra`` (revision 0012)."""
    one = KINDS[name.removesuffix("_raw")].singular
    return Table(name, views, Column("id", String, doc=f"The {one}'s repo id."),
                 Column("raw", NullableJSON, doc="The item as the Hub listed it (JSON)."),
                 info=documented(f"{one.capitalize()} items as listed",
                                 f"Each {one}'s item exactly as a listing last served it whole, rebuilt from the "
                                 "columns, tags and `raw_extra`; every row, deleted ones included."))


# Where each listing scope stands: an unfinished walk's cursor and the last finished watermark.
sync_state = Table(
    "sync_state", metadata,
    Column("scope", String, primary_key=True,
           doc="The scope: a kind plus any filters (models, models?author=acme, models:verify, ...)."),
    Column("kind", String(16), nullable=False, doc="models, datasets or spaces."),
    Column("cursor", Text, doc="The next page's URL of an unfinished walk."),
    Column("walk_mode", String(16), doc="The unfinished walk's mode: full or incremental."),
    Column("walk_started_at", UtcDateTime, doc="When the unfinished walk began."),
    Column("walk_top", UtcDateTime, doc="The newest `lastModified` when the walk began."),
    Column("walk_stop_before", UtcDateTime, doc="An incremental walk stops below this `lastModified`."),
    Column("walk_pages", Integer, nullable=False, default=0, doc="Pages the unfinished walk has stored."),
    Column("page_size", Integer, doc="The walk's page size (a 504 halves it)."),
    Column("watermark", UtcDateTime, doc="The Hub's `lastModified` of the last finished walk."),
    # Set when a full walk finishes.
    Column("sweep_since", UtcDateTime,
           doc="Set when a full walk finishes: rows not seen since then are marked deleted once its "
               "catch-up is done."),
    # Revision 0015: where the next page's stretch of deletions begins (`store.repos.sweep_stretch`).
    Column("walk_position_created", UtcDateTime,
           doc="A walk in creation order (the lap, reconcile): the `createdAt` of the last repo it listed."),
    Column("walk_position_id", String, doc="... and that repo's `_id` (ties of `createdAt` go by `_id`)."),
    Column("updated_at", UtcDateTime, doc="When this row last changed."),
    info=documented("Sync state", "One row per scope: where its walk stands and its watermark."),
)

# A scope held by a running sync; renewed with every page, taken over once expired.
sync_locks = Table(
    "sync_locks", metadata,
    Column("scope", String, primary_key=True, doc="The locked scope."),
    Column("owner", String, nullable=False, doc="A random id per holding process and run."),
    Column("host", String, doc="The holder's host name."),
    Column("pid", Integer, doc="The holder's process id."),
    Column("run_id", Integer, doc="The holder's run (`sync_runs.id`)."),
    Column("ttl_seconds", Float, nullable=False, doc="How long the lock lasts after each renewal."),
    Column("acquired_at", UtcDateTime, nullable=False, doc="When the holder took the lock."),
    Column("expires_at", UtcDateTime, nullable=False, doc="The holder's clock at its last renewal plus `ttl_seconds`."),
    info=documented("Sync locks", "One row per scope while a sync runs it; renewed with every page."),
)

# The change log: one row per insert, update, rename, delete or undelete a sync wrote.
# ``seq`` grows in commit order, so ``WHERE seq > last_seen`` never misses or repeats an event.
changes = Table(
    "changes", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True,
           doc="Grows in commit order: `WHERE seq > last_seen` never misses or repeats an event."),
    Column("run_id", Integer, doc="The sync run that wrote it (`sync_runs.id`)."),
    Column("kind", String(16), nullable=False, doc="models, datasets or spaces."),
    # Not indexed since revision 0012: a feed reads by seq, and the index took a twentieth of a
    # catalog for a lookup no command makes (one repo's history is a scan: 0.1 s per million changes).
    Column("hub_id", String, nullable=False, doc="The Hub's `_id` of the repo."),
    Column("repo_id", String, nullable=False, doc="The repo id after the change."),
    Column("change", String(16), nullable=False, doc="insert, update, rename, delete or undelete."),
    Column("fields", NullableJSON, doc="Updates: the names of the columns that changed (JSON list)."),
    Column("previous_id", String, doc="Renames: the repo id before."),
    Column("changed_at", UtcDateTime, nullable=False, doc="When the sync wrote it."),
    Index("ix_changes_kind_seq", "kind", "seq"),
    info=documented("Change log", "One row per insert, update, rename, delete or undelete a sync wrote."),
)

# The graph (revision 0013). An item states edges (`mapping.item_links`): its base models, the
# datasets it was trained on, the papers it cites, the models and datasets a space uses. Each
# edge is stored under the source repo's ``row_key`` (so it follows renames of its source) with
# an integer relation code and target id, rewritten with the row whenever its item changes.
# Targets are kept as written and resolved when read (the views `links`, `base_model_counts`,
# ...): a repo not in the catalog yet resolves once it is, a renamed one through `renames`.
link_relations = Table(
    "link_relations", metadata,
    Column("code", Integer, primary_key=True, autoincrement=False, doc="The relation's code, stored in the links."),
    Column("relation", String(16), nullable=False, doc="base_model, trained_on, cites or uses."),
    Column("detail", String(16),
           doc="A base model's derivation: finetune, quantized, adapter or merge; NULL when unsaid."),
    info=documented("Link relations", "The eight relations an edge can have, fixed by revision 0013."),
)
link_targets = Table(
    "link_targets", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True, doc="The target's integer id."),
    Column("kind", String(16), nullable=False, doc="models, datasets or papers."),
    Column("name", String, nullable=False, doc='A repo id as items write it, or "arxiv:<id>" / "doi:<id>".'),
    Index("ix_link_targets_kind_name", "kind", "name", unique=True),
    info=documented("Link targets", "Every target an edge names, once, as items write it."),
)


def _link_table(name: str, repos: str, key: str) -> Table:
    """The edges of one repo kind, under the source's ``row_key``, one per target (a target's
    kind fixes the relation but for a base model's derivation); indexed by target and relation
    for `uses`, descendants and the ranked counts."""
    one = KINDS[repos].singular
    return Table(
        name, metadata,
        Column(key, Integer, ForeignKey(f"{repos}.row_key", ondelete="CASCADE"), primary_key=True,
               doc=f"The source {one}'s `row_key`."),
        Column("target_id", Integer, ForeignKey("link_targets.id"), primary_key=True,
               doc="The target (`link_targets.id`)."),
        Column("relation", Integer, ForeignKey("link_relations.code"), nullable=False,
               doc="The relation's code (`link_relations.code`)."),
        # With the relation since revision 0014, so the ranked counts (`base_model_counts`, ...)
        # read the index alone: 2.0 s -> 0.7 s at 1,000,000 models (1.4 million base-model edges).
        Index(f"ix_{name}_target_id", "target_id", "relation"),
        sqlite_with_rowid=False,
        info=documented(f"{one.capitalize()} links, stored",
                        f"The edges each {one}'s item states, under its `row_key`; read them through `links`."),
    )


model_links = _link_table("model_links", "models", "model_key")
dataset_links = _link_table("dataset_links", "datasets", "dataset_key")
space_links = _link_table("space_links", "spaces", "space_key")

# Revision 0021: the bases the Hub computes for a model (`baseModels` of its page, `sync --details`),
# beside the edges its item states (`model_links`), not among them: those are the item's words,
# rewritten by every listing of the row, one per target; these are the Hub's resolution at
# `files_sha`, current ids of repos that exist, always with a derivation.
model_hub_bases = Table(
    "model_hub_bases", metadata,
    Column("model_key", Integer, ForeignKey("models.row_key", ondelete="CASCADE"), primary_key=True,
           doc="The model's `row_key`."),
    Column("target_id", Integer, ForeignKey("link_targets.id"), primary_key=True,
           doc="The base (`link_targets.id`, kind models), as the Hub named it."),
    Column("relation", Integer, ForeignKey("link_relations.code"), nullable=False,
           doc="The Hub's `baseModels.relation` as a base_model code (`link_relations.code`): 2 finetune, "
               "3 quantized, 4 adapter, 5 merge; 1 when the Hub gave none the catalog knows."),
    Index("ix_model_hub_bases_target_id", "target_id", "relation"),
    sqlite_with_rowid=False,
    info=documented("Hub base models, stored",
                    "The bases the Hub computes for each model (`baseModels`), from `sync --details`, under its "
                    "`row_key`; read them through `hub_base_models`."),
)


# Up to which change ``<kind>_search`` (SQLite FTS5, filled by `harvester search`) is current.
search_indexed = Table(
    "search_indexed", metadata,
    Column("kind", String(16), primary_key=True, doc="models, datasets or spaces."),
    Column("seq", Integer, nullable=False, doc="The last change (`changes.seq`) the index includes."),
    info=documented("Search index state", "Up to which change each kind's full-text index is current."),
)

# One `harvester sync` run and what it did; updated with every committed page.
_RUN_COUNTS = {
    "pages": "Pages stored.", "requests": "Requests made, retries included.", "retries": "Requests retried.",
    "rows_seen": "Rows read from the Hub.", "rows_inserted": "New rows stored.",
    "rows_updated": "Rows whose item changed.", "rows_unchanged": "Rows read again unchanged.",
    "rows_rejected": "Items too malformed to store (logged).",
}
sync_runs = Table(
    "sync_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True, doc="The run's number."),
    Column("scope", String, nullable=False, index=True, doc="The scope it ran (`sync_state.scope`)."),
    Column("started_at", UtcDateTime, nullable=False, doc="When it started."),
    Column("finished_at", UtcDateTime, doc="When it ended; NULL while running."),
    Column("mode", String(16), nullable=False,
           doc="full, incremental, resume, reconcile, stats, details, cards or verify."),
    Column("status", String(16), nullable=False, doc="running, ok, failed, interrupted or abandoned."),
    Column("complete", Boolean, nullable=False, default=False,
           doc="False when a page budget left the walk unfinished; for the lap, true when the lap ended."),
    *(Column(name, Integer, nullable=False, default=0, doc=doc) for name, doc in _RUN_COUNTS.items()),
    Column("rows_renamed", Integer, nullable=False, default=0, server_default="0", doc="Renames noticed."),
    Column("rows_deleted", Integer, nullable=False, default=0, server_default="0", doc="Rows marked deleted."),
    Column("samples_taken", Integer, nullable=False, default=0, server_default="0",
           doc="Counter samples added to the `*_stats` history (`--stats`)."),
    # Revision 0018: the plan's window as the Hub stated it, for status and the lap's budget.
    Column("quota_limit", Integer, doc="Requests the Hub allows per window (`RateLimit-Policy` q); NULL if unsaid."),
    Column("quota_window", Integer, doc="The window's length in seconds (`RateLimit-Policy` w)."),
    Column("quota_remaining", Integer, doc="Requests left in the window at the run's last answer (`RateLimit` r)."),
    # Revision 0020: why a stats or details run left its work unfinished (`lanes.outcome`).
    Column("budget_spent", Boolean, nullable=False, default=False, server_default=false(),
           doc="True when the run stopped because it had spent its share of the Hub's window (`--budget`); the "
               "next run goes on."),
    Column("error", Text, doc="Why a failed run failed."),
    info=documented("Sync runs", "One row per `harvester sync` run and what it did, updated with every page."),
)


def _stats_table(name: str, repos: str, key: str) -> Table:
    """Counter history of one repo kind: a sample per repo and `--stats` run, only when a value changed.

    Clustered on (repo, run) in SQLite, so one repo's history is one contiguous range.
    """
    one = KINDS[repos].singular
    return Table(
        name, metadata,
        Column(key, String, ForeignKey(f"{repos}.id", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True,
               doc=f"The {one}'s repo id."),
        *_sample_columns(),
        sqlite_with_rowid=False,
        info=documented(f"{one.capitalize()} counter history",
                        f"A sample of a {one}'s counters per `sync --stats` run in which they changed."),
    )


def _sample_columns() -> list[Column]:
    return [
        Column("run_id", Integer, primary_key=True, doc="The `--stats` run that took the sample."),
        Column("taken_at", UtcDateTime, nullable=False, doc="When the sample was taken."),
        Column("downloads", BigInteger, doc="Downloads over the last 30 days then."),
        Column("likes", BigInteger, doc="Likes then."),
        Column("trending_score", Float, doc="Trending score then."),
    ]


def _files_table(name: str, repos: str, key: str) -> Table:
    """Files of one repo kind: their names as the listing's `siblings` last gave them (group files,
    revision 0016), sizes and hashes at ``files_sha`` from `sync --details`."""
    one = KINDS[repos].singular
    return Table(
        name, metadata,
        Column(key, String, ForeignKey(f"{repos}.id", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True,
               doc=f"The {one}'s repo id."),
        Column("path", String, primary_key=True, doc="The file's path in the repo."),
        Column("size", BigInteger, doc="Bytes; NULL until `sync --details` reads the repo's page."),
        Column("lfs_sha256", String, doc="For files stored in LFS: the content hash (same weights, same hash)."),
        sqlite_with_rowid=False,
        info=documented(f"{one.capitalize()} files",
                        f"The files of each {one}: names from the listing (group files), sizes and hashes from "
                        "`sync --details`."),
    )


# Columns only `sync --details` writes, per kind; listing upserts leave them as they are.
DETAIL_COLUMNS = {"models": frozenset({"files_sha", "used_storage", "children_model_count"}),
                  "datasets": frozenset({"files_sha"}),
                  "spaces": frozenset({"files_sha"})}
def _cards_table(name: str, repos: str, key: str) -> Table:
    """Cards of one repo kind, from `sync --cards` (revision 0017): the README's body only (its
    front matter is ``card_data``), zlib-compressed, under the repo's ``row_key``: an INTEGER
    PRIMARY KEY, so on SQLite the rows are stored in key order with no index besides."""
    one = KINDS[repos].singular
    return Table(
        name, metadata,
        Column(key, Integer, ForeignKey(f"{repos}.row_key", ondelete="CASCADE"), primary_key=True,
               autoincrement=False, doc=f"The {one}'s `row_key`."),
        Column("sha", String, nullable=False,
               doc="The commit the README was read at; `sync --cards` reads it again once the repo's `sha` moves."),
        Column("state", String(16), nullable=False,
               doc="'card': the body is stored; 'none': the commit has no README.md (404); 'unreadable': "
                   "the Hub refused it (401/403: gated, disabled), not asked again at this commit."),
        Column("body", LargeBinary,
               doc="The README after its YAML front matter, the bytes as served (invalid UTF-8 and control "
                   "characters kept), zlib-compressed; NULL unless state is 'card'. "
                   "`harvester search` indexes it; `Catalog.card(repo_id)` reads it back as text."),
        Column("size", Integer, doc="Bytes of the body as the Hub served it; NULL unless state is 'card'."),
        Column("truncated", Boolean, nullable=False, default=False,
               doc="Whether the body was longer than `cards.MAX_BODY` bytes and only its start is stored."),
        Column("error", String, doc="Why an unreadable card was refused: the Hub's error code or HTTP status."),
        Column("fetched_at", UtcDateTime, nullable=False, doc="When `sync --cards` read it."),
        info=documented(f"{one.capitalize()} cards",
                        f"The README body of each {one} at `sha`, from `sync --cards` (compressed; search it "
                        f"with `harvester search`, read it as text through `{repos}_search.card` on SQLite)."),
    )


model_cards = _cards_table("model_cards", "models", "model_key")
dataset_cards = _cards_table("dataset_cards", "datasets", "dataset_key")
space_cards = _cards_table("space_cards", "spaces", "space_key")


model_tag_keys = _tag_table("model_tag_keys", "models", "model_key")
dataset_tag_keys = _tag_table("dataset_tag_keys", "datasets", "dataset_key")
space_tag_keys = _tag_table("space_tag_keys", "spaces", "space_key")
model_tags = _tag_view("model_tags", "model_id")
dataset_tags = _tag_view("dataset_tags", "dataset_id")
space_tags = _tag_view("space_tags", "space_id")
models_raw = _raw_view("models_raw")
datasets_raw = _raw_view("datasets_raw")
spaces_raw = _raw_view("spaces_raw")
model_stats = _stats_table("model_stats", "models", "model_id")
dataset_stats = _stats_table("dataset_stats", "datasets", "dataset_id")
space_stats = _stats_table("space_stats", "spaces", "space_id")
model_files = _files_table("model_files", "models", "model_id")
dataset_files = _files_table("dataset_files", "datasets", "dataset_id")
space_files = _files_table("space_files", "spaces", "space_id")


def _model_facet(name: str, title: str, description: str, *columns: Column | Index) -> Table:
    """A table of rows a model's item gives through its field groups (revision 0016), stored under
    its ``row_key`` and rewritten with the row whenever its item changes (as its tags and links)."""
    return Table(
        name, metadata,
        Column("model_key", Integer, ForeignKey("models.row_key", ondelete="CASCADE"), primary_key=True,
               doc="The model's `row_key` (join `models.row_key`)."),
        *columns, sqlite_with_rowid=False, info=documented(title, description))


model_dtypes = _model_facet(
    "model_dtypes", "Model parameters per dtype", "One row per dtype of a model's safetensors (group parameters).",
    Column("dtype", String, primary_key=True, doc="The dtype (BF16, F32, I8, ...)."),
    Column("parameters", BigInteger, nullable=False, doc="Parameters stored in that dtype."))
model_providers = _model_facet(
    "model_providers", "Inference providers",
    "One row per inference provider serving a model, from `inferenceProviderMapping` in either of its shapes "
    "(group providers).",
    Column("provider", String, primary_key=True, doc="The provider (together, fal-ai, hf-inference, ...)."),
    Column("provider_id", String, doc="The provider's own id of the model (`providerId`)."),
    Column("task", String, doc="The task it serves (conversational, text-to-image, ...)."),
    Column("status", String, doc="live, staging, error, ..."),
    Index("ix_model_providers_provider", "provider", "status"))
model_evaluations = _model_facet(
    "model_evaluations", "Evaluation results",
    "One row per result a model states: its card's model-index (with the card, always), then `evalResults` "
    "(group evaluations).",
    Column("position", Integer, primary_key=True, doc="The result's place among the model's, from 0."),
    Column("source", String, nullable=False, doc="model-index (the card) or evalResults."),
    Column("task", String, doc="The task type (text-generation, ...), or evalResults' task id."),
    Column("dataset", String, doc="The dataset: its repo id where given (cais/mmlu), else its name."),
    Column("metric", String, doc="The metric (accuracy, acc_norm, f1, wer, ...); NULL when unsaid."),
    Column("value", Float, doc="The value; NULL when it is not a number."),
    Index("ix_model_evaluations_dataset", "dataset", "metric"))

# Revision 0019: the first walk of an empty kind loads it in bulk (`store.loading`): the indexes
# no write path reads are dropped before it and built once it has filled the tables.
deferred_indexes = Table(
    "deferred_indexes", metadata,
    Column("name", String, primary_key=True, doc="The index, as the schema names it (`ix_models_author`, ...)."),
    Column("kind", String(16), nullable=False, doc="The kind whose first walk it waits for."),
    Column("deferred_at", UtcDateTime, nullable=False, doc="When that walk dropped it."),
    info=documented("Deferred indexes",
                    "One row per index a kind's first walk dropped and builds once it has filled the tables: "
                    "until then queries that would use it are slower, never wrong. Empty otherwise."))

# Revision 0016: which field groups each kind's listing walks ask for (`sync --fields`), and which
# `expand` values the Hub refused (each is asked again a day later, `store.fields.RETRY_REFUSED`).
field_groups = Table(
    "field_groups", metadata,
    Column("kind", String(16), primary_key=True, doc="models, datasets or spaces."),
    Column("group_name", String(32), primary_key=True, doc="The group (core, parameters, gguf, files, ...)."),
    Column("added_at", UtcDateTime, nullable=False,
           doc="When it was chosen: rows a listing read whole since then (`verified_at`) hold it."),
    info=documented("Field groups", "One row per field group the listing walks of a kind ask for."))
refused_fields = Table(
    "refused_fields", metadata,
    Column("kind", String(16), primary_key=True, doc="models, datasets or spaces."),
    Column("field", String, primary_key=True, doc="The `expand` value the Hub refused with 400."),
    Column("refused_at", UtcDateTime, nullable=False, doc="When it was last refused; asked again a day later."),
    info=documented("Refused fields", "One row per `expand` value a listing of the Hub refused, left out since."))

# The other views of revisions 0008 (current repos, latest samples) and 0013 (the graph).
for _kind, _one in ((spec.name, spec.singular) for spec in KINDS.values()):
    _repos, _stats = metadata.tables[_kind], metadata.tables[f"{_one}_stats"]
    Table(f"{_kind}_current", views, *(c._copy() for c in _repos.c),
          info=documented(f"Current {_kind}", f"The {_kind} that exist: `{_kind}` without deleted rows."))
    Table(f"{_one}_latest_stats", views, *(c._copy() for c in _stats.c),
          info=documented(f"Latest {_one} counters", f"Each {_one}'s newest sample in `{_one}_stats`."))

_IN_CATALOG = "1 when the name is a live repo of the catalog (directly or through a rename), else 0."
Table("link_target_repos", views,
      Column("target_id", Integer, doc="The target's id (`link_targets.id`)."),
      Column("kind", String, doc="models, datasets or papers."),
      Column("name", String, doc="The target as items write it."),
      Column("repo_id", String, doc="The live repo it names now, directly or through `renames`; NULL if none."),
      info=documented("Link targets resolved", "Each link target and the catalog repo it names now."))
Table("links", views,
      Column("source_kind", String, doc="models, datasets or spaces."),
      Column("source_id", String, doc="The live repo that states the edge."),
      Column("relation", String, doc="base_model, trained_on, cites or uses."),
      Column("detail", String, doc="A base model's derivation: finetune, quantized, adapter, merge; NULL when unsaid."),
      Column("target_kind", String, doc="models, datasets or papers."),
      Column("target_id", String, doc="The target as the item wrote it."),
      Column("target_repo_id", String, doc="The live repo the target names now; NULL when not in the catalog."),
      info=documented("Links", "Every edge of every live repo: base models, training datasets, papers, "
                               "what a space uses."))
Table("hub_base_models", views,
      Column("model_id", String, doc="The live model, from whose page (`sync --details`) the Hub says it."),
      Column("relation", String, doc="The Hub's relation: finetune, quantized, adapter, merge; NULL when unknown."),
      Column("base_id", String, doc="The base as the Hub named it (its id then)."),
      Column("base_repo_id", String, doc="The live repo that id names now; NULL when not in the catalog."),
      info=documented("Hub base models", "The bases the Hub computes for each live model (`baseModels`, "
                                         "from `sync --details`), beside the edges its item states (`links`)."))
Table("base_model_counts", views,
      Column("base_id", String, doc="The base model (a catalog repo id when known, else as written)."),
      Column("in_catalog", Integer, doc=_IN_CATALOG),
      Column("derivatives", Integer, doc="Live models that name it as their base model."),
      *(Column(name, Integer, doc=f"Of them, {what}.") for name, what in (
          ("finetunes", "fine-tunes"), ("quantizations", "quantizations"), ("adapters", "adapters"),
          ("merges", "merges"), ("unspecified", "those that do not say how"))),
      info=documented("Base model families", "Per base model: how many live models derive from it, and how."))
Table("dataset_model_counts", views,
      Column("dataset_id", String, doc="The dataset (a catalog repo id when known, else as written)."),
      Column("in_catalog", Integer, doc=_IN_CATALOG),
      Column("models", Integer, doc="Live models trained on it."),
      info=documented("Datasets by models trained on them", "Per dataset: how many live models say they were "
                                                            "trained on it."))
Table("model_space_counts", views,
      Column("model_id", String, doc="The model (a catalog repo id when known, else as written)."),
      Column("in_catalog", Integer, doc=_IN_CATALOG),
      Column("spaces", Integer, doc="Live spaces that use it."),
      info=documented("Models by spaces using them", "Per model: how many live spaces use it."))
Table("dataset_space_counts", views,
      Column("dataset_id", String, doc="The dataset (a catalog repo id when known, else as written)."),
      Column("in_catalog", Integer, doc=_IN_CATALOG),
      Column("spaces", Integer, doc="Live spaces that use it."),
      info=documented("Datasets by spaces using them", "Per dataset: how many live spaces use it."))
Table("paper_citations", views,
      Column("paper", String, doc='The paper, "arxiv:<id>" or "doi:<id>".'),
      *(Column(kind, Integer, doc=f"Live {kind} that cite it.") for kind in KINDS),
      info=documented("Paper citations", "Per paper: how many live models, datasets and spaces cite it."))

# Not the catalog's own: Alembic's, and SQLite's full-text index (revision 0008, `harvester search`).
OTHER_TABLES = {
    "alembic_version": documented("Schema revision", "The catalog's schema revision, kept by Alembic."),
    **{f"{kind}_search": documented(f"{kind.capitalize()} search index",
                                    f"The full-text index of `harvester search` over {kind}, each repo under its "
                                    "`row_key` as rowid: on SQLite FTS5 over (repo_id, summary, card), the card "
                                    "as text; on PostgreSQL (repo_id, document), a tsvector under a GIN index.")
       for kind in KINDS},
}


def is_search_table(name: str | None) -> bool:
    """The indexes of `harvester search` (SQLite's FTS5 tables and their shadow tables, PostgreSQL's
    tsvector tables since revision 0017): made by the revisions, filled by `harvester search`,
    not declared here."""
    return bool(name) and any(name.startswith(f"{kind}_search") for kind in KINDS)


def declared_here(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's ``include_name``: compare and autogenerate everything but the search tables."""
    return not (type_ == "table" and is_search_table(name))
