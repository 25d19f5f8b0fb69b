"""The repo kinds the catalog keeps, and what differs between them, stated once: `KINDS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Table


class _SchemaTable:
    """A table (or a view) of `store.schema`, named after the kind that reads it, looked up then:
    the CLI offers the kinds without importing SQLAlchemy, about 0.17 s of every start."""

    def __init__(self, pattern: str, *, view: bool = False) -> None:
        self.pattern = pattern
        self.view = view

    def __get__(self, spec: KindSpec, owner: type | None = None) -> Table:
        from .store import schema

        tables = (schema.views if self.view else schema.metadata).tables
        return tables[self.pattern.format(name=spec.name, singular=spec.singular)]


@dataclass(frozen=True)
class KindSpec:
    """One repo kind: its names, its tables, and what the Hub's listing serves of it."""

    name: str  # plural: the Hub's URL segment, the CLI's choice and the repo table
    singular: str  # what the kind's other tables and their key columns are named after
    listing_fields: tuple[str, ...]  # what a walk asks for with `expand`: exactly what the catalog stores
    counters: tuple[str, ...]  # what the counter lane asks for
    busiest_first: str  # the order (the Hub's sort, serve's) that puts the busiest repos first

    @property
    def key(self) -> str:
        """The column of the tag and link tables that holds a repo's ``row_key``."""
        return f"{self.singular}_key"

    @property
    def id_column(self) -> str:
        """The column of the stats and files tables that holds a repo's id."""
        return f"{self.singular}_id"

    # Its tables, `store.schema`'s, each named after the kind:
    repos = _SchemaTable("{name}")  # one row per repo
    tags = _SchemaTable("{singular}_tag_keys")  # by `key`; users read the view `<singular>_tags`
    links = _SchemaTable("{singular}_links")  # the graph's edges its repos state, by `key`
    stats = _SchemaTable("{singular}_stats")  # the counter history, by `id_column`
    files = _SchemaTable("{singular}_files")  # files from the details lane, by `id_column`
    cards = _SchemaTable("{singular}_cards")  # README bodies from the cards lane, by `key`
    raw = _SchemaTable("{name}_raw", view=True)  # each repo's item as a listing last served it whole


_COMMON_FIELDS = ("author", "sha", "lastModified", "createdAt", "private", "disabled", "likes", "trendingScore",
                  "tags", "cardData")
_COUNTERS = ("likes", "trendingScore")

KINDS = {spec.name: spec for spec in (
    KindSpec("models", "model",
             listing_fields=(*_COMMON_FIELDS, "gated", "downloads", "downloadsAllTime", "pipeline_tag", "library_name"),
             counters=("downloads", *_COUNTERS), busiest_first="downloads"),
    KindSpec("datasets", "dataset",
             listing_fields=(*_COMMON_FIELDS, "gated", "downloads", "downloadsAllTime", "description",
                             "paperswithcode_id"),
             counters=("downloads", *_COUNTERS), busiest_first="downloads"),
    KindSpec("spaces", "space", listing_fields=(*_COMMON_FIELDS, "sdk", "runtime", "models", "datasets"),
             counters=_COUNTERS, busiest_first="likes"),
)}
