"""The repo kinds the catalog keeps, and what differs between them, stated once: `KINDS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Table


@dataclass(frozen=True)
class KindSpec:
    """One repo kind: its names, its tables, and what the Hub's listing serves of it.

    The tables are `store.schema`'s, named after the kind; they are looked up when asked for, so
    that the CLI can offer the kinds without importing SQLAlchemy (a third of a second).
    """

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

    @property
    def repos(self) -> Table:
        """One row per repo of the kind."""
        return _table(self.name)

    @property
    def tags(self) -> Table:
        """Its tags, by `key` (users read the view ``<singular>_tags``)."""
        return _table(f"{self.singular}_tag_keys")

    @property
    def links(self) -> Table:
        """The graph's edges its repos state, by `key`."""
        return _table(f"{self.singular}_links")

    @property
    def stats(self) -> Table:
        """Its counter history, by `id_column`."""
        return _table(f"{self.singular}_stats")

    @property
    def files(self) -> Table:
        """Its files from the details lane, by `id_column`."""
        return _table(f"{self.singular}_files")

    @property
    def raw(self) -> Table:
        """The view of each repo's item as a listing last served it whole."""
        return _table(f"{self.name}_raw", view=True)


def _table(name: str, *, view: bool = False) -> Table:
    """A table (or a view) `store.schema` declares, imported only now."""
    from .store import schema

    return (schema.views if view else schema.metadata).tables[name]


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
