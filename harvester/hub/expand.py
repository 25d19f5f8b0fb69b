"""The `expand` values a listing walk asks for, and how it survives the Hub refusing one.

The Hub adds and retires `expand` values over time and answers a refused one with 400 (the
shared README, "Which `expand` values a listing accepts"). A walk must go on: `Expand` finds the
refused values by bisecting the set with one-row requests, drops them for the rest of the run,
and reports them (the run records them in the catalog, `store.fields`). Every URL a walk
fetches, next links and stored cursors included, is asked with the current set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

log = logging.getLogger("harvester")

Probe = Callable[[tuple[str, ...]], bool]  # whether the page answers when asked for these values


def with_expand(url: str, values: tuple[str, ...]) -> str:
    """``url`` asking for exactly ``values`` with `expand`, every other parameter kept in order."""
    parts = urlsplit(url)
    params = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "expand"]
    return urlunsplit(parts._replace(query=urlencode([*params, *(("expand", value) for value in values)])))


class Expand:
    """What a walk asks for: ``values``, less those found refused (`drop_refused`), which
    ``on_refused`` hears of as they are found."""

    def __init__(self, values: tuple[str, ...], *, on_refused: Callable[[list[str]], None] | None = None) -> None:
        self.values = tuple(values)
        self.refused: list[str] = []
        self.on_refused = on_refused

    def url(self, url: str) -> str:
        return with_expand(url, self.values)

    def drop_refused(self, accepts: Probe) -> bool:
        """After a 400: find which values the Hub refuses (``accepts`` asks a one-row page), drop
        them, and say whether any was. None is when the page fails without any `expand` too, or
        only some combination fails: then the 400 was about something else."""
        if not self.values or not accepts(()):
            return False
        found: list[str] = []

        def bisect(values: tuple[str, ...]) -> None:
            if accepts(values):
                return
            if len(values) == 1:
                found.append(values[0])
                return
            middle = len(values) // 2
            bisect(values[:middle])
            bisect(values[middle:])

        bisect(self.values)
        if not found:
            return False
        log.warning("the Hub refuses expand=%s: left out of this run, asked again in a day (status lists it)",
                    ",".join(found), extra={"fields": {"event": "refused_fields", "fields": found}})
        self.values = tuple(value for value in self.values if value not in found)
        self.refused += found
        if self.on_refused is not None:
            self.on_refused(found)
        return True
