"""What the Hub computes about a model beyond its files: ``config``, ``transformersInfo``,
evaluation results, inference providers, the spaces using it, its bases and its children.

Commit-bound fields (config, evaluation results) are drawn from ``(seed, row, revision)``.
Inference providers and ``inference`` are drawn from the row's serving revision, which
`Corpus.reprovide` moves without a commit, as the Hub's providers come and go. ``spaces`` and
``childrenModelCount`` are read from reverse indexes over the other repos' statements, built on
the first request that asks and again after the shared clock moves (any commit, add or rename).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from . import files, lineage

if TYPE_CHECKING:
    from .corpus import Corpus

SERVING = 7  # a Draws purpose beyond lineage's: the row's inference providers
EVALUATED = 8  # a Draws purpose: whether the card has a model-index

# The class prefix transformers gives each model_type.
CLASS_PREFIX = {
    "llama": "Llama", "mistral": "Mistral", "qwen2": "Qwen2", "bert": "Bert", "roberta": "Roberta", "t5": "T5",
    "gpt2": "GPT2", "phi3": "Phi3", "gemma2": "Gemma2", "gemma3": "Gemma3", "whisper": "Whisper", "vit": "ViT",
    "clip": "CLIP", "deberta-v2": "DebertaV2", "electra": "Electra", "bloom": "Bloom", "falcon": "Falcon",
    "opt": "OPT", "gpt_neox": "GPTNeoX", "distilbert": "DistilBert", "xlm-roberta": "XLMRoberta", "mt5": "MT5",
    "bart": "Bart", "wav2vec2": "Wav2Vec2", "resnet": "ResNet", "new": "New", "mixtral": "Mixtral",
}
# pipeline_tag -> (architecture suffix, auto class, processor)
HEADS = {
    "text-generation": ("ForCausalLM", "AutoModelForCausalLM", "AutoTokenizer"),
    "text-classification": ("ForSequenceClassification", "AutoModelForSequenceClassification", "AutoTokenizer"),
    "token-classification": ("ForTokenClassification", "AutoModelForTokenClassification", "AutoTokenizer"),
    "fill-mask": ("ForMaskedLM", "AutoModelForMaskedLM", "AutoTokenizer"),
    "question-answering": ("ForQuestionAnswering", "AutoModelForQuestionAnswering", "AutoTokenizer"),
    "feature-extraction": ("Model", "AutoModel", "AutoTokenizer"),
    "sentence-similarity": ("Model", "AutoModel", "AutoTokenizer"),
    "translation": ("ForConditionalGeneration", "AutoModelForSeq2SeqLM", "AutoTokenizer"),
    "summarization": ("ForConditionalGeneration", "AutoModelForSeq2SeqLM", "AutoTokenizer"),
    "automatic-speech-recognition": ("ForConditionalGeneration", "AutoModelForSpeechSeq2Seq", "AutoProcessor"),
    "image-classification": ("ForImageClassification", "AutoModelForImageClassification", "AutoImageProcessor"),
    "image-text-to-text": ("ForConditionalGeneration", "AutoModelForImageTextToText", "AutoProcessor"),
}
MASK_TOKENS = {"bert": "[MASK]", "distilbert": "[MASK]", "electra": "[MASK]", "deberta-v2": "[MASK]"}
WIDGETS = {
    "text-generation": [{"text": "My name is Julien and I like to"}],
    "fill-mask": [{"text": "Paris is the {mask} of France."}],
    "text-classification": [{"text": "I like you. I love you"}],
    "translation": [{"text": "My name is Wolfgang and I live in Berlin"}],
}
BENCHMARKS = (  # (dataset name, dataset id, task type, metric)
    ("MMLU", "cais/mmlu", "text-generation", "accuracy"), ("GSM8K", "openai/gsm8k", "text-generation", "accuracy"),
    ("HellaSwag", "Rowan/hellaswag", "text-generation", "acc_norm"),
    ("ARC Challenge", "allenai/ai2_arc", "text-generation", "acc_norm"),
    ("IMDB", "stanfordnlp/imdb", "text-classification", "f1"), ("SQuAD", "rajpurkar/squad", "question-answering",
                                                                   "exact_match"),
    ("Common Voice", "mozilla-foundation/common_voice_11_0", "automatic-speech-recognition", "wer"),
    ("GPQA", "Idavidrein/gpqa", "text-generation", "accuracy"),
)
PROVIDERS = ("together", "fal-ai", "replicate", "sambanova", "fireworks-ai", "hf-inference", "novita", "nebius",
             "cerebras", "groq", "hyperbolic", "nscale", "featherless-ai", "cohere")
SERVED_TASKS = {"text-generation": "conversational", "image-text-to-text": "conversational",
                "text-to-image": "text-to-image", "feature-extraction": "feature-extraction",
                "automatic-speech-recognition": "automatic-speech-recognition",
                "text-classification": "text-classification", "sentence-similarity": "sentence-similarity"}


def _transformers(c: Corpus, j: int) -> bool:
    return c.library_value(j) in ("transformers", "sentence-transformers")


def _head(c: Corpus, j: int) -> tuple[str, str, str]:
    return HEADS.get(c.category_value(j, committed=True) or "", HEADS["text-generation"])


def architecture(c: Corpus, j: int) -> str:
    """The model class its config names: the family's prefix and the task's head (``LlamaForCausalLM``)."""
    kind = files.model_type(c, j)
    return CLASS_PREFIX.get(kind, kind.title()) + _head(c, j)[0]


def config(c: Corpus, j: int) -> dict[str, Any] | None:
    """The parts of ``config.json`` the Hub serves, for transformers models."""
    if not _transformers(c, j):
        return None
    kind = files.model_type(c, j)
    found: dict[str, Any] = {"architectures": [architecture(c, j)], "model_type": kind}
    bos, eos = files.SPECIAL_TOKENS.get(kind, ("<s>", "</s>"))
    found["tokenizer_config"] = {"bos_token": bos, "eos_token": eos} if bos else {"eos_token": eos}
    if "4bit" in files.original_name(c, j).lower():
        found["quantization_config"] = {"load_in_4bit": True, "quant_method": "bitsandbytes"}
    return found


def transformers_info(c: Corpus, j: int) -> dict[str, Any] | None:
    """``{"auto_model", "pipeline_tag", "processor"}``, consistent with the config's architecture."""
    if not _transformers(c, j):
        return None
    _, auto_model, processor = _head(c, j)
    info = {"auto_model": auto_model, "processor": processor}
    if c.category_value(j):
        info["pipeline_tag"] = c.category_value(j)
    return info


