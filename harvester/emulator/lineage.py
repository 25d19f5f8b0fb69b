"""The graph the emulator's items state: models derived from models, the datasets they were
trained on, the papers repos cite, and the models and datasets spaces use.

Nothing here is stored per row but a lineage revision: a model's statement is drawn from
``(seed, row, lineage revision)``, so a million rows cost one byte each, and only
`Corpus.relineage` (a commit that rewrites the card's ``base_model``) changes it. A model's
parent is one of the ``REACH`` rows before it, so chains go five and more generations deep; a few
parents are names no repo holds (dangling), a few models name themselves, and `Corpus` keeps a
few pairs that name each other (cycles). A repo is named as it was called at the last commit of
the repo naming it: a card does not follow later renames (the corpora of one Hub share a clock).

`statement` is the truth tests compare a catalog with: what each item says, in the catalog's
terms (relation, derivation, target kind, target).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from . import vocab

if TYPE_CHECKING:
    from .corpus import Corpus

DERIVED = 0.45  # share of models derived from another
DERIVATIONS = vocab.Weighted(("finetune", "quantized", "adapter", "merge"), (45, 25, 18, 12))
REACH = 300
# Flagships (rows FLAGSHIP, FLAGSHIP + FLAGSHIPS_EVERY, ...) draw a share of all derivations, as
# Llama or Qwen do on the Hub: a few bases with hundreds of derivatives.
FLAGSHIP, FLAGSHIPS_EVERY, TO_FLAGSHIP = 7, 500, 0.3
DANGLING = 0.03  # a parent or dataset named by no repo: deleted, private, misspelt
SELF = 0.003  # models that name themselves as a base too
CYCLES = 1 / 400  # per model: a pair of models that name each other
PAPERS = [f"arxiv:{2201 + n // 40}.{10000 + n * 37 % 9000:05d}" for n in range(200)]

LINEAGE, STATEMENT, USES, CARD = range(4)  # what a draw is for: part of its key
T = TypeVar("T")

# How a model states a parent: as the Hub computes tags from the card (both tag forms, the
# card's base_model), with the plain tag only (derivation unsaid), or in the card only.
FORMS = vocab.Weighted(("both", "tag", "card"), (80, 10, 10))


class Base(NamedTuple):
    """One parent a model states: its name as written, the derivation (None: unsaid) and the form."""

    name: str
    derivation: str | None
    form: str  # both, tag, card


class Statement(NamedTuple):
    """What one item says of the graph."""

    bases: tuple[Base, ...] = ()
    trained_on: tuple[str, ...] = ()  # models: card datasets and dataset: tags
    uses_models: tuple[str, ...] = ()  # spaces
    uses_datasets: tuple[str, ...] = ()  # spaces
    papers: tuple[str, ...] = ()  # arxiv: and doi: tags, any kind
    card_list: bool = False  # a single base_model written as a list of one

    def tags(self) -> list[str]:
        """The tags that state the bases and datasets, as the Hub computes them from the card."""
        tags = []
        for base in self.bases:
            if base.form != "card":
                tags.append(f"base_model:{base.name}")
            if base.form == "both":
                tags.append(f"base_model:{base.derivation}:{base.name}")
        return tags + [f"dataset:{name}" for name in self.trained_on]

    def card_base_model(self) -> str | list[str] | None:
        """The card's ``base_model``: a string for one parent, a list for several."""
        named = [base.name for base in self.bases if base.form != "tag"]
        if not named:
            return None
        return named[0] if len(named) == 1 and not self.card_list else named

    def edges(self) -> set[tuple[str, str | None, str, str]]:
        """``(relation, derivation, target kind, target)`` for each edge, as the catalog's view
        ``links`` gives them: a derivation only where a tag states it."""
        return ({("base_model", base.derivation if base.form == "both" else None, "models", base.name)
                 for base in self.bases}
                | {("trained_on", None, "datasets", name) for name in self.trained_on}
                | {("uses", None, "models", name) for name in self.uses_models}
                | {("uses", None, "datasets", name) for name in self.uses_datasets}
                | {("cites", None, "papers", paper) for paper in self.papers})


_MASK = (1 << 64) - 1


class Draws:
    """Deterministic draws from a key of integers (SplitMix64). Seeding `random.Random` costs 5 µs,
    and an item's statement needs three: that made the emulator serve at a fifth of its speed."""

    __slots__ = ("state",)

    def __init__(self, *key: int) -> None:
        self.state = hash(key) & _MASK  # a tuple of ints hashes the same in every process

    def random(self) -> float:
        self.state = z = (self.state + 0x9E3779B97F4A7C15) & _MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return ((z ^ (z >> 31)) >> 11) / 9007199254740992.0  # 53 bits: below 1.0

    def below(self, n: int) -> int:
        return int(self.random() * n)

    def choice(self, values: Sequence[T]) -> T:
        return values[self.below(len(values))]

    def weighted(self, weighted: vocab.Weighted) -> Any:
        point, total = self.random() * sum(weighted.weights), 0.0
        for value, weight in zip(weighted.values, weighted.weights, strict=True):
            total += weight
            if point < total:
                return value
        return weighted.values[-1]


