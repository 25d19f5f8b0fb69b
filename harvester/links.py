"""The edges of the Hub's graph that one listing item states: pure functions, no I/O.

A model names its base models in tags (``base_model:<repo>`` and, with the kind of derivation,
``base_model:<relation>:<repo>``) and in its card (``base_model``, a string or a list); the
datasets it was trained on as ``dataset:<repo>`` tags and the card's ``datasets``; papers as
``arxiv:<id>`` and ``doi:<id>`` tags. A space lists the models and datasets it uses
(``models``, ``datasets``). Targets are kept as written: a repo not in the catalog, or renamed
since, is resolved when it is read.
"""

from __future__ import annotations

from typing import Any, NamedTuple

# How a model derives from a base, as the Hub's ``base_model:<relation>:<repo>`` tags say.
DERIVATIONS = ("finetune", "quantized", "adapter", "merge")


class Link(NamedTuple):
    """One edge from a repo: ``relation`` is base_model, trained_on, cites or uses; ``detail``
    the derivation of a base model (None when the item does not say)."""

    relation: str
    detail: str | None
    target_kind: str  # models, datasets or papers
    target_id: str  # a repo id, or "arxiv:<id>" / "doi:<id>" for papers


def _names(value: Any) -> list[str]:
    """A card's repo reference: one string or a list of them; anything else names nothing."""
    values = value if isinstance(value, list) else [value]
    return [name.strip() for name in values if isinstance(name, str) and name.strip()]


def _from_tag(tag: str) -> Link | None:
    scheme, _, rest = tag.partition(":")
    if not rest:
        return None
    if scheme == "base_model":
        derivation, _, repo = rest.partition(":")
        if derivation in DERIVATIONS:
            return Link("base_model", derivation, "models", repo) if repo else None
        return Link("base_model", None, "models", rest)
    if scheme == "dataset":
        return Link("trained_on", None, "datasets", rest)
    if scheme in ("arxiv", "doi"):
        return Link("cites", None, "papers", tag)
    return None


def item_links(kind: str, item: dict[str, Any], tags: list[str]) -> list[Link]:
    """The edges ``item`` (of ``kind``, with its ``tags``) states, each target once per relation;
    a base model's derivation, when any tag gives it, wins over the tags and card that do not."""
    found = [link for link in map(_from_tag, tags) if link is not None]
    card = item.get("cardData")
    if kind == "models" and isinstance(card, dict):
        found += [Link("base_model", None, "models", name) for name in _names(card.get("base_model"))]
        found += [Link("trained_on", None, "datasets", name) for name in _names(card.get("datasets"))]
    if kind == "spaces":
        found += [Link("uses", None, "models", name) for name in _names(item.get("models"))]
        found += [Link("uses", None, "datasets", name) for name in _names(item.get("datasets"))]
    links: dict[tuple[str, str, str], Link] = {}
    for link in found:
        key = (link.relation, link.target_kind, link.target_id)
        if key not in links or (links[key].detail is None and link.detail is not None):
            links[key] = link
    return list(links.values())
