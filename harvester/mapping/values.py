"""Reading one field of an untrusted item: typed, range-checked, valid Unicode, or `RejectedItem`;
and the JSON merge patch that `item_patch` states."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from ..jsontext import fast_dumps


class RejectedItem(ValueError):
    """An item that cannot become a row; the reason is counted and logged, the page goes on."""



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



def _object(item: dict[str, Any], key: str, repo_id: str) -> dict[str, Any] | None:
    value = item.get(key)
    if value is not None and not isinstance(value, dict):
        raise RejectedItem(f"item {repo_id!r}: {key!r} is {type(value).__name__}, not an object")
    return value



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