def parents(c: Corpus, j: int) -> tuple[str | None, list[int | str]]:
    """A model's derivation and its parents: row positions, or names no repo holds."""
    draw = c.draws(j, LINEAGE)
    if j == 0 or draw.random() >= DERIVED:
        return None, []
    derivation = draw.weighted(DERIVATIONS)
    count = min(2 + draw.below(2) if derivation == "merge" else 1, j)
    chosen: dict[int, None] = {}
    if j > FLAGSHIP and draw.random() < TO_FLAGSHIP:  # the older a flagship, the more derive from it
        chosen[FLAGSHIP + FLAGSHIPS_EVERY * int((j - FLAGSHIP) / FLAGSHIPS_EVERY * draw.random() ** 2)] = None
    low = max(0, j - REACH)
    while len(chosen) < count:
        chosen[low + draw.below(j - low)] = None
    return derivation, [k if draw.random() >= DANGLING else _dangling_model(draw) for k in chosen]


def _dangling_model(draw: Draws) -> str:
    owner = draw.choice(("ghost-lab", "gone-org", "TheRemoved"))
    return f"{owner}/{draw.choice(vocab.MODEL_FAMILIES)}-{1 + draw.below(999)}"


def statement(c: Corpus, j: int) -> Statement:
    """What row ``j``'s item states now."""
    papers = c.papers(j)
    if c.kind == "spaces":
        draw = c.draws(j, USES, c.rev[j])
        return Statement(uses_models=_references(c, j, "models", draw, draw.below(3)),
                         uses_datasets=_references(c, j, "datasets", draw, draw.below(2)), papers=papers)
    if c.kind == "models":
        return _model_statement(c, j, papers)
    return Statement(papers=papers)


def _model_statement(c: Corpus, j: int, papers: tuple[str, ...]) -> Statement:
    draw = c.draws(j, STATEMENT)
    if draw.random() < 0.15:
        papers = tuple(dict.fromkeys((*papers, draw.choice(PAPERS))))
    if not c.has_card(j):  # no README at this commit: no card, so no lineage or datasets either
        return Statement(papers=papers)
    derivation, found = parents(c, j)
    written_at = c.modified[j]  # a card names a parent as it was called then
    bases = [Base(c.name_at(k, written_at) if isinstance(k, int) else k, derivation, _form(draw, derivation))
             for k in found]
    if draw.random() < SELF:
        bases.append(Base(c.ids[j], "adapter", "both"))
    bases += [Base(c.name_at(k, written_at), "finetune", "both") for k in c.cycles.get(j, ())]
    unique, seen = [], set()
    for base in bases:  # one statement per target: the first
        if base.name not in seen:
            seen.add(base.name)
            unique.append(base)
    trained_on = _references(c, j, "datasets", draw, draw.choice((0, 0, 1, 1, 2)))
    return Statement(tuple(unique), trained_on, papers=papers, card_list=draw.random() < 0.2)


def _form(draw: Draws, derivation: str | None) -> str:
    return "both" if derivation == "merge" else draw.weighted(FORMS)


def _references(c: Corpus, j: int, kind: str, draw: Draws, count: int) -> tuple[str, ...]:
    """``count`` repos of ``kind`` as row ``j``'s last commit named them (a few dangling), each once."""
    peer = c.peers.get(kind)
    return tuple(dict.fromkeys(
        target if isinstance(target, str) else peer.name_at(target, c.modified[j])  # type: ignore[union-attr]
        for target in _reference_rows(c, kind, draw, count)))


def _reference_rows(c: Corpus, kind: str, draw: Draws, count: int) -> list[int | str]:
    """The targets of `_references`: rows of the peer corpus, or names no repo holds."""
    peer = c.peers.get(kind)
    targets: list[int | str] = []
    for _ in range(count):
        if peer is None or not peer.generated or draw.random() < DANGLING * 3:
            stems = vocab.MODEL_FAMILIES if kind == "models" else vocab.DATASET_STEMS
            targets.append(f"{draw.choice(('acme-ai', 'open-labs'))}/{draw.choice(stems)}")
        else:
            targets.append(draw.below(peer.generated))
    return targets


def used_model_rows(spaces: Corpus, k: int) -> set[int]:
    """The model rows space ``k`` names among its ``models`` (the draws of `statement`, in its order)."""
    draw = spaces.draws(k, USES, spaces.rev[k])
    return {t for t in _reference_rows(spaces, "models", draw, draw.below(3)) if isinstance(t, int)}
