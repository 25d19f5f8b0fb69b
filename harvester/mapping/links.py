"""The graph's edges an item states: its base models, training datasets, cited papers and, for a
space, the models and datasets it uses."""

from __future__ import annotations

from typing import Any, NamedTuple

# The graph's relations as the catalog stores them (table `link_relations`, revision 0013):
# code -> (relation, detail). A base model's detail is the Hub's derivation, None when unsaid.
RELATIONS: dict[int, tuple[str, str | None]] = {
    1: ("base_model", None), 2: ("base_model", "finetune"), 3: ("base_model", "quantized"),
    4: ("base_model", "adapter"), 5: ("base_model", "merge"), 6: ("trained_on", None), 7: ("cites", None),
    8: ("uses", None),
}
_BASE_MODEL = {detail: code for code, (relation, detail) in RELATIONS.items() if relation == "base_model"}
_TRAINED_ON, _CITES, _USES = 6, 7, 8


class Link(NamedTuple):
    """One edge an item states: its relation's code (`RELATIONS`) and its target as written, a
    repo id of ``target_kind`` (models, datasets) or a paper ("arxiv:<id>", "doi:<id>")."""

    relation: int
    target_kind: str
    target: str


def _names(value: Any) -> list[str]:
    """Repo ids as a card or a space writes them: one string or a list; anything else names none."""
    values = value if isinstance(value, list) else [value]
    return [name.strip() for name in values if isinstance(name, str) and name.strip()]


def _tag_link(kind: str, tag: str) -> Link | None:
    """The edge one tag states: ``base_model:[<derivation>:]<repo>`` and ``dataset:<repo>`` (models),
    ``arxiv:<id>`` and ``doi:<id>`` (any kind)."""
    scheme, _, rest = tag.partition(":")
    if not rest.strip():
        return None
    if scheme in ("arxiv", "doi"):
        return Link(_CITES, "papers", tag)
    if kind != "models":
        return None
    if scheme == "base_model":
        derivation, _, repo = rest.partition(":")
        if derivation in _BASE_MODEL:
            return Link(_BASE_MODEL[derivation], "models", repo.strip()) if repo.strip() else None
        return Link(_BASE_MODEL[None], "models", rest.strip())
    if scheme == "dataset":
        return Link(_TRAINED_ON, "datasets", rest.strip())
    return None


def item_links(kind: str, item: dict[str, Any], tags: list[str]) -> list[Link]:
    """The edges ``item`` of ``kind`` (with its ``tags``) states, each target once: from its tags,
    a model's card (``base_model``, ``datasets``) and a space's ``models`` and ``datasets``. A
    base model's derivation, where a tag gives one, wins over the mentions that do not."""
    found = [link for link in (_tag_link(kind, tag) for tag in tags) if link is not None]
    card = item.get("cardData")
    if kind == "models" and isinstance(card, dict):
        found += [Link(_BASE_MODEL[None], "models", name) for name in _names(card.get("base_model"))]
        found += [Link(_TRAINED_ON, "datasets", name) for name in _names(card.get("datasets"))]
    elif kind == "spaces":
        found += [Link(_USES, "models", name) for name in _names(item.get("models"))]
        found += [Link(_USES, "datasets", name) for name in _names(item.get("datasets"))]
    links: dict[tuple[str, str], Link] = {}
    for link in found:
        key = (link.target_kind, link.target)
        if key not in links or links[key].relation == _BASE_MODEL[None] != link.relation:
            links[key] = link
    return list(links.values())


def hub_base_models(value: Any) -> list[Link]:
    """The bases the Hub computes for a model, its page's ``baseModels``: ``{"relation": "quantized",
    "models": [{"_id": ..., "id": "org/base"}, ...]}`` as recorded answers give it, or a list of ids
    (huggingface_hub types it ``list[str]``). Each base once, under its current id as the Hub names
    it, with the relation's code (1, unsaid, for none or one the catalog does not know). A value of
    another shape names none and rejects nothing, as a field group's."""
    relation, models = (value.get("relation"), value.get("models")) if isinstance(value, dict) else (None, value)
    code = _BASE_MODEL.get(relation if isinstance(relation, str) else None, _BASE_MODEL[None])
    entries = models if isinstance(models, list) else []
    names = _names([entry.get("id") if isinstance(entry, dict) else entry for entry in entries])
    return [Link(code, "models", name) for name in dict.fromkeys(names)]
