"""What the field groups (`kinds.FieldGroup`) add to an item, as typed columns and child rows.

Each field stays whole in the row's ``raw_extra`` (`item_patch`), so ``<kind>_raw`` rebuilds the
item exactly; what is read here are the facts people filter by. A value of an unexpected shape
or type is not read (its column is NULL, its rows absent) and rejects nothing: the item is
still stored, and still rebuilt as served.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .values import INT64


@dataclass(frozen=True)
class Facets:
    """The child rows an item's fields give, each table's in the item's order."""

    dtypes: list[tuple[str, int]]  # (dtype, parameters): `safetensors.parameters`
    providers: list[tuple[str, str | None, str | None, str | None]]  # (provider, provider id, task, status)
    evaluations: list[tuple[str, str | None, str | None, str | None, float | None]]
    # (source, task, dataset, metric, value): the card's model-index, then `evalResults`
    files: list[str] | None  # the names `siblings` lists; None when the item does not list its files

    def __bool__(self) -> bool:
        return bool(self.dtypes or self.providers or self.evaluations or self.files is not None)


NO_FACETS = Facets([], [], [], None)


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value in INT64 else None


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _model_columns(item: dict[str, Any]) -> dict[str, Any]:
    safetensors, gguf = item.get("safetensors"), _object(item.get("gguf"))
    config, info = item.get("config"), _object(item.get("transformersInfo"))
    architectures = _object(config).get("architectures")
    spaces = item.get("spaces")
    return {
        "parameters": _integer(_object(safetensors).get("total")),
        "safetensors": safetensors if isinstance(safetensors, dict) else None,
        "config": config if isinstance(config, dict) else None,
        "gguf_architecture": _string(gguf.get("architecture")),
        "gguf_context_length": _integer(gguf.get("context_length")),
        "gguf_parameters": _integer(gguf.get("total")),
        "gguf_file_size": _integer(gguf.get("totalFileSize")),
        "architecture": _string(architectures[0]) if isinstance(architectures, list) and architectures else None,
        "model_type": _string(_object(config).get("model_type")),
        "auto_model": _string(info.get("auto_model")),
        "processor": _string(info.get("processor")),
        "inference": _string(item.get("inference")),
        "spaces_using": len(spaces) if isinstance(spaces, list) else None,
    }


def _storage_columns(item: dict[str, Any]) -> dict[str, Any]:
    return {"used_storage": _integer(item.get("usedStorage"))}


_COLUMNS = {"models": _model_columns, "datasets": _storage_columns, "spaces": _storage_columns}


def group_columns(kind: str, item: dict[str, Any]) -> dict[str, Any]:
    """The typed columns of ``kind`` that the field groups' fields of ``item`` give (NULL: absent)."""
    return _COLUMNS[kind](item)


def providers(value: Any) -> list[tuple[str, str | None, str | None, str | None]]:
    """``inferenceProviderMapping`` in either of the Hub's shapes: an object keyed by provider, or a
    list of objects that carry ``provider``. Each provider once (the first mention)."""
    if isinstance(value, dict):
        entries = [(name, detail) for name, detail in value.items() if isinstance(detail, dict)]
    elif isinstance(value, list):
        entries = [(entry.get("provider"), entry) for entry in value if isinstance(entry, dict)]
    else:
        return []
    found: dict[str, tuple[str, str | None, str | None, str | None]] = {}
    for name, detail in entries:
        if isinstance(name, str) and name not in found:
            found[name] = (name, _string(detail.get("providerId")), _string(detail.get("task")),
                           _string(detail.get("status")))
    return list(found.values())


def evaluations(card: Any, results: Any) -> list[tuple[str, str | None, str | None, str | None, float | None]]:
    """Evaluation results: the card's ``model-index`` (task type, dataset type or name, metric type,
    value) and ``evalResults`` (entries bare or wrapped as ``{"filename", "data"}``)."""
    found: list[tuple[str, str | None, str | None, str | None, float | None]] = []
    index = _object(card).get("model-index")
    for model in index if isinstance(index, list) else ():
        for result in _object(model).get("results") or ():
            result = _object(result)
            task, dataset = _object(result.get("task")), _object(result.get("dataset"))
            for metric in result.get("metrics") or ():
                metric = _object(metric)
                found.append(("model-index", _string(task.get("type")),
                              _string(dataset.get("type")) or _string(dataset.get("name")),
                              _string(metric.get("type")), _number(metric.get("value"))))
    for entry in results if isinstance(results, list) else ():
        entry = _object(entry)
        entry = _object(entry.get("data")) if "data" in entry and "filename" in entry else entry
        dataset = _object(entry.get("dataset"))
        found.append(("evalResults", _string(dataset.get("task_id")) or _string(entry.get("task")),
                      _string(dataset.get("id")), _string(entry.get("metric")), _number(entry.get("value"))))
    return found


def item_facets(kind: str, item: dict[str, Any]) -> Facets:
    """The child rows of ``item``: its dtypes, providers, evaluations and file names."""
    siblings = item.get("siblings")
    files = None
    if isinstance(siblings, list):
        names = (_string(_object(sibling).get("rfilename")) for sibling in siblings)
        files = list(dict.fromkeys(name for name in names if name))
    if kind != "models":
        return Facets([], [], [], files) if files is not None else NO_FACETS
    dtypes = _object(_object(item.get("safetensors")).get("parameters"))
    return Facets([(dtype, count) for dtype, value in dtypes.items() if (count := _integer(value)) is not None],
                  providers(item.get("inferenceProviderMapping")),
                  evaluations(item.get("cardData"), item.get("evalResults")), files)
