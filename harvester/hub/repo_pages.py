"""What the details lane asks of one repo's page, and how it goes on when the Hub refuses it.

A model's details are what no listing gives: its files with sizes and LFS hashes (``blobs=true``),
and ``usedStorage``, ``baseModels`` and ``childrenModelCount``, which model listings refuse. The
lane asks for all of them in one request per model::

    /api/models/{id}?blobs=true&expand=sha&expand=siblings&expand=usedStorage&expand=baseModels&expand=childrenModelCount

one request, as the lane made before for files alone, and a smaller answer than the page without
``expand`` (which carries the card data, config, ... that the listing gives already). Datasets and
spaces have nothing beyond their files: they are asked ``?blobs=true`` as before.

The shared README lists these values for the repo's page but does not say that the Hub sizes
files asked for through ``expand`` (huggingface_hub's ``model_info`` refuses ``expand`` with
``files_metadata`` on its side), so nothing here relies on it:

- a 400 for the pair: if the page answers without the extras (``baseModels``, ``childrenModelCount``),
  one of them is refused: found by bisection, left out for the run and recorded (``on_refused``), as
  a listing's refused field is; else, if the page answers ``?blobs=true`` alone, the Hub refuses
  ``expand`` beside ``blobs``;
- then, and when files come back without sizes (the Hub ignored ``blobs``), the rest of the run
  asks two requests per model: ``?blobs=true`` (files, sizes, ``usedStorage``) and
  ``?expand=baseModels&expand=childrenModelCount``.

Each run starts with the one request again: finding out costs three requests a run, the second
request per model (2.2 million for the Hub's models) only where the Hub makes it necessary.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import HubError
from .expand import Expand, with_expand
from .pages import HubClient, answered, repo_url

log = logging.getLogger("harvester")

# What a repo's page is asked for beside `blobs=true`, per kind: the commit, the files and what
# model listings refuse; and the values a run may do without (a refused one is left out).
NEEDED = {"models": ("sha", "siblings", "usedStorage")}
EXTRAS = {"models": ("baseModels", "childrenModelCount")}


class RepoPages:
    """The details lane's requests for the repos of one ``kind``, for one run."""

    def __init__(self, client: HubClient, kind: str, *, left_out: Iterable[str] = (),
                 on_refused: Callable[[list[str]], None] | None = None) -> None:
        self.client = client
        self.kind = kind
        self.needed = NEEDED.get(kind, ())
        skipped = set(left_out)
        self.extras = Expand(tuple(value for value in EXTRAS.get(kind, ()) if value not in skipped),
                             on_refused=on_refused)
        self.together = bool(self.needed)  # one request per repo, until the Hub says otherwise
        self.answered = False  # whether a page has answered the extras still asked

    @property
    def asked(self) -> tuple[str, ...]:
        """The extras the run still asks for."""
        return self.extras.values

    def fetch(self, repo_id: str) -> dict[str, Any] | None:
        """``repo_id``'s page with what the lane stores; None when the Hub no longer has the repo.

        Raises:
            HubError: a refusal that no refused `expand` value or pair explains (a bad token, ...).
            HubUnavailable, MalformedResponse: as `HubClient.fetch_repo`.
        """
        sized = repo_url(self.client.endpoint, self.kind, repo_id)
        if self.together:
            item = self._together(sized)
            if self.together:  # else the Hub refused the pair just now: this repo is asked apart
                self.answered |= item is not None
                return item
        item = self.client.fetch_repo(sized)
        if item is None or not self.extras.values:
            return item
        item = {**item, **self._extras(repo_url(self.client.endpoint, self.kind, repo_id, blobs=False))}
        self.answered = True
        return item

    def _together(self, sized: str) -> dict[str, Any] | None:
        while True:
            try:
                item = self.client.fetch_repo(with_expand(sized, (*self.needed, *self.extras.values)))
            except HubError as exc:
                if exc.status != 400:
                    raise
                if self.extras.drop_refused(lambda values: self._answers(with_expand(sized, (*self.needed, *values)))):
                    continue
                if not self._answers(sized):
                    raise  # the page is refused without `expand` too: not ours to explain
                self._apart("the Hub refuses `expand` beside `blobs=true`")
                return None
            if item is not None and _unsized(item):
                self._apart("the Hub answered `expand` beside `blobs=true` without file sizes")
                return None
            return item

    def _extras(self, plain: str) -> dict[str, Any]:
        """The extras of a repo's page asked alone (``plain`` has no query), those refused left out."""
        while self.extras.values:
            try:
                item = self.client.fetch_repo(with_expand(plain, self.extras.values))
            except HubError as exc:
                if exc.status != 400 or not self.extras.drop_refused(
                        lambda values: self._answers(with_expand(plain, values))):
                    raise
                continue
            return {name: item[name] for name in self.extras.values if item is not None and name in item}
        return {}

    def _answers(self, url: str) -> bool:
        """Whether the Hub answers ``url`` rather than refuse it with 400 (a gone repo answers)."""
        return answered(lambda: self.client.fetch_repo(url))

    def _apart(self, why: str) -> None:
        self.together = False
        log.warning("%s: the details lane asks two requests per model for the rest of the run", why,
                    extra={"fields": {"event": "details_apart", "reason": why}})


def _unsized(item: dict[str, Any]) -> bool:
    """Whether the item lists files and none has a size: ``blobs`` was not honoured."""
    siblings = item.get("siblings")
    return isinstance(siblings, list) and bool(siblings) and not any(
        isinstance(sibling, dict) and "size" in sibling for sibling in siblings)
