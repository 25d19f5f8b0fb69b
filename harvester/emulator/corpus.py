"""A deterministic synthetic corpus of Hub repos of one kind, stored by column.

Rows are addressed by an integer position ``j`` that never changes; a deleted row keeps its
position and is skipped by listings. Everything a listing sorts or filters on lives in compact
arrays (about 150 bytes per row in all), and everything else an item shows (files, card data,
sha) is derived on demand from ``(seed, kind, j, revision)``, so a million rows fit in a few
hundred MB and the same seed always gives the same Hub.

Time is logical: the corpus has its own clock, starting at ``NOW`` and moved forward by each
mutation, so runs are reproducible and watermarks never depend on the wall clock.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import random
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from . import lineage, vocab

KINDS = ("models", "datasets", "spaces")
NOW_MS = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp() * 1000)
EPOCH_MS = int(datetime(2020, 3, 1, tzinfo=UTC).timestamp() * 1000)
DAY_MS = 86_400_000
# The Hub's createdAt of every repo created before it stored creation times: 2022-03-02T23:29:04.000Z.
# Those repos share it, and a listing in creation order goes through them by `_id`.
PLACEHOLDER_MS = int(datetime(2022, 3, 2, 23, 29, 4, tzinfo=UTC).timestamp() * 1000)

# Hub sort name -> column holding its value.
SORT_COLUMNS = {
    "lastModified": "modified",
    "createdAt": "created",
    "downloads": "downloads",
    "likes": "likes",
    "trendingScore": "trending",
}
COUNTER_SORTS = ("downloads", "likes", "trendingScore")


@dataclass(frozen=True)
class Query:
    """One listing request, already validated: which rows, in which order, from where."""

    sort: str = "createdAt"
    descending: bool = True
    after: tuple[int, int] | None = None  # keyset position (sort value, row) of the last row served
    limit: int = 1000
    author: str | None = None
    search: str | None = None
    tags: tuple[str, ...] = ()
    pipeline_tag: str | None = None


@dataclass
class Profile:
    """What distinguishes one repo kind's corpus: its names, categories and extra tags."""

    kind: str
    category: vocab.Weighted  # pipeline_tag for models, task for datasets, sdk for spaces
    category_tag: Callable[[str], str]
    extra_tags: tuple[str, ...]
    make_name: Callable[[random.Random], str]
    library: vocab.Weighted | None = None
    counters: tuple[str, ...] = ("downloads", "likes", "trendingScore")
    # Extra tags the Hub computes itself (deployability, region): they come and go without a commit.
    hub_computed: tuple[str, ...] = ()


def _model_name(rng: random.Random) -> str:
    name = f"{rng.choice(vocab.MODEL_FAMILIES)}-{rng.choice(vocab.MODEL_SIZES)}{rng.choice(vocab.MODEL_SUFFIXES)}"
    return name.lower() if rng.random() < 0.4 else name


def _dataset_name(rng: random.Random) -> str:
    return f"{rng.choice(vocab.DATASET_STEMS)}{rng.choice(vocab.DATASET_SUFFIXES)}"


def _space_name(rng: random.Random) -> str:
    return f"{rng.choice(vocab.SPACE_STEMS)}{rng.choice(vocab.SPACE_SUFFIXES)}"


PROFILES = {
    "models": Profile(
        "models", vocab.PIPELINE_TAGS, lambda t: t, vocab.MODEL_EXTRA_TAGS, _model_name, vocab.LIBRARIES,
        hub_computed=("endpoints_compatible", "text-generation-inference", "region:us", "region:eu"),
    ),
    "datasets": Profile(
        "datasets", vocab.DATASET_TASKS, lambda t: f"task_categories:{t}", vocab.DATASET_EXTRA_TAGS, _dataset_name,
        hub_computed=("croissant", "region:us"),
    ),
    "spaces": Profile(
        "spaces", vocab.SPACE_SDKS, lambda t: t, vocab.SPACE_EXTRA_TAGS, _space_name,
        counters=("likes", "trendingScore"), hub_computed=("region:us", "region:eu"),
    ),
}


