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

from . import vocab
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
    else:
        card["pretty_name"] = c.ids[j].rsplit("/", 1)[-1].replace("-", " ").title()
    return card


_FILES = {"models": vocab.MODEL_FILES, "datasets": vocab.DATASET_FILES, "spaces": vocab.SPACE_FILES}


def _siblings(c: Corpus, j: int) -> list[dict[str, str]]:
    rng = c.rng_for(j, "files")
    files = _FILES[c.kind]
    return [{"rfilename": name} for name in sorted(rng.sample(files, rng.randint(2, len(files))))]


def siblings_with_blobs(c: Corpus, j: int) -> list[dict[str, Any]]:
    """The file list with sizes, blob ids and LFS pointers, as ``?blobs=true`` returns it."""
    siblings = []
    for sibling in _siblings(c, j):
        name = sibling["rfilename"]
        rng = c.rng_for(j, f"blob/{name}")
        blob = {**sibling, "blobId": f"{rng.getrandbits(160):040x}"}
        if name.endswith(vocab.LFS_SUFFIXES):
            size = rng.randrange(1_000_000, 20_000_000_000)
            blob |= {"size": size, "lfs": {"sha256": f"{rng.getrandbits(256):064x}", "size": size,
                                           "pointerSize": 135}}
        else:
            blob["size"] = rng.randrange(50, 2_000_000)
        siblings.append(blob)
    return siblings


def _safetensors(c: Corpus, j: int) -> dict[str, Any] | None:
    if c.library_value(j) not in ("transformers", "diffusers", "sentence-transformers", "peft"):
        return None
    total = c.rng_for(j, "params").choice([22, 110, 135, 335, 1_500, 7_240, 8_030]) * 1_000_000
    return {"parameters": {"BF16": total}, "total": total}


def _config(c: Corpus, j: int) -> dict[str, Any] | None:
    if c.library_value(j) != "transformers":
        return None
    family = c.rng_for(j, "config").choice(["llama", "mistral", "bert", "qwen2", "gemma", "t5"])
    return {"architectures": [f"{family.title()}ForCausalLM"], "model_type": family}


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
    "siblings": _siblings,
    "safetensors": _safetensors,
    "config": _config,
    "usedStorage": lambda c, j: c.rng_for(j, "storage").randrange(10_000, 50_000_000_000),
    "cardData": _card_data,
}

# The Hub's accepted `expand` values per kind (some have no data here and are left out).
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

DEFAULT = {
    "models": ("_id", "id", "likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag",
               "library_name", "createdAt", "modelId"),
    "datasets": ("_id", "id", "author", "disabled", "gated", "lastModified", "likes", "trendingScore",
                 "private", "sha", "description", "downloads", "tags", "createdAt"),
    "spaces": ("_id", "id", "likes", "trendingScore", "private", "sdk", "tags", "createdAt"),
}
_FULL_EXTRA = ("author", "sha", "lastModified", "gated", "disabled", "siblings", "safetensors", "usedStorage")
FULL = {
    "models": DEFAULT["models"] + _FULL_EXTRA,
    "datasets": DEFAULT["datasets"] + ("siblings", "usedStorage", "citation", "paperswithcode_id"),
    "spaces": DEFAULT["spaces"] + ("author", "sha", "lastModified", "siblings", "runtime", "subdomain",
                                   "models", "datasets", "disabled"),
}
KIND_ONLY = {"models": {"modelId", "pipeline_tag", "library_name", "safetensors", "config"},
             "datasets": {"description", "citation", "paperswithcode_id"},
             "spaces": {"sdk", "runtime", "subdomain", "models", "datasets"}}


def field_set(kind: str, *, expand: tuple[str, ...], full: bool, card_data: bool) -> tuple[str, ...]:
    """The properties one listing request returns, in Hub order."""
    if expand:
        wanted = {"_id", "id", *expand}
    else:
        wanted = set(FULL[kind] if full else DEFAULT[kind])
        if card_data:
            wanted.add("cardData")
    foreign = set().union(*(KIND_ONLY[k] for k in KIND_ONLY if k != kind)) - KIND_ONLY[kind]
    return tuple(name for name in PROPERTIES if name in wanted and name not in foreign)


def repo_fields(kind: str, *, expand: tuple[str, ...]) -> tuple[str, ...]:
    """The properties one repo's page (``/api/models/{id}``) returns: everything, card and config included."""
    if expand:
        return field_set(kind, expand=expand, full=False, card_data=False)
    every = {*FULL[kind], "cardData", "config"}
    return field_set(kind, expand=tuple(every), full=False, card_data=False)


def render(corpus: Corpus, j: int, fields: tuple[str, ...]) -> dict[str, Any]:
    """One listing item; properties without a value are left out, as the Hub does."""
    item = {}
    for name in fields:
        value = PROPERTIES[name](corpus, j)
        if value is not None:
            item[name] = value
    return item