def mask_token(c: Corpus, j: int) -> str | None:
    if c.category_value(j, committed=True) != "fill-mask":
        return None
    return MASK_TOKENS.get(files.model_type(c, j), "<mask>")


def widget_data(c: Corpus, j: int) -> list[dict[str, str]] | None:
    return WIDGETS.get(c.category_value(j, committed=True) or "")


# -- evaluation results ---------------------------------------------------------------------------


def has_model_index(c: Corpus, j: int) -> bool:
    """One card in eight states evaluation results."""
    return c.kind == "models" and c.has_card(j) and states_evaluations(c, j)


def states_evaluations(c: Corpus, j: int) -> bool:
    """Whether the card, if any, has a model-index: one draw, as every listed card asks it."""
    return c.draws(j, EVALUATED, c.rev[j]).random() < 0.125


def model_index(c: Corpus, j: int) -> list[dict[str, Any]] | None:
    """The card's ``model-index``: one entry naming the model, with one to four benchmark results."""
    if not has_model_index(c, j):
        return None
    draw = c.draws(j, EVALUATED, c.rev[j], 1)
    task = c.category_value(j, committed=True) or "text-generation"
    chosen = [b for b in BENCHMARKS if b[2] == task] or list(BENCHMARKS[:4])
    results = []
    for name, dataset, task_type, metric in chosen[draw.below(len(chosen)):]:
        value = round(5 + 35 * draw.random() if metric == "wer" else 20 + 72 * draw.random(), 2)
        results.append({"task": {"type": task_type}, "dataset": {"name": name, "type": dataset},
                        "metrics": [{"type": metric, "value": value}]})
    return [{"name": files.original_name(c, j), "results": results}]


def eval_results(c: Corpus, j: int) -> list[dict[str, Any]] | None:
    """``evalResults`` as huggingface_hub 2.4's ``parse_eval_result_entries`` reads it, derived from the
    model-index (the Hub's own source is ``.eval_results/*.yaml``): bare entries, or entries wrapped
    as ``{"filename", "data"}``; the first is wrapped on every third such repo."""
    index = model_index(c, j)
    if index is None:
        return None
    entries: list[dict[str, Any]] = []
    for result in index[0]["results"]:
        entry = {"dataset": {"id": result["dataset"]["type"], "task_id": "default"},
                 "value": result["metrics"][0]["value"]}
        if j % 3 == 0 and not entries:
            entries.append({"filename": f".eval_results/{result['dataset']['name'].lower()}.yaml", "data": entry})
        else:
            entries.append(entry)
    return entries