def _cum(weighted: vocab.Weighted) -> list[float]:
    return list(itertools.accumulate(weighted.weights))


def _authors(rng: random.Random, count: int) -> list[str]:
    """A pool of distinct author names; a few awkward ones always included."""
    pool = dict.fromkeys(vocab.AWKWARD_AUTHORS)
    while len(pool) < count:
        shape = rng.random()
        if shape < 0.45:
            name = f"{rng.choice(vocab.AUTHOR_FIRST)}{rng.choice(['', '-', '_'])}{rng.choice(vocab.AUTHOR_STEM)}"
        elif shape < 0.8:
            name = f"{rng.choice(vocab.AUTHOR_STEM)}-{rng.choice(vocab.AUTHOR_ORG)}"
        else:
            name = f"{rng.choice(vocab.AUTHOR_FIRST)}{rng.randint(1, 9999)}"
        if name in pool:
            name = f"{name}{rng.randint(2, 999)}"
        if rng.random() < 0.15:
            name = name.capitalize()
        pool[name] = None
    return list(pool)


class Clock:
    """Logical time in milliseconds, moved forward by mutations; the corpora of one Hub share one."""

    def __init__(self) -> None:
        self.ms = NOW_MS


@dataclass
class Corpus:
    """All repos of one kind, with keyset-sorted indexes and deterministic mutations."""

    kind: str
    seed: int
    profile: Profile = field(init=False)
    lock: threading.RLock = field(init=False, default_factory=threading.RLock)
    clock: Clock = field(init=False, default_factory=Clock)

    def __post_init__(self) -> None:
        self.profile = PROFILES[self.kind]
        self._rng = random.Random(f"{self.seed}/{self.kind}/mutations")
        self.ids: list[str] = []
        self._taken: set[str] = set()
        self.created = array("q")
        self.modified = array("q")
        self.downloads = array("q")
        self.downloads_all = array("q")
        self.likes = array("q")
        self.trending = array("q")
        self.rev = array("I")
        self.deleted = bytearray()
        self.private = bytearray()  # hidden from listings and repo pages, like a deleted repo, until public again
        self.category = bytearray()
        self.inferred: dict[int, int] = {}  # category the Hub infers now, where it differs from the committed one
        self.library = bytearray()
        self.license = bytearray()
        self.gated = bytearray()
        self.disabled = bytearray()
        self.tagmask = array("Q")
        self._indexes: dict[tuple[str, bool], array] = {}
        self._positions: dict[str, int] | None = None
        self._authors: list[str] = []
        # The graph (`lineage`): a byte per row that a card commit rewriting base_model moves, the
        # ids renamed repos had before (when, old id), pairs of models naming each other, and the
        # corpora of the other kinds, whose first ``generated`` rows items may name.
        self.lineage_rev = bytearray()
        # What the Hub changes without a commit beyond counters: a byte per row that `reprovide`
        # moves, drawing new inference providers; indexes derived from every row (`hubinfo`), and
        # the last cards rendered (a client asks HEAD, then GET).
        self.serving = bytearray()
        self.derived: dict[str, tuple[int, dict[int, list[int]]]] = {}
        self._cards: dict[tuple[int, int, int, int], str | None] = {}
        self.former: dict[int, list[tuple[int, str]]] = {}
        self.cycles: dict[int, list[int]] = {}
        self.peers: dict[str, Corpus] = {}
        self.generated = 0
        self._paper_bits = [(bit, tag) for bit, tag in enumerate(self.profile.extra_tags)
                            if tag.startswith(("arxiv:", "doi:"))]
        self._last_statement: tuple[tuple[int, ...] | None, lineage.Statement | None] = (None, None)

    @property
    def clock_ms(self) -> int:
        return self.clock.ms

    @clock_ms.setter
    def clock_ms(self, value: int) -> None:
        self.clock.ms = value

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def generate(cls, kind: str, size: int, seed: int) -> Corpus:
        """Build a corpus of ``size`` repos of ``kind``, the same for the same seed."""
        corpus = cls(kind, seed)
        rng = random.Random(f"{seed}/{kind}")
        corpus._authors = _authors(rng, max(8, size // 6))
        corpus._append(rng, size, created=None)
        corpus.generated = size
        if kind == "models":
            corpus._pair_cycles(random.Random(f"{seed}/{kind}/cycles"))
        return corpus

    def _pair_cycles(self, rng: random.Random) -> None:
        """Make some models name, as a base, a model derived from them."""
        for j in rng.sample(range(len(self.ids)), int(len(self.ids) * lineage.CYCLES)):
            _, found = lineage.parents(self, j)
            if found and isinstance(found[0], int):
                self.cycles.setdefault(found[0], []).append(j)

    @staticmethod
    def link(corpora: dict[str, Corpus]) -> None:
        """Make the corpora of one Hub share a clock and name each other's repos."""
        clock = Clock()
        for corpus in corpora.values():
            corpus.clock = clock
            corpus.peers = {kind: peer for kind, peer in corpora.items() if peer is not corpus}

    def _append(self, rng: random.Random, n: int, *, created: list[int] | None) -> range:
        """Append ``n`` generated rows; ``created`` fixes their creation times (new repos)."""
        start = len(self.ids)
        profile = self.profile
        author_cum = list(itertools.accumulate(1 / (r + 1) ** 1.1 for r in range(len(self._authors))))
        authors = rng.choices(self._authors, cum_weights=author_cum, k=n)
        for author in authors:
            self.ids.append(self._unique_id(rng, author))
        if created is None:
            # The Hub grows roughly exponentially: repo ages are exponential, mean 1.5 years.
            mean_age = 1.5 * 365 * DAY_MS
            created = [NOW_MS - int(min(rng.expovariate(1 / mean_age), NOW_MS - EPOCH_MS)) for _ in range(n)]
            # Half the repos are touched only on their first day; the rest any time since.
            modified = [
                c + rng.randrange(min(DAY_MS, NOW_MS - c + 1)) if rng.random() < 0.5
                else c + int((NOW_MS - c) * rng.random())
                for c in created
            ]
        else:
            modified = list(created)
        self.created.extend(max(c, PLACEHOLDER_MS) for c in created)
        self.modified.extend(modified)
        for c in created:
            downloads = min(int((rng.paretovariate(0.75) - 1) * 4), 900_000_000)
            likes = min(int(downloads**0.55 * rng.random() * 0.2), 20_000_000)
            age_years = max((NOW_MS - c) / (365 * DAY_MS), 0.05)
            self.downloads.append(downloads)
            self.downloads_all.append(downloads + int(downloads * age_years * 6 * rng.random()))
            self.likes.append(likes)
            self.trending.append(int(likes * rng.random() / age_years / 4))
        self.rev.extend(itertools.repeat(0, n))
        self.lineage_rev.extend(bytes(n))
        self.serving.extend(bytes(n))
        self.deleted.extend(bytes(n))
        self.private.extend(bytes(n))
        self.category.extend(rng.choices(range(len(profile.category.values)), profile.category.weights, k=n))
        lib = profile.library or vocab.Weighted((None,), (1,))
        self.library.extend(rng.choices(range(len(lib.values)), lib.weights, k=n))
        self.license.extend(rng.choices(range(len(vocab.LICENSES.values)), vocab.LICENSES.weights, k=n))
        self.gated.extend(rng.choices(range(3), vocab.GATED.weights, k=n))
        self.disabled.extend(1 if rng.random() < 0.002 else 0 for _ in range(n))
        width = len(profile.extra_tags)
        self.tagmask.extend(rng.getrandbits(width) & rng.getrandbits(width) & rng.getrandbits(width) for _ in range(n))
        self._indexes.clear()
        self._positions = None
        return range(start, len(self.ids))

    def _unique_id(self, rng: random.Random, author: str) -> str:
        roll = rng.random()
        if roll < 0.0005:
            base = rng.choice(vocab.LEGACY_NAMES)
        else:
            name = rng.choice(vocab.AWKWARD_NAMES) if roll < 0.002 else self.profile.make_name(rng)
            base = f"{author}/{name}"
        return self._fresh_id(base, rng)

    def _fresh_id(self, base: str, rng: random.Random | None = None) -> str:
        """``base``, or ``base`` with a numeric suffix, unused by any repo so far (ignoring case)."""
        rng = rng or self._rng
        candidate = base
        while candidate.lower() in self._taken:
            candidate = f"{base}-{rng.randint(2, 99_999)}"
        self._taken.add(candidate.lower())
        return candidate

    # -- reading ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return sum(1 for _ in self.live())

    def listed(self, j: int) -> bool:
        """Whether a repo is visible to everyone now: neither deleted nor private."""
        return not (self.deleted[j] or self.private[j])

    def live(self) -> Iterator[int]:
        """Positions of the repos that listings show now (neither deleted nor private)."""
        return (j for j in range(len(self.ids)) if self.listed(j))

    def position(self, repo_id: str) -> int:
        """The row position of a repo id (KeyError when unknown)."""
        if self._positions is None:
            self._positions = {repo_id: j for j, repo_id in enumerate(self.ids)}
        return self._positions[repo_id]

    def find(self, repo_id: str) -> int | None:
        """The row position of a repo that exists now, else None."""
        try:
            j = self.position(repo_id)
        except KeyError:
            return None
        return j if self.listed(j) else None

    def author(self, j: int) -> str | None:
        repo_id = self.ids[j]
        return repo_id.split("/", 1)[0] if "/" in repo_id else None

    def hub_id(self, j: int) -> str:
        """The repo's stable ``_id``: creation second plus position, like a Mongo ObjectId."""
        return f"{self.created[j] // 1000:08x}{j:016x}"

    def sha(self, j: int) -> str:
        return hashlib.sha1(f"{self.seed}/{self.kind}/{j}/{self.rev[j]}".encode()).hexdigest()

    def category_value(self, j: int, *, committed: bool = False) -> str | None:
        """The repo's category as the Hub lists it now, or (``committed``) as its last commit set it."""
        index = self.category[j] if committed else self.inferred.get(j, self.category[j])
        return self.profile.category.values[index]

    def library_value(self, j: int) -> str | None:
        return (self.profile.library or vocab.Weighted((None,), (1,))).values[self.library[j]]

    def license_value(self, j: int) -> str | None:
        return vocab.LICENSES.values[self.license[j]]

    def gated_value(self, j: int) -> bool | str:
        return vocab.GATED.values[self.gated[j]] or False

    def name_at(self, j: int, when_ms: int) -> str:
        """The id row ``j`` had at ``when_ms``, before any later rename."""
        for renamed_at, old in self.former.get(j, ()):
            if when_ms < renamed_at:
                return old
        return self.ids[j]

    def renamed_from(self, old_id: str) -> int | None:
        """The listed row that was once called ``old_id`` and has since been renamed, if any."""
        for j, names in self.former.items():
            if any(old == old_id for _, old in names) and self.listed(j) and self.ids[j] != old_id:
                return j
        return None

    def has_card(self, j: int) -> bool:
        """Whether the repo's last commit has a README with card metadata (the Hub omits cardData if not)."""
        return self.draws(j, lineage.CARD, self.rev[j]).random() >= 0.08

    def card_text(self, j: int) -> str | None:
        """Row ``j``'s README.md at its last commit, or None when it has none (`cards`)."""
        key = (j, self.rev[j], self.lineage_rev[j], self.modified[j])  # all the card data depends on
        if key not in self._cards:
            from . import cards, items

            if len(self._cards) >= 64:
                self._cards.clear()
            self._cards[key] = cards.card_text(self, j, items.PROPERTIES["cardData"](self, j))
        return self._cards[key]

    def card(self, repo_id: str) -> str | None:
        """The card a repo serves now, at its current sha: the truth tests compare with."""
        return self.card_text(self.position(repo_id))

    def hostile_cards(self) -> list[str]:
        """The listed repos whose cards carry script tags, an onerror image, a 20,000-character line
        and control characters."""
        from . import cards

        return cards.hostile(self)

    def papers(self, j: int) -> tuple[str, ...]:
        """The papers among the repo's extra tags."""
        mask = self.tagmask[j]
        return tuple(tag for bit, tag in self._paper_bits if mask >> bit & 1)

    def statement(self, j: int) -> lineage.Statement:
        """What the repo's item states of the graph now."""
        # One item asks for it up to three times (tags, card, a space's fields). What it depends
        # on moves only with the row's revisions or a rename anywhere, which ticks the shared clock.
        key = (j, self.rev[j], self.lineage_rev[j], self.clock.ms)
        last_key, stated = self._last_statement  # one read: requests are served by several threads
        if last_key != key or stated is None:
            stated = lineage.statement(self, j)
            self._last_statement = (key, stated)
        return stated

    def tags(self, j: int, *, committed: bool = False) -> list[str]:
        """The repo's tags as the Hub lists them: library, task, extras, license, and those it
        computes from the card (base models, datasets, papers: `statement`). ``committed``: only
        what its last commit set (no Hub-computed tags, the committed task), as its card has them."""
        tags: list[str] = []
        library = self.library_value(j)
        if library:
            tags.append(library)
        category = self.category_value(j, committed=committed)
        if category:
            tags.append(self.profile.category_tag(category))
        mask = self.tagmask[j]
        hidden = self.profile.hub_computed if committed else ()
        tags.extend(tag for bit, tag in enumerate(self.profile.extra_tags) if mask >> bit & 1 and tag not in hidden)
        license_ = self.license_value(j)
        if license_:
            tags.append(f"license:{license_}")
        if not committed:
            stated = self.statement(j)
            tags += [*stated.tags(), *stated.papers]  # the extra tags' papers are in already
        return list(dict.fromkeys(tags))  # a library can also be an extra tag; the Hub lists it once

    def rng_for(self, j: int, salt: str = "") -> random.Random:
        """A random source fixed by the row and its revision, for derived fields."""
        return random.Random(f"{self.seed}/{self.kind}/{j}/{self.rev[j]}/{salt}")

    def draws(self, j: int, purpose: int, *more: int) -> lineage.Draws:
        """Cheap draws fixed by the row, its lineage revision, ``purpose`` and ``more``."""
        return lineage.Draws(self.seed, KINDS.index(self.kind), j, self.lineage_rev[j], purpose, *more)

    def sort_value(self, sort: str, j: int) -> int:
        return getattr(self, SORT_COLUMNS[sort])[j]

    def _order_key(self, sort: str, descending: bool) -> Callable[[int], tuple[int, str]]:
        """Where row ``j`` stands in a listing sorted by ``sort``: by its value (descending or not),
        ties by ``_id`` ascending, as the Hub breaks them (a decoded cursor reads
        ``{"$or": [{"downloads": 2, "_id": {"$gt": ...}}, {"downloads": {"$lt": 2}}]}``)."""
        column, sign = getattr(self, SORT_COLUMNS[sort]), -1 if descending else 1
        return lambda j: (sign * column[j], self.hub_id(j))

    def _index(self, sort: str, descending: bool) -> array:
        """Row positions in listing order (`_order_key`); rebuilt lazily after mutations."""
        index = self._indexes.get((sort, descending))
        if index is None:
            index = array("i", sorted(range(len(self.ids)), key=self._order_key(sort, descending)))
            self._indexes[(sort, descending)] = index
        return index

    def _forget(self, sort: str) -> None:
        """Drop the indexes of ``sort`` after its values moved."""
        for descending in (False, True):
            self._indexes.pop((sort, descending), None)

    def page(self, query: Query) -> tuple[list[int], bool]:
        """The rows of one page after ``query.after``, and whether more rows follow."""
        with self.lock:
            index = self._index(query.sort, query.descending)
            start = 0
            if query.after is not None:
                value, row = query.after
                key = self._order_key(query.sort, query.descending)
                after = ((-1 if query.descending else 1) * value, self.hub_id(row))
                start = bisect.bisect_right(index, after, key=key)
            order: Iterable[int] = (index[p] for p in range(start, len(index)))
            matches = self._matcher(query)
            rows = list(itertools.islice(filter(matches, order), query.limit + 1))
        return rows[: query.limit], len(rows) > query.limit

    def _matcher(self, query: Query) -> Callable[[int], bool]:
        checks: list[Callable[[int], bool]] = [self.listed]
        if query.author is not None:
            author = query.author.lower()
            checks.append(lambda j: (self.author(j) or "").lower() == author)
        if query.search is not None:
            needle = query.search.lower()
            checks.append(lambda j: needle in self.ids[j].lower())
        if query.pipeline_tag is not None:
            checks.append(lambda j: self.category_value(j) == query.pipeline_tag)
        if query.tags:
            wanted = set(query.tags)
            checks.append(lambda j: wanted.issubset(self.tags(j)))
        return lambda j: all(check(j) for check in checks)

    # -- mutating ---------------------------------------------------------------------------

    def _tick(self) -> int:
        self.clock.ms = self._later()
        return self.clock.ms

    def _later(self) -> int:
        """A time after every mutation so far, not yet the clock's."""
        return self.clock.ms + self._rng.randrange(1_000, 60_000)

    def _renamed(self, j: int, new: str) -> None:
        """Row ``j`` goes by ``new`` from now on. The clock moves last: a statement remembered
        meanwhile (`statement`) is filed under the time before, so it is not served again."""
        when = self._later()
        self.former.setdefault(j, []).append((when, self.ids[j]))
        self.ids[j] = new
        self.modified[j] = when
        self.clock.ms = when

    def _pick(self, n: int | None, ids: Iterable[str] | None) -> list[int]:
        if ids is not None:
            return [self.position(repo_id) for repo_id in ids]
        live = list(self.live())
        return sorted(self._rng.sample(live, min(n or 0, len(live))))

    def add(self, n: int) -> list[str]:
        """Create ``n`` new repos, newer than everything so far; returns their ids."""
        with self.lock:
            created = [self._tick() for _ in range(n)]
            return [self.ids[j] for j in self._append(self._rng, n, created=created)]

    def modify(self, n: int | None = None, *, ids: Iterable[str] | None = None,
               at_ms: int | None = None) -> list[str]:
        """Push a new commit to some repos: new sha, newer lastModified (or exactly ``at_ms``,
        which can be a bad date the Hub serves, even one in the future)."""
        with self.lock:
            rows = self._pick(n, ids)
            for j in rows:
                self.rev[j] += 1
                self.modified[j] = self._tick() if at_ms is None else at_ms
            self._forget("lastModified")
            return [self.ids[j] for j in rows]

    def relineage(self, n: int | None = None, *, ids: Iterable[str] | None = None) -> list[str]:
        """Push a commit that rewrites the card's ``base_model`` (and datasets): new parents, new sha."""
        with self.lock:
            rows = self._pick(n, ids)
            for j in rows:
                self.lineage_rev[j] = (self.lineage_rev[j] + 1) % 256
            return self.modify(ids=[self.ids[j] for j in rows])

    def delete(self, n: int | None = None, *, ids: Iterable[str] | None = None) -> list[str]:
        """Delete some repos (or make them private): they vanish from listings."""
        with self.lock:
            rows = self._pick(n, ids)
            for j in rows:
                self.deleted[j] = 1
            return [self.ids[j] for j in rows]

    def rename(self, n: int | None = None, *, ids: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """Rename some repos: a new repo id, the same ``_id``; a rename counts as a modification."""
        with self.lock:
            renamed = []
            for j in self._pick(n, ids):
                old = self.ids[j]
                author, _, name = old.rpartition("/")
                new = self._fresh_id(f"{author}/{name}-renamed" if author else f"{name}-renamed")
                self._renamed(j, new)
                renamed.append((old, new))
            self._positions = None
            self._forget("lastModified")
            return renamed

    def rename_to(self, new_ids: dict[str, str]) -> None:
        """Rename repos to the ids given, all at once: chains (b to c, then a to b) and swaps too."""
        with self.lock:
            rows = {self.position(old): new for old, new in new_ids.items()}
            held = {self.ids[j].lower() for j in self.live()} - {old.lower() for old in new_ids}
            if clash := {new for new in rows.values() if new.lower() in held}:
                raise ValueError(f"ids taken by other repos: {sorted(clash)}")
            for j, new in rows.items():
                self._renamed(j, new)
                self._taken.add(new.lower())
            self._positions = None
            self._forget("lastModified")

    def bump_counters(self, n: int | None = None, *, ids: Iterable[str] | None = None) -> list[str]:
        """Move downloads, likes and trending score without a commit, as the Hub does."""
        with self.lock:
            rows = self._pick(n, ids)
            for j in rows:
                self._bump(j)
            for sort in COUNTER_SORTS:
                self._forget(sort)
            return [self.ids[j] for j in rows]

    def _bump(self, j: int) -> None:
        extra = self._rng.randrange(1, 5_000)
        self.downloads[j] += extra
        self.downloads_all[j] += extra
        self.likes[j] += self._rng.randrange(0, 20)
        self.trending[j] = self._rng.randrange(0, 500)

    def drift(self, n: int | None = None, *, ids: Iterable[str] | None = None) -> list[str]:
        """Change what the Hub changes without a commit (``sha`` and ``lastModified`` stay): a
        Hub-computed tag comes or goes and the counters move; sometimes the gating changes, the
        Hub infers another task (models), or the repo is disabled or enabled again."""
        with self.lock:
            rows = self._pick(n, ids)
            hub_tags = [self.profile.extra_tags.index(tag) for tag in self.profile.hub_computed]
            for j in rows:
                if hub_tags:
                    self.tagmask[j] ^= 1 << self._rng.choice(hub_tags)
                if self._rng.random() < 0.3:
                    self.gated[j] = (self.gated[j] + self._rng.randrange(1, 3)) % 3
                if self.kind == "models" and self._rng.random() < 0.2:
                    current = self.inferred.get(j, self.category[j])
                    self.inferred[j] = (current + self._rng.randrange(1, len(self.profile.category.values))) % len(
                        self.profile.category.values)
                if self._rng.random() < 0.02:
                    self.disabled[j] ^= 1
                self._bump(j)
            for sort in COUNTER_SORTS:
                self._forget(sort)
            return [self.ids[j] for j in rows]

    def reprovide(self, n: int | None = None, *, ids: Iterable[str] | None = None) -> list[str]:
        """Change some models' inference providers and ``inference`` without a commit, as the Hub
        does when a provider starts or stops serving them. Each picked repo's mapping changes, unless
        its task is one no provider serves (then it stays without)."""
        from .hubinfo import provider_mapping

        with self.lock:
            rows = self._pick(n, ids)
            for j in rows:
                before = provider_mapping(self, j)
                for _ in range(255):  # a new draw can repeat the old mapping (often: none at all)
                    self.serving[j] = (self.serving[j] + 1) % 256
                    if provider_mapping(self, j) != before:
                        break
            return [self.ids[j] for j in rows]

    def make_private(self, n: int | None = None, *, ids: Iterable[str] | None = None) -> list[str]:
        """Make some repos private: they vanish from listings and repo pages exactly like deleted
        ones, with no new commit; ``make_public`` brings them back as they were."""
        with self.lock:
            rows = self._pick(n, ids)
            for j in rows:
                self.private[j] = 1
            return [self.ids[j] for j in rows]

    def make_public(self, ids: Iterable[str]) -> list[str]:
        """Make private repos public again (sha and lastModified unchanged)."""
        with self.lock:
            rows = [self.position(repo_id) for repo_id in ids]
            for j in rows:
                self.private[j] = 0
            return [self.ids[j] for j in rows]
