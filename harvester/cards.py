"""The cards lane: a work list, not a walk. Each selected repo's README.md, read at its listed sha.

The work list is the catalog itself: live repos matching ``--where`` whose card is missing or was
read at another commit, by ``row_key``, so an interrupted run loses at most one batch and the next
run picks up the rest. Each repo is one request to ``{endpoint}/{repo}/resolve/{sha}/README.md``,
in the Hub's "resolvers" bucket (anonymous 3,000, free 5,000, PRO 12,000 per 5 minutes), never
the API bucket's 500-2,500: the lane paces itself with a `Pacer` of its own, reading that
bucket's RateLimit headers, and asks nothing of the API.

Outcomes, each stored with the commit it was read at, so nothing is asked again until the sha
moves: a body ('card'); a 404 that says the file is not there ('none'); a 401 or 403 for a gated,
disabled or vanished repo ('unreadable', with the Hub's error code). A renamed repo's 307 is
followed within the endpoint. A commit the Hub no longer has (the listing is behind) is skipped
and counted as rejected: the next listing walk brings the new sha.
"""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from .errors import ConfigError, Interrupted
from .hub.pages import FileAnswer, HubClient, file_url
from .hub.retry import Pacer
from .read import read_only_catalog
from .stopping import abort_flag, in_worker, wait_for
from .store.cards import MAX_BODY, Due, FetchedCard, pending_cards, store_cards_page
from .store.engine import database_reason

if TYPE_CHECKING:
    from .config import SyncConfig
    from .walk import Walker

CARDS_BATCH = 200  # repos per transaction: 200 bodies are about 1 MB compressed
CARD = "README.md"
# What the lane reads unless --where says otherwise, per kind: the repos people use. On the
# emulator (whose counters follow the Hub's long tail) `downloads >= 100` is 8.8 % of models and of
# datasets, `likes >= 1` 12 % of spaces; at the Hub's 2.2 million models that is ~190,000 cards,
# a first fill of about 5 hours of the anonymous resolvers quota (3,000 per 5 minutes), where every
# model would take 2.5 days, most of it for auto-generated cards of repos nobody downloads.
# README.md, "The cards lane", has the measurements.
DEFAULT_WHERE = {"models": "downloads >= 100", "datasets": "downloads >= 100", "spaces": "likes >= 1"}
# huggingface_hub's REGEX_YAML_BLOCK (repocard.py), over bytes: the front matter is `card_data`.
FRONT_MATTER = re.compile(rb"^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))")


def body_of(readme: bytes) -> bytes:
    """A README without its YAML front matter, as ``RepoCard`` splits it (the whole file if it has none)."""
    found = FRONT_MATTER.match(readme)
    return readme[found.end():] if found else readme


def fetch_cards(walker: Walker, config: SyncConfig) -> bool:
    """Fetch and store the cards of due repos, ``config.cards_batch`` per transaction, up to
    ``config.max_repos``; returns whether no due repo is left."""
    kind, budget, after = config.kind, config.max_repos, 0
    where = config.where or DEFAULT_WHERE[kind]
    # Its own client and pacer: the resolvers bucket's headers never slow the API's walks, nor theirs it.
    client = HubClient(config.endpoint, token=config.token, policy=walker.client.policy, stats=walker.stats,
                       timeout=config.timeout, pacer=Pacer())
    reader = read_only_catalog(config.db_url)  # --where is the user's SQL: it runs where nothing can be written
    try:
        while budget is None or budget > 0:
            due = _due(reader, kind, where, after=after, limit=min(config.cards_batch, budget or config.cards_batch))
            if not due:
                return True
            fetched, skipped = [], 0
            for repo in due:
                if walker.stopping:
                    break
                url = file_url(config.endpoint, kind, repo.repo_id, repo.sha, CARD)
                answer = wait_for(in_worker(partial(client.fetch_file, url)), abort_flag(walker.stop))
                card = as_card(repo, answer)
                fetched += [card] if card is not None else []
                skipped += card is None
                after = repo.row_key
            with walker.batch() as batch:
                store_cards_page(batch, kind, fetched, skipped=skipped)
            walker.committed()
            if walker.stopping:
                raise Interrupted("stopped after the last committed batch")
            budget = None if budget is None else budget - len(fetched) - skipped
        return not _due(reader, kind, where, after=after, limit=1)
    finally:
        reader.dispose()


def _due(reader: Engine, kind: str, where: str, *, after: int, limit: int) -> list[Due]:
    try:
        return pending_cards(reader, kind, where=where, after=after, limit=limit)
    except SQLAlchemyError as exc:
        raise ConfigError(f"--where {where!r} does not select {kind}: {database_reason(exc)}") from None


def as_card(repo: Due, answer: FileAnswer) -> FetchedCard | None:
    """What to store of an answer: the body capped at `MAX_BODY`, 'none' or 'unreadable'; None
    for a commit the Hub does not have (the listing is behind)."""
    if answer.state == "file":
        body = body_of(answer.body or b"")
        return FetchedCard(repo, "card", body[:MAX_BODY], len(body))
    if answer.error == "RevisionNotFound":
        return None
    return FetchedCard(repo, "none" if answer.state == "missing" else "unreadable", error=answer.error)
