"""Hub listing items to catalog rows: pure functions, no I/O (a rejected item is logged)."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

from .jsontext import fast_dumps
from .kinds import KINDS

log = logging.getLogger("harvester")
T = TypeVar("T")


class RejectedItem(ValueError):
    """An item that cannot become a row; the reason is counted and logged, the page goes on."""


# The graph's relations as the catalog stores them (table `link_relations`, revision 0013):
# code -> (relation, detail). A base model's detail is the Hub's derivation, None when unsaid.
RELATIONS: dict[int, tuple[str, str | None]] = {
    1: ("base_model", None), 2: ("base_model", "finetune"), 3: ("base_model", "quantized"),
    4: ("base_model", "adapter"), 5: ("base_model", "merge"), 6: ("trained_on", None), 7: ("cites", None),
    8: ("uses", None),
}
_BASE_MODEL = {detail: code for code, (relation, detail) in RELATIONS.items() if relation == "base_model"}
_TRAINED_ON, _CITES, _USES = 6, 7, 8


class Link(NamedTuple):
    """One edge an item states: its relation's code (`RELATIONS`) and its target as written, a
    repo id of ``target_kind`` (models, datasets) or a paper ("arxiv:<id>", "doi:<id>")."""

    relation: int
    target_kind: str
    target: str


def _names(value: Any) -> list[str]:
    """Repo ids as a card or a space writes them: one string or a list; anything else names none."""
    values = value if isinstance(value, list) else [value]
    return [name.strip() for name in values if isinstance(name, str) and name.strip()]


def _tag_link(kind: str, tag: str) -> Link | None:
    """The edge one tag states: ``base_model:[<derivation>:]<repo>`` and ``dataset:<repo>`` (models),
    ``arxiv:<id>`` and ``doi:<id>`` (any kind)."""
    scheme, _, rest = tag.partition(":")
    if not rest.strip():
        return None
    if scheme in ("arxiv", "doi"):
        return Link(_CITES, "papers", tag)
    if kind != "models":
        return None
    if scheme == "base_model":
        derivation, _, repo = rest.partition(":")
        if derivation in _BASE_MODEL:
            return Link(_BASE_MODEL[derivation], "models", repo.strip()) if repo.strip() else None
        return Link(_BASE_MODEL[None], "models", rest.strip())
    if scheme == "dataset":
        return Link(_TRAINED_ON, "datasets", rest.strip())
    return None


def item_links(kind: str, item: dict[str, Any], tags: list[str]) -> list[Link]:
    """The edges ``item`` of ``kind`` (with its ``tags``) states, each target once: from its tags,
    a model's card (``base_model``, ``datasets``) and a space's ``models`` and ``datasets``. A
    base model's derivation, where a tag gives one, wins over the mentions that do not."""
    found = [link for link in (_tag_link(kind, tag) for tag in tags) if link is not None]
    card = item.get("cardData")
    if kind == "models" and isinstance(card, dict):
        found += [Link(_BASE_MODEL[None], "models", name) for name in _names(card.get("base_model"))]
        found += [Link(_TRAINED_ON, "datasets", name) for name in _names(card.get("datasets"))]
    elif kind == "spaces":
        found += [Link(_USES, "models", name) for name in _names(item.get("models"))]
        found += [Link(_USES, "datasets", name) for name in _names(item.get("datasets"))]
    links: dict[tuple[str, str], Link] = {}
    for link in found:
        key = (link.target_kind, link.target)
        if key not in links or links[key].relation == _BASE_MODEL[None] != link.relation:
            links[key] = link
    return list(links.values())


@dataclass(frozen=True)
class MappedRow:
    """One repo's row and tags, ready to upsert: ``row["raw_extra"]`` is what the columns and
    tags cannot say of the item (`item_patch`), ``row["item_hash"]`` tells a changed item."""

    row: dict[str, Any]
    tags: list[str]  # without repeats, in the item's order
    links: list[Link]  # the graph's edges the item states, each target once

    @property
    def id(self) -> str:
        return self.row["id"]


