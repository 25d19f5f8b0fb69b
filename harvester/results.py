"""What `Catalog`'s reading methods hand back: the change feed's `Change` records, and a query's rows.

Both stream from an open connection; closing them (or the catalog) gives it back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.exc import SQLAlchemyError

from .errors import CatalogError

ChangeType = Literal["insert", "update", "rename", "delete", "undelete"]


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the change log: what a sync changed about one repo, at position ``seq``."""

    seq: int
    run_id: int | None
    kind: str
    hub_id: str
    repo_id: str
    change: ChangeType
    fields: tuple[str, ...] | None  # updates: the columns that changed
    previous_id: str | None  # renames: the repo id before
    changed_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Change:
        """A change from a row of the ``changes`` table, as `store.changes.read_changes` gives it."""
        fields = row["fields"]
        return cls(**{**row, "fields": tuple(fields) if fields is not None else None})

    def as_dict(self) -> dict[str, Any]:
        """The change as a plain dict in column order (``fields`` as a list), as `harvester changes` prints it."""
        return {"seq": self.seq, "run_id": self.run_id, "kind": self.kind, "hub_id": self.hub_id,
                "repo_id": self.repo_id, "change": self.change,
                "fields": list(self.fields) if self.fields is not None else None,
                "previous_id": self.previous_id, "changed_at": self.changed_at}


class ChangeFeed(Iterator[Change]):
    """Changes in ``seq`` order; ``position`` is the ``seq`` to resume from (the last one yielded,
    or the ``since`` it started from), so a consumer that saves it never misses or repeats one."""

    def __init__(self, rows: Iterator[dict[str, Any]], since: int) -> None:
        self._rows = rows
        self.position = since

    def __iter__(self) -> ChangeFeed:
        return self

    def __next__(self) -> Change:
        try:
            row = next(self._rows)
        except SQLAlchemyError as exc:
            raise unreadable(exc) from None
        change = Change.from_row(row)
        self.position = change.seq
        return change

    def close(self) -> None:
        """Stop reading; ``position`` stays at the last change yielded."""
        _close(self._rows)


class QueryResult(Iterator[dict[str, Any]]):
    """A query's rows as dicts, streamed from the database; ``columns`` names them in order."""

    def __init__(self, columns: list[str], stream: Iterator[tuple]) -> None:
        self.columns = columns
        self._stream = stream

    def __iter__(self) -> QueryResult:
        return self

    def __next__(self) -> dict[str, Any]:
        return dict(zip(self.columns, next(self._stream), strict=True))

    def tuples(self) -> Iterator[tuple]:
        """The rows not yet read, as tuples in column order (what the CLI's writers take)."""
        return self._stream

    def close(self) -> None:
        """Stop reading and give the connection back."""
        _close(self._stream)


def _close(stream: Iterator[Any]) -> None:
    """End a stream of rows early: a generator's ``close`` runs its cleanup (the connection back)."""
    close = getattr(stream, "close", None)
    if close is not None:
        close()


def unreadable(exc: SQLAlchemyError) -> CatalogError:
    """A database error while reading, as the one-line `CatalogError` that carries its reason (exit code 1,
    whichever command met it), and for a damaged file how to find the damage and rebuild."""
    from .store.engine import DAMAGED_HINT, damaged, database_reason

    reason = database_reason(exc)
    hint = f": {DAMAGED_HINT.format(path='FILE')}" if damaged(reason) else ""
    return CatalogError(f"the catalog could not be read: {reason}{hint}")
