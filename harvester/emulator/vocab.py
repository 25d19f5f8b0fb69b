"""Word lists the synthetic corpus draws from, per repo kind.

Weights are rough shapes of the real Hub (transformers dominates libraries, text-generation
dominates tasks, gradio dominates space SDKs), not measurements.
"""

from __future__ import annotations

from dataclasses import dataclass

AUTHOR_FIRST = [
    "alice", "bob", "chen", "dmitri", "elena", "farah", "giulia", "hiro", "ines", "jamal",
    "kenji", "lena", "mateo", "nadia", "olu", "priya", "quinn", "rafael", "sora", "tomas",
    "uma", "victor", "wei", "xavier", "yara", "zoe", "ahmed", "bjorn", "carmen", "deniz",
]
AUTHOR_ORG = [
    "ai", "labs", "research", "nlp", "ml", "vision", "speech", "group", "team", "hub",
    "collective", "institute", "university", "foundation", "studio", "models",
]
AUTHOR_STEM = [
    "acme", "open", "deep", "neural", "tensor", "quantum", "bright", "north", "river", "stone",
    "maple", "nova", "pixel", "cedar", "atlas", "zephyr", "orbit", "falcon", "lynx", "koi",
]
# Awkward but real-looking ids: non-ASCII, dots, underscores, long authors.
AWKWARD_AUTHORS = [
    "université-de-montréal", "Ünïcode_Lab", "日本語-nlp", "ÆØÅ.research",
    "a-very-long-organisation-name-for-tests-1",
    "the_quite_long_author_name_of_some_lab_xx",
]
AWKWARD_NAMES = [
    "modèle-français", "中文-bert.v2", "ñandú_7b", "emoji-🤗-model", "עברית-base", "x.y.z_1.0",
]

MODEL_FAMILIES = [
    "llama", "Llama-3.1", "mistral", "Qwen2.5", "bert", "roberta", "t5", "gpt2", "phi-3",
    "gemma-2", "whisper", "vit", "clip", "stable-diffusion", "deberta-v3", "electra", "bloom",
    "falcon", "opt", "pythia", "distilbert", "xlm-roberta", "mt5", "bart", "wav2vec2", "yolov8",
    "resnet", "sdxl", "FLUX.1", "SmolLM2", "bge", "e5", "gte", "mixtral", "DeepSeek-R1",
]
MODEL_SIZES = ["7B", "8B", "0.5B", "1.5B", "13B", "70B", "base", "large", "small", "tiny", "mini", "xl", "135M"]
MODEL_SUFFIXES = [
    "", "-Instruct", "-chat", "-GGUF", "-finetuned-squad", "-lora", "-v0.2", "_q4_k_m", "-AWQ",
    "-sft-dpo", "-merged", "-ft-ja", "-ko", "-4bit", "-uncased", "-en-de", "-ner", "-imdb",
]
DATASET_STEMS = [
    "squad", "openwebtext", "ultrachat", "wikipedia", "c4", "imdb", "common_voice", "mmlu",
    "gsm8k", "alpaca", "dolly", "oasst", "librispeech", "coco", "laion", "fineweb", "the-stack",
    "hh-rlhf", "sharegpt", "arxiv", "pubmed", "cnn_dailymail", "xnli", "glue", "tatoeba",
]
DATASET_SUFFIXES = [
    "", "_v2", "-10k", "_200k", "-ja", "-cleaned", "-dedup", "-sample", "-filtered", "_en",
    "-parquet", "-2024", "-instruct", "-mini", "-multilingual",
]
SPACE_STEMS = [
    "chatbot", "whisper-demo", "image-gen", "leaderboard", "tts", "object-detection", "translator",
    "rag-demo", "arena", "sketch-to-image", "voice-clone", "summarizer", "ocr", "music-gen",
]
SPACE_SUFFIXES = ["", "-demo", "-v2", "-gpu", "-lite", "-playground", "-app", "-test", "_zero"]
LEGACY_NAMES = [
    "gpt2", "bert-base-uncased", "distilbert-base-uncased", "roberta-base", "t5-small",
    "xlnet-base-cased", "albert-base-v2", "squad", "glue", "imdb", "wikitext", "c4",
]