def parse_hub_time(value: Any) -> datetime | None:
    """A Hub timestamp ('2024-05-13T17:47:06.000Z') as an aware UTC datetime."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise RejectedItem(f"timestamp is not a string: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        raise RejectedItem(f"timestamp is not ISO 8601: {value!r}") from None
    except OverflowError:  # a date at the calendar's edge, moved past it by its offset
        raise RejectedItem(f"timestamp is out of range in UTC: {value!r}") from None


INT64 = range(-(2**63), 2**63)


def _text(item: dict[str, Any], key: str, repo_id: str) -> str | None:
    """A string field; whether it is valid Unicode is checked once for the whole item (``_storable``)."""
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RejectedItem(f"item {repo_id!r}: {key!r} is {type(value).__name__}, not a string")
    return value


def _required_text(item: dict[str, Any], key: str, repo_id: str) -> str:
    value = _text(item, key, repo_id)
    if not value:
        raise RejectedItem(f"item {repo_id!r} has no {key!r}")
    return value


def _utf8(value: str, where: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RejectedItem(f"{where} holds an unpaired surrogate (not valid Unicode)") from None


def _int64(item: dict[str, Any], key: str, repo_id: str) -> int | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RejectedItem(f"item {repo_id!r}: {key!r} is {type(value).__name__}, not an integer")
    if value not in INT64:
        raise RejectedItem(f"item {repo_id!r}: {key!r} = {value} is out of the 64-bit range")
    return value


def _number(item: dict[str, Any], key: str, repo_id: str) -> float | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RejectedItem(f"item {repo_id!r}: {key!r} is {type(value).__name__}, not a number")
    try:
        return float(value)
    except OverflowError:
        raise RejectedItem(f"item {repo_id!r}: {key!r} = {value} is beyond a float's range") from None


def _flag(item: dict[str, Any], key: str, repo_id: str) -> bool | None:
    value = item.get(key)
    if value is not None and not isinstance(value, bool):
        raise RejectedItem(f"item {repo_id!r}: {key!r} is {type(value).__name__}, not a boolean")
    return value


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


_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")  # JSON's escape of NUL, not an escaped backslash + "u0000"


def _storable(item: dict[str, Any], repo_id: str) -> str:
    """The item as JSON text, refusing what some catalog backend cannot store: NaN or infinity,
    NUL, unpaired surrogates (in any string of the item, keys included).

    PostgreSQL's jsonb and text reject all three, so one rule for every backend keeps catalogs equal.
    """
    text = fast_dumps(item)  # valid UTF-8 without NaN or infinity, when it is not None
    if text is None:
        try:
            text = json.dumps(item, allow_nan=False, ensure_ascii=False)
        except ValueError:
            raise RejectedItem(f"item {repo_id!r} holds NaN or infinity, which JSON does not allow") from None
        except RecursionError:
            raise RejectedItem(f"item {repo_id!r} is nested too deeply") from None
        if not text.isascii():
            _utf8(text, f"item {repo_id!r}")
    if "\\u0000" in text and _NUL_ESCAPE.search(text):  # the substring test is fast; the regex is exact
        raise RejectedItem(f"item {repo_id!r} holds a NUL character")
    return text


def _repo_id(item: Any) -> str:
    """The repo id of an item that is an object with a non-empty string ``id``."""
    if not isinstance(item, dict):
        raise RejectedItem(f"item is not an object: {type(item).__name__}")
    repo_id = _text(item, "id", "?")
    if not repo_id:
        raise RejectedItem("item has no 'id'")
    _utf8(repo_id, "an item's 'id'")  # the counter lane stores no item, so nothing else checks it
    return repo_id


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
    }
    unique_tags = list(dict.fromkeys(tags))
    row["raw_extra"] = item_patch(item, rebuilt_item(kind, row, unique_tags))
    row["item_hash"] = item_hash(raw_json)
    return MappedRow(row, unique_tags, item_links(kind, item, unique_tags))


def item_hash(item_json: str) -> int:
    """A signed 64-bit digest of an item's JSON text: a different number means a different item."""
    return int.from_bytes(hashlib.blake2b(item_json.encode(), digest_size=8).digest(), "big", signed=True)


def hub_time(value: datetime | None) -> str | None:
    """A timestamp as the Hub writes it: '2024-05-13T17:47:06.000Z' (milliseconds, UTC)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="milliseconds")[:23] + "Z"


def _flag_field(value: bool | None) -> bool | None:
    return None if value is None else bool(value)


def _json_number(value: float | None) -> int | float | None:
    """A stored float as the views write it: whole numbers (to 2**53) as integers, as the Hub
    sends them; others to the 15 significant digits SQLite's JSON functions keep (where that
    loses precision, the item's own number goes to ``raw_extra``)."""
    if value is None:
        return None
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return float(f"{value:.15g}")


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
_REBUILT_COUNTERS = {field: {**_REBUILT, **_GATED}[field] for field in ("likes", "downloads", "trendingScore")}
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


