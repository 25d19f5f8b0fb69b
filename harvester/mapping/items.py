"""Hub listing items to catalog rows, and back: `map_item`, and `rebuilt_item` with `item_patch`
(what the views `<kind>_raw` apply). Pure functions, no I/O (a rejected item is logged)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, TypeVar

from .fields import NO_FACETS, Facets, group_columns, item_facets
from .links import Link, item_links
from .values import (
    RejectedItem,
    _flag,
    _flag_field,
    _int64,
    _json_number,
    _merged,
    _number,
    _repo_id,
    _required_text,
    _same,
    _storable,
    _text,
    hub_time,
    item_hash,
    parse_hub_time,
)

log = logging.getLogger("harvester")
T = TypeVar("T")


@dataclass(frozen=True)
class MappedRow:
    """One repo's row and tags, ready to upsert: ``row["raw_extra"]`` is what the columns and
    tags cannot say of the item (`item_patch`), ``row["item_hash"]`` tells a changed item."""

    row: dict[str, Any]
    tags: list[str]  # without repeats, in the item's order
    links: list[Link]  # the graph's edges the item states, each target once
    facets: Facets = NO_FACETS  # the child rows of its field groups' fields (dtypes, providers, ...)

    @property
    def id(self) -> str:
        return self.row["id"]



def _gated(item: dict[str, Any], repo_id: str) -> str | None:
    value = item.get("gated")
    if value in (None, False):
        return None
    if value is True:
        return "auto"
    return _text(item, "gated", repo_id)


def _license(item: dict[str, Any], tags: list[str]) -> str | None:
    card = item.get("cardData")
    if isinstance(card, dict) and isinstance(card.get("license"), str):
        return card["license"]
    return next((tag.removeprefix("license:") for tag in tags if tag.startswith("license:")), None)


def _downloads(item: dict[str, Any], repo_id: str) -> dict[str, Any]:
    return {
        "gated": _gated(item, repo_id),
        "downloads": _int64(item, "downloads", repo_id),
        "downloads_all_time": _int64(item, "downloadsAllTime", repo_id),
    }


def _model_columns(item: dict[str, Any], repo_id: str) -> dict[str, Any]:
    return {**_downloads(item, repo_id), "pipeline_tag": _text(item, "pipeline_tag", repo_id),
            "library_name": _text(item, "library_name", repo_id)}


def _dataset_columns(item: dict[str, Any], repo_id: str) -> dict[str, Any]:
    return {**_downloads(item, repo_id), "description": _text(item, "description", repo_id),
            "paperswithcode_id": _text(item, "paperswithcode_id", repo_id)}


def _space_columns(item: dict[str, Any], repo_id: str) -> dict[str, Any]:
    runtime = item.get("runtime")
    if runtime is not None and not isinstance(runtime, dict):
        raise RejectedItem(f"item {repo_id!r}: 'runtime' is {type(runtime).__name__}, not an object")
    runtime = runtime or {}
    hardware = runtime.get("hardware")
    if hardware is not None and not isinstance(hardware, dict):
        raise RejectedItem(f"item {repo_id!r}: 'runtime.hardware' is {type(hardware).__name__}, not an object")
    return {"sdk": _text(item, "sdk", repo_id), "runtime_stage": _text(runtime, "stage", repo_id),
            "hardware": _text(hardware or {}, "current", repo_id)}



_KIND_COLUMNS = {"models": _model_columns, "datasets": _dataset_columns, "spaces": _space_columns}


def map_item(kind: str, item: Any) -> MappedRow:
    """Turn one listing item of ``kind`` into a catalog row and its tags.

    Every stored field is checked, so that one hostile item is rejected on its own instead of
    failing its page's transaction.

    Raises:
        RejectedItem: no ``id`` or ``_id``, or a field of the wrong type, out of range, or not
            valid Unicode.
    """
    repo_id = _repo_id(item)
    hub_id = _required_text(item, "_id", repo_id)
    raw_json = _storable(item, repo_id)  # also what tells a changed item
    tags = item.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise RejectedItem(f"item {repo_id!r} has malformed 'tags'")
    author = _text(item, "author", repo_id)
    if author is None and "/" in repo_id:
        author = repo_id.split("/", 1)[0]
    row = {
        "id": repo_id,
        "hub_id": hub_id,
        "author": author,
        "sha": _text(item, "sha", repo_id),
        "created_at": parse_hub_time(item.get("createdAt")),
        "last_modified": parse_hub_time(item.get("lastModified")),
        "private": _flag(item, "private", repo_id),
        "disabled": _flag(item, "disabled", repo_id),
        "likes": _int64(item, "likes", repo_id),
        "trending_score": _number(item, "trendingScore", repo_id),
        "license": _license(item, tags),
        "card_data": item.get("cardData"),
        **_KIND_COLUMNS[kind](item, repo_id),
        **group_columns(kind, item),
    }
    unique_tags = list(dict.fromkeys(tags))
    row["raw_extra"] = item_patch(item, rebuilt_item(kind, row, unique_tags))
    row["item_hash"] = item_hash(raw_json)
    return MappedRow(row, unique_tags, item_links(kind, item, unique_tags), item_facets(kind, item))



def _runtime(row: dict[str, Any]) -> dict[str, Any] | None:
    runtime: dict[str, Any] = {}
    if row.get("runtime_stage") is not None:
        runtime["stage"] = row["runtime_stage"]
    if row.get("hardware") is not None:
        runtime["hardware"] = {"current": row["hardware"]}
    return runtime or None


# Item field -> how it is rebuilt from a row (read back from the catalog or just mapped). Revision
# 0012's views `<kind>_raw` say the same in SQL; tests hold the two equal on every backend.
_REBUILT: dict[str, Callable[[dict[str, Any]], Any]] = {
    "_id": itemgetter("hub_id"), "id": itemgetter("id"), "author": itemgetter("author"),
    "sha": itemgetter("sha"), "lastModified": lambda row: hub_time(row["last_modified"]),
    "createdAt": lambda row: hub_time(row["created_at"]), "private": lambda row: _flag_field(row["private"]),
    "disabled": lambda row: _flag_field(row["disabled"]), "likes": itemgetter("likes"),
    "trendingScore": lambda row: _json_number(row["trending_score"]),
}
_GATED: dict[str, Callable[[dict[str, Any]], Any]] = {
    "gated": lambda row: False if row["gated"] is None else row["gated"], "downloads": itemgetter("downloads"),
    "downloadsAllTime": itemgetter("downloads_all_time"),
}
REBUILT_COUNTERS = {field: {**_REBUILT, **_GATED}[field] for field in ("likes", "downloads", "trendingScore")}
REBUILT_FIELDS: dict[str, dict[str, Callable[[dict[str, Any]], Any]]] = {
    "models": {**_REBUILT, **_GATED, "pipeline_tag": itemgetter("pipeline_tag"),
               "library_name": itemgetter("library_name")},
    "datasets": {**_REBUILT, **_GATED, "description": itemgetter("description"),
                 "paperswithcode_id": itemgetter("paperswithcode_id")},
    "spaces": {**_REBUILT, "sdk": itemgetter("sdk"), "runtime": _runtime},
}


def rebuilt_item(kind: str, row: dict[str, Any], tags: list[str]) -> dict[str, Any]:
    """The listing item as the row's columns and tags say it: each field whose value is not
    NULL, ``tags`` always, ``cardData`` as stored."""
    item = {field: value for field, rebuild in REBUILT_FIELDS[kind].items() if (value := rebuild(row)) is not None}
    item["tags"] = tags
    card = row["card_data"]
    # A bare number is left to `raw_extra`: SQLite's JSON column gives it numeric affinity, which
    # stores 1.0 as 1 and 0.30000000000000004 as 0.3.
    if card is not None and (isinstance(card, bool) or not isinstance(card, int | float)):
        item["cardData"] = card
    return item


def item_patch(item: dict[str, Any], rebuilt: dict[str, Any]) -> dict[str, Any] | list[Any] | None:
    """What turns ``rebuilt`` back into ``item`` exactly: None when nothing does (the usual item);
    else an object of the item's fields the row does not say (whole values) and, as null, the
    rebuilt fields the item lacks, applied as a JSON merge patch (RFC 7396, SQLite's json_patch)
    or as a shallow one (PostgreSQL's ``-`` and ``||``), which agree on it; or, where they
    cannot say it (a field the item sends as null), the whole item in a one-element list."""
    patch: dict[str, Any] = {field: value for field, value in item.items()
                             if field not in rebuilt or not _same(rebuilt[field], value)}
    patch.update((field, None) for field in rebuilt if field not in item)
    if not patch:
        return None
    if _merged(rebuilt, patch, deep=True) == item == _merged(rebuilt, patch, deep=False):
        return patch
    return [item]



@dataclass(frozen=True)
class Listed:
    """What proves repos still listed, even when the rest of their items is unusable: the Hub's
    ``_id`` of each item that has one, else its repo id."""

    hub_ids: list[str]
    repo_ids: list[str]

    def __bool__(self) -> bool:
        return bool(self.hub_ids or self.repo_ids)


def listed(items: list[Any]) -> Listed:
    """The ``Listed`` keys of a page's items (objects only; an item with neither key proves nothing)."""
    keyed = [item for item in items if isinstance(item, dict)]
    hub_ids = [item["_id"] for item in keyed if isinstance(item.get("_id"), str)]
    repo_ids = [item["id"] for item in keyed
                if not isinstance(item.get("_id"), str) and isinstance(item.get("id"), str)]
    return Listed(hub_ids, repo_ids)


def map_model(item: Any) -> MappedRow:
    """`map_item` for a model."""
    return map_item("models", item)



def map_each(items: list[Any], mapper: Callable[[Any], tuple[str, T]]) -> tuple[dict[str, T], list[Any]]:
    """Map a page's items by repo id; a bad item, or an earlier duplicate of an id, is logged and
    returned among the rejected ones."""
    mapped: dict[str, T] = {}
    rejected = []
    for item in items:
        try:
            repo_id, value = mapper(item)
        except RejectedItem as reason:
            rejected.append(item)
            log.warning("skipped an item: %s", reason)
            continue
        if repo_id in mapped:
            rejected.append(item)
            log.warning("item %r appears twice in one page; keeping the later one", repo_id)
        mapped[repo_id] = value
    return mapped, rejected


def map_page(kind: str, items: list[Any]) -> tuple[list[MappedRow], list[Any]]:
    """Map a page of full items to rows; see ``map_each`` for what is rejected."""
    rows, rejected = map_each(items, lambda item: _keyed(map_item(kind, item)))
    return list(rows.values()), rejected


def _keyed(row: MappedRow) -> tuple[str, MappedRow]:
    return row.id, row
