"""Render corpus rows as the Hub's listing items, with the Hub's field sets.

Without ``full`` or ``expand`` a listing carries a small default field set (models lack
``lastModified`` and ``sha`` there, as on the Hub); ``expand`` asks for exactly some
properties (plus ``id`` and ``_id``); ``full=True`` asks for nearly everything, the heavy
``siblings`` included; ``cardData=True`` adds the card metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from . import files, hubinfo, vocab
from .corpus import Corpus


def iso(ms: int) -> str:
    """A Hub timestamp: ISO 8601 UTC with milliseconds and ``Z``."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _card_data(c: Corpus, j: int) -> dict[str, Any] | None:
    if not c.has_card(j):
        return None
    rng = c.rng_for(j, "card")
    card: dict[str, Any] = {}
    if c.license_value(j):
        card["license"] = c.license_value(j)
    card["language"] = rng.sample(["en", "fr", "de", "zh", "ja", "es", "multilingual"], rng.randint(1, 3))
    card["tags"] = c.tags(j, committed=True)[:3]  # what the README says: no tag the Hub computes
    if c.kind == "models":
        if c.category_value(j, committed=True):
            card["pipeline_tag"] = c.category_value(j, committed=True)
        if c.library_value(j):
            card["library_name"] = c.library_value(j)
        stated = c.statement(j)
        if stated.card_base_model() is not None:
            card["base_model"] = stated.card_base_model()
        card["datasets"] = list(stated.trained_on)
        if hubinfo.states_evaluations(c, j):  # has_card is known: a draw, not a second one
            card["model-index"] = hubinfo.model_index(c, j)
    else:
        card["pretty_name"] = files.original_name(c, j).replace("-", " ").title()
    return card


siblings_with_blobs = files.siblings_with_blobs  # where tests and benchmarks import it from


def _runtime(c: Corpus, j: int) -> dict[str, Any]:
    rng = c.rng_for(j, "runtime")
    stage = "RUNNING" if rng.random() < 0.7 else rng.choice(["SLEEPING", "BUILD_ERROR", "PAUSED"])
    return {"stage": stage, "hardware": {"current": rng.choice(vocab.SPACE_HARDWARE)}}


Render = Callable[[Corpus, int], Any]

# Every property the emulator can produce, in the order the Hub puts them.
PROPERTIES: dict[str, Render] = {
    "_id": lambda c, j: c.hub_id(j),
    "id": lambda c, j: c.ids[j],
    "modelId": lambda c, j: c.ids[j],
    "author": lambda c, j: c.author(j),
    "sha": lambda c, j: c.sha(j),
    "lastModified": lambda c, j: iso(c.modified[j]),
    "createdAt": lambda c, j: iso(c.created[j]),
    "private": lambda c, j: False,
    "gated": lambda c, j: c.gated_value(j),
    "disabled": lambda c, j: bool(c.disabled[j]),
    "downloads": lambda c, j: c.downloads[j],
    "downloadsAllTime": lambda c, j: c.downloads_all[j],
    "likes": lambda c, j: c.likes[j],
    "trendingScore": lambda c, j: c.trending[j],
    "tags": lambda c, j: c.tags(j),
    "pipeline_tag": lambda c, j: c.category_value(j),
    "library_name": lambda c, j: c.library_value(j),
    "sdk": lambda c, j: c.category_value(j),
    "description": lambda c, j: f"{c.ids[j].rsplit('/', 1)[-1]}: a synthetic dataset for offline trials.",
    "citation": lambda c, j: f"@misc{{{c.hub_id(j)}, title={{{c.ids[j]}}}}}",
    "paperswithcode_id": lambda c, j: None,
    "subdomain": lambda c, j: c.ids[j].replace("/", "-").replace("_", "-").replace(".", "-").lower(),
    "runtime": _runtime,
    "models": lambda c, j: list(c.statement(j).uses_models),
    "datasets": lambda c, j: list(c.statement(j).uses_datasets),
    "siblings": files.siblings,
    "safetensors": files.safetensors,
    "gguf": files.gguf,
    "config": hubinfo.config,
    "transformersInfo": hubinfo.transformers_info,
    "mask_token": hubinfo.mask_token,
    "widgetData": hubinfo.widget_data,
    "usedStorage": files.used_storage,
    "cardData": _card_data,
    "model-index": hubinfo.model_index,
    "evalResults": hubinfo.eval_results,
    "inference": hubinfo.inference,
    "inferenceProviderMapping": hubinfo.provider_mapping,
    "spaces": hubinfo.spaces_using,
    "baseModels": hubinfo.base_models,
    "childrenModelCount": hubinfo.children_count,
}

