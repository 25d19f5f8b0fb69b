"""A request's query string, validated as the Hub validates it, and the listing's keyset cursor.

A listing's ``sort``, ``direction``, ``limit``, ``expand``, ``full``, ``cardData``, ``config`` and
``cursor``, and one repo's ``expand`` and ``blobs``: a value the Hub would refuse raises `BadRequest`
(the handler's 400). The cursor is opaque to clients: the sort it was made for and the last row's
position in it, as URL-safe base64 JSON.
"""

from __future__ import annotations

import base64
import binascii
import json

from . import items
from .corpus import SORT_COLUMNS, Query

MAX_PAGE_SIZE = 1000
SORTS = {"models": tuple(SORT_COLUMNS), "datasets": tuple(SORT_COLUMNS),
         "spaces": tuple(s for s in SORT_COLUMNS if s != "downloads")}


class BadRequest(ValueError):
    """A request the Hub would answer with 400."""


def encode_cursor(query: Query, value: int, row: int) -> str:
    payload = {"sort": query.sort, "desc": query.descending, "v": value, "j": row}
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str, sort: str, descending: bool) -> tuple[int, int]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        position = (int(payload["v"]), int(payload["j"]))
        matches = payload["sort"] == sort and payload["desc"] == descending
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise BadRequest("Invalid cursor") from None
    if not matches:
        raise BadRequest("Cursor does not match the sort of this request")
    return position


def _grouped(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The query string's values by name, in order: a repeated name keeps each of its values."""
    params: dict[str, list[str]] = {}
    for key, value in pairs:
        params.setdefault(key, []).append(value)
    return params


def _expand(kind: str, params: dict[str, list[str]]) -> tuple[str, ...]:
    """The ``expand`` values, each one the Hub knows for ``kind``."""
    expand = tuple(params.get("expand", []))
    if unknown := sorted(set(expand) - items.EXPAND[kind]):
        raise invalid_expand(kind, unknown)
    return expand


def invalid_expand(kind: str, values: list[str]) -> BadRequest:
    """The Hub's 400 for ``expand`` values it does not serve for ``kind``."""
    return BadRequest(f"Invalid expand value(s) {', '.join(values)} for {kind}")


def _flag(params: dict[str, list[str]], name: str) -> bool:
    raw = params.get(name, ["false"])[-1].lower()
    if raw not in ("true", "false", "1", "0"):
        raise BadRequest(f"Invalid value for '{name}': expected a boolean, got {raw!r}")
    return raw in ("true", "1")


def parse_listing(kind: str, pairs: list[tuple[str, str]], *, default_limit: int) -> tuple[Query, tuple[str, ...]]:
    """Validate a listing's query string into a corpus query and the fields to render."""
    params = _grouped(pairs)
    one = lambda name: params[name][-1] if name in params else None  # noqa: E731

    sort = one("sort") or "createdAt"
    if sort not in SORTS[kind]:
        raise BadRequest(f"Invalid sort parameter {sort!r}: expected one of {', '.join(SORTS[kind])}")
    direction = one("direction") or "-1"
    if direction not in ("-1", "1"):
        raise BadRequest(f"Invalid direction {direction!r}: expected -1 or 1")
    try:
        limit = int(one("limit") or default_limit)
    except ValueError:
        raise BadRequest(f"Invalid limit {one('limit')!r}: expected a positive integer") from None
    if limit < 1:
        raise BadRequest(f"Invalid limit {limit}: expected a positive integer")
    expand = _expand(kind, params)
    if refused := sorted(set(expand) & items.LISTING_REFUSED[kind]):
        raise BadRequest(f"expand value(s) {', '.join(refused)} are only served by /api/{kind}/{{repo_id}}")
    full, card_data, config = _flag(params, "full"), _flag(params, "cardData"), _flag(params, "config")
    if expand and (full or card_data or config):
        raise BadRequest("'expand' cannot be combined with 'full', 'cardData' or 'config'")
    descending = direction == "-1"
    cursor = one("cursor")
    query = Query(
        sort=sort,
        descending=descending,
        after=decode_cursor(cursor, sort, descending) if cursor else None,
        limit=min(limit, MAX_PAGE_SIZE),
        author=one("author"),
        search=one("search"),
        tags=tuple(params.get("filter", [])),
        pipeline_tag=one("pipeline_tag"),
    )
    return query, items.field_set(kind, expand=expand, full=full, card_data=card_data, config=config)


def parse_repo(kind: str, pairs: list[tuple[str, str]]) -> tuple[tuple[str, ...], bool]:
    """Validate one repo's query string into the fields to render and whether to add file sizes.
    ``blobs`` sizes the files whenever ``siblings`` is rendered, asked with ``expand`` or not: the
    shared README knows of no refusal of the pair (a fault switch, ``refuse-blobs-expand``, makes one)."""
    params = _grouped(pairs)
    return items.repo_fields(kind, expand=_expand(kind, params)), _flag(params, "blobs")