@dataclass(frozen=True)
class Weighted:
    """A categorical distribution: values and their relative weights."""

    values: tuple[str | None, ...]
    weights: tuple[float, ...]


PIPELINE_TAGS = Weighted(
    (
        "text-generation", "text-classification", "token-classification", "fill-mask",
        "text-to-image", "automatic-speech-recognition", "image-classification",
        "feature-extraction", "sentence-similarity", "translation", "summarization",
        "question-answering", "text-to-speech", "object-detection", "reinforcement-learning",
        "image-text-to-text", None,
    ),
    (30, 12, 5, 5, 8, 4, 5, 4, 4, 3, 2, 3, 2, 2, 3, 3, 20),
)
LIBRARIES = Weighted(
    (
        "transformers", "diffusers", "sentence-transformers", "peft", "gguf", "timm",
        "stable-baselines3", "ml-agents", "keras", "pytorch", "mlx", "onnx", None,
    ),
    (45, 6, 5, 8, 6, 3, 3, 2, 2, 3, 2, 2, 13),
)
LICENSES = Weighted(
    ("apache-2.0", "mit", "other", "cc-by-4.0", "llama3.1", "openrail", "gpl-3.0", "cc-by-nc-4.0", None),
    (30, 20, 8, 6, 4, 4, 2, 4, 22),
)
DATASET_TASKS = Weighted(
    (
        "text-generation", "text-classification", "question-answering", "translation",
        "image-classification", "automatic-speech-recognition", "summarization", None,
    ),
    (25, 15, 10, 6, 8, 5, 4, 27),
)
SPACE_SDKS = Weighted(("gradio", "streamlit", "docker", "static"), (70, 14, 12, 4))
GATED = Weighted(("", "auto", "manual"), (92, 5, 3))  # "" renders as false

# Tags beyond library/task/license, held as a 64-bit mask per row.
MODEL_EXTRA_TAGS = (
    "safetensors", "pytorch", "tensorboard", "conversational", "autotrain_compatible",
    "endpoints_compatible", "text-generation-inference", "en", "fr", "de", "zh", "ja", "ko",
    "multilingual", "4-bit", "8-bit", "gptq", "awq", "lora", "merge", "trl", "sft", "dpo",
    "generated_from_trainer", "custom_code", "region:us", "region:eu", "arxiv:1706.03762",
    "arxiv:1810.04805", "base_model:finetune", "base_model:quantized", "mlx", "jax", "tf",
)
DATASET_EXTRA_TAGS = (
    "format:parquet", "format:json", "format:csv", "modality:text", "modality:image",
    "modality:audio", "library:datasets", "library:pandas", "library:polars", "language:en",
    "language:fr", "language:zh", "language:multilingual", "size_categories:n<1K",
    "size_categories:1K<n<10K", "size_categories:10K<n<100K", "size_categories:1M<n<10M",
    "synthetic", "croissant", "region:us", "arxiv:2306.01116",
)
SPACE_EXTRA_TAGS = ("region:us", "region:eu", "mcp-server", "docker", "zero-gpu", "leaderboard")
SPACE_HARDWARE = ("cpu-basic", "cpu-upgrade", "t4-small", "a10g-small", "zero-a10g")
MODEL_FILES = (
    "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
    "generation_config.json", "special_tokens_map.json", "pytorch_model.bin", "README.md",
    ".gitattributes", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
)
DATASET_FILES = (
    "README.md", ".gitattributes", "data/train-00000-of-00001.parquet", "data/test-00000-of-00001.parquet",
    "data/validation.jsonl", "dataset_info.json",
)
SPACE_FILES = ("README.md", ".gitattributes", "app.py", "requirements.txt", "Dockerfile", "assets/logo.png")
# Files stored in LFS on the Hub (big and binary): their siblings carry an ``lfs`` object.
LFS_SUFFIXES = (".safetensors", ".bin", ".parquet", ".png", ".gguf", ".onnx", ".pt", ".pkl", ".h5", ".keras", ".dat")