# The Hub's accepted `expand` values per kind on a repo's page (those without data here are left out).
EXPAND = {
    "models": frozenset({
        "author", "baseModels", "cardData", "childrenModelCount", "config", "createdAt", "disabled",
        "downloads", "downloadsAllTime", "evalResults", "gated", "gguf", "inference",
        "inferenceProviderMapping", "lastModified", "library_name", "likes", "mask_token",
        "model-index", "pipeline_tag", "private", "resourceGroup", "safetensors", "sha", "siblings",
        "spaces", "tags", "transformersInfo", "trendingScore", "usedStorage", "widgetData",
    }),
    "datasets": frozenset({
        "author", "cardData", "citation", "createdAt", "description", "disabled", "downloads",
        "downloadsAllTime", "gated", "lastModified", "likes", "mainSize", "paperswithcode_id",
        "private", "resourceGroup", "sha", "siblings", "tags", "trendingScore", "usedStorage",
    }),
    "spaces": frozenset({
        "author", "cardData", "createdAt", "datasets", "disabled", "lastModified", "likes",
        "models", "private", "region", "resourceGroup", "runtime", "sdk", "sha", "siblings",
        "subdomain", "tags", "trendingScore", "usedStorage",
    }),
}

# What listings refuse with 400 although a repo's page answers it (huggingface_hub PR #3182).
LISTING_REFUSED = {"models": frozenset({"baseModels", "childrenModelCount", "usedStorage"}),
                   "datasets": frozenset(), "spaces": frozenset()}

DEFAULT = {
    "models": ("_id", "id", "likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag",
               "library_name", "createdAt", "modelId"),
    "datasets": ("_id", "id", "author", "disabled", "gated", "lastModified", "likes", "trendingScore",
                 "private", "sha", "description", "downloads", "tags", "createdAt"),
    "spaces": ("_id", "id", "likes", "trendingScore", "private", "sdk", "tags", "createdAt"),
}
_FULL_EXTRA = ("author", "sha", "lastModified", "gated", "disabled", "siblings", "safetensors")
FULL = {
    "models": DEFAULT["models"] + _FULL_EXTRA,
    "datasets": DEFAULT["datasets"] + ("siblings", "usedStorage", "citation", "paperswithcode_id"),
    "spaces": DEFAULT["spaces"] + ("author", "sha", "lastModified", "siblings", "runtime", "subdomain",
                                   "models", "datasets", "disabled"),
}
# What a repo's page gives without ``expand``, beyond the full listing's fields: the richer ones
# come with it; ``baseModels``, ``childrenModelCount``, ``evalResults`` and ``downloadsAllTime``
# only when asked for, as on the Hub.
REPO_EXTRA = {
    "models": ("cardData", "config", "gguf", "transformersInfo", "mask_token", "widgetData", "usedStorage",
               "model-index", "inference", "inferenceProviderMapping", "spaces"),
    "datasets": ("cardData",),
    "spaces": ("cardData",),
}
KIND_ONLY = {"models": {"modelId", "pipeline_tag", "library_name", "safetensors", "config", "gguf", "transformersInfo",
                        "mask_token", "widgetData", "model-index", "evalResults", "inference",
                        "inferenceProviderMapping", "spaces", "baseModels", "childrenModelCount"},
             "datasets": {"description", "citation", "paperswithcode_id"},
             "spaces": {"sdk", "runtime", "subdomain", "models", "datasets"}}


def field_set(kind: str, *, expand: tuple[str, ...], full: bool, card_data: bool,
              config: bool = False) -> tuple[str, ...]:
    """The properties one listing request returns, in Hub order."""
    if expand:
        wanted = {"_id", "id", *expand}
    else:
        wanted = set(FULL[kind] if full else DEFAULT[kind])
        if card_data:
            wanted.add("cardData")
        if config:
            wanted.add("config")
    foreign = set().union(*(KIND_ONLY[k] for k in KIND_ONLY if k != kind)) - KIND_ONLY[kind]
    return tuple(name for name in PROPERTIES if name in wanted and name not in foreign)


def repo_fields(kind: str, *, expand: tuple[str, ...]) -> tuple[str, ...]:
    """The properties one repo's page (``/api/models/{id}``) returns: the full listing's and the
    richer ones (`REPO_EXTRA`), or exactly those asked for."""
    if expand:
        return field_set(kind, expand=expand, full=False, card_data=False)
    return field_set(kind, expand=(*FULL[kind], *REPO_EXTRA[kind]), full=False, card_data=False)


def render(corpus: Corpus, j: int, fields: tuple[str, ...]) -> dict[str, Any]:
    """One listing item; properties without a value are left out, as the Hub does."""
    item = {}
    for name in fields:
        value = PROPERTIES[name](corpus, j)
        if value is not None:
            item[name] = value
    return item
