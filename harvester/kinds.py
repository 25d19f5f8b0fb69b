"""The repo kinds the catalog keeps, and what differs between them, stated once: `KINDS`."""

from __future__ import annotations

from collections.abc import Iterable
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
class FieldGroup:
    """Listing fields asked for together (`sync --fields`), and what they cost on a listing."""

    name: str
    fields: tuple[str, ...]  # the `expand` values it adds to a listing
    about: str  # what it gives, in a few words (status and --help)
    default: bool = False  # asked for unless `sync --fields` says otherwise: its cost is negligible


CORE = "core"


@dataclass(frozen=True)
class KindSpec:
    """One repo kind: its names, its tables, and what the Hub's listing serves of it."""

    name: str  # plural: the Hub's URL segment, the CLI's choice and the repo table
    singular: str  # what the kind's other tables and their key columns are named after
    core_fields: tuple[str, ...]  # what every walk asks for with `expand` (the group "core")
    counters: tuple[str, ...]  # what the counter lane asks for
    busiest_first: str  # the order (the Hub's sort, serve's) that puts the busiest repos first
    groups: tuple[FieldGroup, ...] = ()  # the field groups a walk may add, in the order their fields are asked

    @property
    def field_groups(self) -> dict[str, FieldGroup]:
        """Every group of the kind by name, "core" first (always asked for)."""
        return {CORE: FieldGroup(CORE, self.core_fields, "the repo row, tags and card", True),
                **{group.name: group for group in self.groups}}

    @property
    def default_groups(self) -> tuple[str, ...]:
        return tuple(name for name, group in self.field_groups.items() if group.default)

    def fields_of(self, groups: tuple[str, ...] | frozenset[str] | list[str]) -> tuple[str, ...]:
        """The `expand` values of ``groups`` (core always), each once, in the groups' order."""
        chosen = {CORE, *groups}
        return tuple(dict.fromkeys(field for name, group in self.field_groups.items() if name in chosen
                                   for field in group.fields))

    @property
    def listing_fields(self) -> tuple[str, ...]:
        """What a walk asks for with the default groups: what a new catalog stores."""
        return self.fields_of(self.default_groups)

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
# Bytes per row each adds to a listing page of 1,000 (the emulator, benchmarks/fields.py; core is
# 820 B per model, 655 per dataset, 606 per space): a group is a default when it adds under a fifth.
_FILES = FieldGroup("files", ("siblings",), "file names, in <kind>_files (sizes with --details)")
_STORAGE = FieldGroup("storage", ("usedStorage",), "bytes the repo stores", default=True)  # +26 B
_MODEL_GROUPS = (
    FieldGroup("parameters", ("safetensors",), "parameter count, and per dtype", default=True),  # +41 B
    FieldGroup("gguf", ("gguf",), "GGUF architecture, context length, parameters, size"),  # +326 B: chat templates
    _FILES,  # +699 B per model, +3,497 per dataset, +141 per space
    FieldGroup("providers", ("inferenceProviderMapping", "inference"), "inference providers serving it",
               default=True),  # +10 B
    FieldGroup("evaluations", ("evalResults",), "evaluation results beyond the card's model-index",
               default=True),  # +23 B
    FieldGroup("architecture", ("config", "transformersInfo"), "config architecture, model_type, auto class",
               default=True),  # +123 B
    FieldGroup("usage", ("spaces",), "the spaces using it", default=True),  # +24 B
)

KINDS = {spec.name: spec for spec in (
    KindSpec("models", "model",
             core_fields=(*_COMMON_FIELDS, "gated", "downloads", "downloadsAllTime", "pipeline_tag", "library_name"),
             counters=("downloads", *_COUNTERS), busiest_first="downloads", groups=_MODEL_GROUPS),
    KindSpec("datasets", "dataset",
             core_fields=(*_COMMON_FIELDS, "gated", "downloads", "downloadsAllTime", "description",
                          "paperswithcode_id"),
             counters=("downloads", *_COUNTERS), busiest_first="downloads", groups=(_FILES, _STORAGE)),
    KindSpec("spaces", "space", core_fields=(*_COMMON_FIELDS, "sdk", "runtime", "models", "datasets"),
             counters=_COUNTERS, busiest_first="likes", groups=(_FILES, _STORAGE)),
)}

# The item fields the field groups add, beyond core: the change log names them when they change.
GROUP_FIELDS = tuple(dict.fromkeys(field for spec in KINDS.values() for group in spec.groups for field in group.fields))


def parse_groups(kind: str, text: str, current: Iterable[str]) -> tuple[str, ...]:
    """The groups `sync --fields TEXT` chooses for ``kind``: a list ("core,gguf,files"), or changes
    to ``current`` ("+gguf,-usage"); "default" stands for the defaults, "all" for every group.
    Core is always among them; a group of other kinds only ("gguf" for datasets) is left out.

    Raises:
        ValueError: an unknown group, or a list mixing both forms.
    """
    spec = KINDS[kind]
    words = [word.strip() for word in text.split(",") if word.strip()]
    if not words:
        raise ValueError("--fields needs at least one group")
    relative = [word[0] in "+-" for word in words]
    if any(relative) and not all(relative):
        raise ValueError("--fields takes either a list of groups or changes (+group,-group), not both")
    chosen = set(current) if all(relative) else set()
    for word in words:
        name = word.lstrip("+-")
        names = {"default": spec.default_groups, "all": tuple(spec.field_groups)}.get(name, (name,))
        known = {group for other in KINDS.values() for group in other.field_groups}
        if any(n not in known for n in names):
            raise ValueError(f"no field group {name!r}: expected default, all or one of {', '.join(known)}")
        names = tuple(n for n in names if n in spec.field_groups)
        if word.startswith("-"):
            chosen -= set(names) - {CORE}
        else:
            chosen |= set(names)
    return tuple(name for name in spec.field_groups if name in chosen | {CORE})
