"""Hub listing items to catalog rows: pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# The properties a models walk asks for with `expand`: exactly what the catalog stores.
MODEL_EXPAND = (
    "author", "sha", "lastModified", "createdAt", "private", "gated", "disabled", "downloads",
    "downloadsAllTime", "likes", "trendingScore", "tags", "pipeline_tag", "library_name", "cardData",
)


class RejectedItem(ValueError):
    """An item that cannot become a row; the reason is counted and logged, the page goes on."""


@dataclass(frozen=True)
class MappedRow:
    """One model's row and tags, ready to upsert."""

    row: dict[str, Any]
    tags: list[str]

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
    except ValueError:
        raise RejectedItem(f"timestamp is not ISO 8601: {value!r}") from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _license(item: dict[str, Any], tags: list[str]) -> str | None:
    card = item.get("cardData")
    if isinstance(card, dict) and isinstance(card.get("license"), str):
        return card["license"]
    return next((tag.removeprefix("license:") for tag in tags if tag.startswith("license:")), None)


def _gated(value: Any) -> str | None:
    if value in (None, False):
        return None
    if value is True:
        return "auto"
    return str(value)


def map_model(item: Any) -> MappedRow:
    """Turn one `/api/models` item into a row of `models` and its tags.

    Raises:
        RejectedItem: the item lacks an ``id`` or ``_id``, or a field has an impossible type.
    """
    if not isinstance(item, dict):
        raise RejectedItem(f"item is not an object: {type(item).__name__}")
    repo_id, hub_id = item.get("id"), item.get("_id")
    if not isinstance(repo_id, str) or not repo_id:
        raise RejectedItem("item has no 'id'")
    if not isinstance(hub_id, str) or not hub_id:
        raise RejectedItem(f"item {repo_id!r} has no '_id'")
    tags = item.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise RejectedItem(f"item {repo_id!r} has malformed 'tags'")
    author = item.get("author")
    if author is None and "/" in repo_id:
        author = repo_id.split("/", 1)[0]
    row = {
        "id": repo_id,
        "hub_id": hub_id,
        "author": author,
        "sha": item.get("sha"),
        "created_at": parse_hub_time(item.get("createdAt")),
        "last_modified": parse_hub_time(item.get("lastModified")),
        "private": item.get("private"),
        "gated": _gated(item.get("gated")),
        "disabled": item.get("disabled"),
        "downloads": item.get("downloads"),
        "downloads_all_time": item.get("downloadsAllTime"),
        "likes": item.get("likes"),
        "trending_score": item.get("trendingScore"),
        "pipeline_tag": item.get("pipeline_tag"),
        "library_name": item.get("library_name"),
        "license": _license(item, tags),
        "card_data": item.get("cardData"),
        "raw": item,
    }
    return MappedRow(row, list(dict.fromkeys(tags)))
