"""What the details lane and the counter lane map: a repo's page, and a repo's counters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..kinds import KINDS
from .items import REBUILT_COUNTERS
from .links import Link, hub_base_models
from .values import RejectedItem, _int64, _merged, _number, _object, _repo_id, _required_text, _same, _storable, _text


@dataclass(frozen=True)
class RepoDetails:
    """One repo's heavy fields at one commit: its files with sizes and, for models, ``usedStorage``,
    ``childrenModelCount`` and the bases the Hub computes (``baseModels``)."""

    sha: str
    files: list[dict[str, Any]]  # {"path", "size", "lfs_sha256"}
    columns: dict[str, Any]
    bases: list[Link] | None = None  # models: `baseModels` (none when absent); other kinds: None


def _file(sibling: Any, repo_id: str) -> dict[str, Any]:
    if not isinstance(sibling, dict):
        raise RejectedItem(f"item {repo_id!r}: a sibling is {type(sibling).__name__}, not an object")
    path = _text(sibling, "rfilename", repo_id)
    if not path:
        raise RejectedItem(f"item {repo_id!r}: a sibling has no 'rfilename'")
    lfs = _object(sibling, "lfs", repo_id) or {}
    return {"path": path, "size": _int64(sibling, "size", repo_id), "lfs_sha256": _text(lfs, "sha256", repo_id)}


def map_details(kind: str, item: Any) -> RepoDetails:
    """One repo's page (``/api/models/{id}?blobs=true``, `hub.repo_pages`) as the heavy fields the catalog stores.

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
    if kind != "models":
        return RepoDetails(sha, list(files.values()), {})
    # What a model listing cannot give (the Hub refuses these there); the rest comes with the listing's groups.
    columns = {"used_storage": _int64(item, "usedStorage", repo_id),
               "children_model_count": _int64(item, "childrenModelCount", repo_id)}
    return RepoDetails(sha, list(files.values()), columns, hub_base_models(item.get("baseModels")))


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
        rebuilt = {field: REBUILT_COUNTERS[field](self.columns) for field in self.fields}
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

