"""The Link-header page walk: pages followed from a cursor, the next fetched ahead in a worker thread.

Next links are followed as given, except that ``limit`` is set to the current page size (a 504
halves it) and a link to another host is refused: the token must never leave the endpoint it was
meant for. A cursor the Hub hands back twice stops the walk.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from concurrent.futures import Future
from typing import Any

from ..errors import HubError, MalformedResponse
from ..stopping import in_worker, wait_for, wait_out
from .pages import HubClient, Page, redact


def walk_pages(client: HubClient, url: str, *, page_size: int) -> Iterator[Page]:
    """Yield pages from ``url`` on, following next links, one page in memory at a time.

    Raises:
        HubError: a next link points to another host.
        MalformedResponse: the Hub handed back a cursor it had already given in this walk.
    """
    seen: set[str] = {client.cursor_key(url)}
    while url is not None:
        page = client.fetch_page(url, page_size)
        page_size = page.page_size
        if page.next_url is not None:
            _check_next(client, page.next_url, seen)
        yield page  # checked first, so a bad next link is never checkpointed
        url = page.next_url


class PageWalk:
    """The pages of ``walk_pages``, each fetched in a worker thread, the next one in the background
    on request, so that the Hub's latency overlaps the catalog's write of the page in hand.

    The caller asks for the next page (``fetch_ahead``) only once it knows that its walk goes on
    past the page in hand: an incremental walk that stops at its watermark, or a page budget,
    costs no request more than a walk without it. A page fetched ahead of a stop or a crash is
    fetched again by the next run, since only stored pages are checkpointed. Waiting for a page
    ends at once when ``abort`` is set.

    Used as a context manager, it waits on leaving for a fetch still under way (not after an
    abort), so that no request outlives the walk.
    """

    def __init__(self, client: HubClient, url: str, *, page_size: int, abort: threading.Event | None = None) -> None:
        self._pages = walk_pages(client, url, page_size=page_size)
        self._ahead: Future[Page | None] | None = None
        self._abort = abort

    def __enter__(self) -> PageWalk:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: Any) -> None:
        if self._ahead is not None and not (exc_type and issubclass(exc_type, KeyboardInterrupt)):
            wait_out(self._ahead, self._abort)  # its page or error is of no use now

    def fetch_ahead(self) -> None:
        """Start fetching the next page in a worker thread."""
        if self._ahead is None:
            self._ahead = in_worker(lambda: next(self._pages, None))

    def arrived(self, within: float = 0.0) -> bool:
        """Whether the page fetched ahead is in hand (or its fetch has ended in an error), once
        it has had up to ``within`` seconds more to arrive."""
        if self._ahead is None:
            return False
        if within > 0:
            futures.wait([self._ahead], timeout=within)
        return self._ahead.done()

    def next_page(self) -> Page | None:
        """The next page (the one fetched ahead, once it arrives), or None at the end of the walk.

        Raises:
            Interrupted: an abort was asked while waiting for it.
        """
        self.fetch_ahead()
        ahead, self._ahead = self._ahead, None
        return wait_for(ahead, self._abort)


def _check_next(client: HubClient, next_url: str, seen: set[str]) -> None:
    if not client.same_origin(next_url):
        raise HubError(f"refusing to follow a next-page link to another host ({redact(next_url)}): "
                       f"the token is only sent to {client.endpoint}", url=next_url)
    key = client.cursor_key(next_url)
    if key in seen:
        raise MalformedResponse(f"the Hub repeated a cursor at {redact(next_url)}: stopping a walk that "
                                "would loop forever", url=next_url)
    seen.add(key)