# -- inference providers (they move without a commit) -------------------------------------------------


def provider_mapping(c: Corpus, j: int) -> dict[str, Any] | list[dict[str, Any]] | None:
    """``inferenceProviderMapping`` in one of the Hub's two shapes: an object keyed by provider on
    even rows, a list of objects carrying ``provider`` on odd ones."""
    served = _served(c, j)
    if not served:
        return None
    if j % 2 == 0:
        return {provider: detail for provider, detail in served}
    return [{"provider": provider, **detail} for provider, detail in served]


def inference(c: Corpus, j: int) -> str | None:
    """``"warm"`` while some provider serves the model live, else absent."""
    return "warm" if any(detail["status"] == "live" for _, detail in _served(c, j)) else None


def _served(c: Corpus, j: int) -> list[tuple[str, dict[str, str]]]:
    task = SERVED_TASKS.get(c.category_value(j) or "")
    if c.kind != "models" or task is None:
        return []
    draw = c.draws(j, SERVING, c.serving[j])
    if draw.random() >= (0.6 if c.downloads[j] > 1_000 else 0.05):
        return []
    chosen = dict.fromkeys(draw.choice(PROVIDERS) for _ in range(1 + draw.below(4)))
    name = files.original_name(c, j)
    served = []
    for provider in chosen:
        status = "live" if draw.random() < 0.85 else draw.choice(("staging", "error"))
        provider_id = f"{provider}/{name.lower()}" if provider == "fal-ai" else f"{c.author(j) or 'hub'}/{name}"
        served.append((provider, {"status": status, "providerId": provider_id, "task": task}))
    return served


# -- reverse indexes: spaces using a model, models deriving from it ------------------------------------


def spaces_using(c: Corpus, j: int) -> list[str] | None:
    """The ids of the listed spaces whose item names this model among its ``models``."""
    spaces = c.peers.get("spaces")
    if c.kind != "models" or spaces is None:
        return []
    index = _cached(spaces, "spaces-using", lambda: _uses_index(spaces))
    return [spaces.ids[k] for k in index.get(j, ()) if spaces.listed(k)]


def children_count(c: Corpus, j: int) -> int:
    """How many listed models state this one as a base (by row: a rename does not orphan them)."""
    index = _cached(c, "children", lambda: _children_index(c))
    return sum(1 for child in index.get(j, ()) if c.listed(child))


def base_models(c: Corpus, j: int) -> dict[str, Any] | None:
    """The Hub's ``baseModels``, in the shape of recorded answers: the derivation of the first base
    the item states and the bases that are repos now, ``{"relation": "quantized", "models": [{"_id",
    "id"}, ...]}``. A base named by an old id is given under its current one (the Hub resolves the
    card's names to repos); a name no repo holds is left out, and with none left there is no field."""
    bases = c.statement(j).bases
    rows: dict[int, None] = {}
    for base in bases:
        k = c.find(base.name)
        k = c.renamed_from(base.name) if k is None else k
        if k is not None:
            rows[k] = None
    if not rows:
        return None
    return {"relation": bases[0].derivation, "models": [{"_id": c.hub_id(k), "id": c.ids[k]} for k in rows]}


def _cached(c: Corpus, name: str, build: Any) -> dict[int, list[int]]:
    """An index of ``c`` kept until its clock moves (every commit, addition or rename ticks it)."""
    key, index = c.derived.get(name, (None, None))
    if key != c.clock.ms or index is None:
        index = build()
        c.derived[name] = (c.clock.ms, index)
    return index


def _uses_index(spaces: Corpus) -> dict[int, list[int]]:
    index: dict[int, list[int]] = defaultdict(list)
    for k in range(len(spaces.ids)):
        for row in lineage.used_model_rows(spaces, k):
            index[row].append(k)
    return index


def _children_index(c: Corpus) -> dict[int, list[int]]:
    index: dict[int, list[int]] = defaultdict(list)
    for child in range(len(c.ids)):
        if not c.has_card(child):
            continue
        _, found = lineage.parents(c, child)
        for parent in (*found, *c.cycles.get(child, ())):
            if isinstance(parent, int) and parent != child:
                index[parent].append(child)
    return index