def _same(a: Any, b: Any) -> bool:
    """Equal, and of one type: 0, 0.0 and false are three values here, as in Python's JSON."""
    return type(a) is type(b) and a == b


def _merged(target: Any, patch: Any, *, deep: bool) -> Any:
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for field, value in patch.items():
        if value is None:
            merged.pop(field, None)
        elif deep:
            merged[field] = _merged(merged.get(field), value, deep=True)
        else:
            merged[field] = value
    return merged


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


@dataclass(frozen=True)
class RepoDetails:
    """One repo's heavy fields at one commit: its files and, for models, parameters, safetensors, config."""

    sha: str
    files: list[dict[str, Any]]  # {"path", "size", "lfs_sha256"}
    columns: dict[str, Any]


def _object(item: dict[str, Any], key: str, repo_id: str) -> dict[str, Any] | None:
    value = item.get(key)
    if value is not None and not isinstance(value, dict):
        raise RejectedItem(f"item {repo_id!r}: {key!r} is {type(value).__name__}, not an object")
    return value


def _file(sibling: Any, repo_id: str) -> dict[str, Any]:
    if not isinstance(sibling, dict):
        raise RejectedItem(f"item {repo_id!r}: a sibling is {type(sibling).__name__}, not an object")
    path = _text(sibling, "rfilename", repo_id)
    if not path:
        raise RejectedItem(f"item {repo_id!r}: a sibling has no 'rfilename'")
    lfs = _object(sibling, "lfs", repo_id) or {}
    return {"path": path, "size": _int64(sibling, "size", repo_id), "lfs_sha256": _text(lfs, "sha256", repo_id)}


def map_details(kind: str, item: Any) -> RepoDetails:
    """One repo's page (``/api/models/{id}?blobs=true``) as the heavy fields the catalog stores.

    Raises:
        RejectedItem: no ``sha``, malformed siblings, or a field of the wrong type or range.
    """
    repo_id = _repo_id(item)
    sha = _required_text(item, "sha", repo_id)
    _storable(item, repo_id)
    siblings = item.get("siblings") or []
    if not isinstance(siblings, list):
        raise RejectedItem(f"item {repo_id!r}: 'siblings' is {type(siblings).__name__}, not a list")
    files = {file["path"]: file for file in (_file(sibling, repo_id) for sibling in siblings)}
    columns: dict[str, Any] = {}
    if kind == "models":
        safetensors = _object(item, "safetensors", repo_id)
        columns = {"parameters": _int64(safetensors or {}, "total", repo_id), "safetensors": safetensors,
                   "config": _object(item, "config", repo_id)}
    return RepoDetails(sha, list(files.values()), columns)


# Counter column -> the listing item's field that holds it.
COUNTER_FIELDS = {"downloads": "downloads", "likes": "likes", "trending_score": "trendingScore"}


@dataclass(frozen=True)
class Counters:
    """One repo's counters from the counter lane: as columns, and as the item's own fields."""

    columns: dict[str, int | float | None]
    fields: dict[str, Any]

    def patched(self, extra: dict[str, Any] | list[Any] | None) -> dict[str, Any] | list[Any] | None:
        """A row's ``raw_extra`` (`item_patch`) once these counters are its columns: the item's
        counters are now these, so the view keeps agreeing with the columns."""
        if isinstance(extra, list):
            return [_merged(extra[0], self.fields, deep=False)]  # a None counter: absent, as the Hub leaves it
        patch = {name: value for name, value in (extra or {}).items() if name not in self.fields}
        rebuilt = {field: _REBUILT_COUNTERS[field](self.columns) for field in self.fields}
        patch.update((field, value) for field, value in self.fields.items()
                     if value is not None and not _same(rebuilt[field], value))
        return patch or None


def map_counters(kind: str, item: Any) -> tuple[str, Counters]:
    """A counter-lane item as (repo id, its counters) for the counters ``kind`` has.

    Raises:
        RejectedItem: no ``id``, or a counter of the wrong type or out of range.
    """
    repo_id = _repo_id(item)
    values: dict[str, int | float | None] = {"likes": _int64(item, "likes", repo_id),
                                             "trending_score": _number(item, "trendingScore", repo_id)}
    if "downloads" in KINDS[kind].counters:
        values["downloads"] = _int64(item, "downloads", repo_id)
    return repo_id, Counters(values, {COUNTER_FIELDS[name]: item.get(COUNTER_FIELDS[name]) for name in values})


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
