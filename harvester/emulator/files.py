"""A repo's files and what the Hub reads from its weights: ``siblings``, ``safetensors``, ``gguf``
and ``usedStorage``.

Everything here is drawn from ``(seed, kind, row, revision)`` (`Corpus.rng_for`), so it changes
with a commit and only then, and costs nothing until a request asks for it. The shapes follow
recorded Hub answers: a GGUF repo holds many quantization files and no safetensors; a
transformers repo holds one to hundreds of safetensors shards; listings name files only, and
``blobs=true`` on a repo's page adds sizes and LFS hashes consistent with those names.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
from typing import TYPE_CHECKING, Any

from . import vocab

if TYPE_CHECKING:
    from .corpus import Corpus

QUANTS = ("Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_0", "Q4_1", "Q4_K_S", "Q4_K_M", "Q5_0", "Q5_1", "Q5_K_S",
          "Q5_K_M", "Q6_K", "Q8_0", "F16", "BF16", "IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M",
          "IQ3_XXS", "IQ3_XS", "IQ3_M", "IQ4_XS", "IQ4_NL")
QUANT_BITS = {quant: bits for quant, bits in zip(QUANTS, (2.6, 3.4, 3.9, 4.3, 4.5, 5.0, 4.6, 4.8, 5.5, 6.0, 5.5, 5.7,
                                                         6.6, 8.5, 16, 16, 1.6, 1.8, 2.1, 2.3, 2.5, 2.7, 3.1, 3.3,
                                                         3.7, 4.3, 4.5), strict=True)}
SAFETENSORS_LIBRARIES = ("transformers", "diffusers", "sentence-transformers", "peft", "mlx")
# What a size word in a repo's name means, in parameters.
SIZE_WORDS = {"tiny": 15e6, "mini": 22e6, "small": 60e6, "base": 110e6, "large": 335e6, "xl": 1.5e9}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)([bm])(?![a-z])")
# (model_type, GGUF architecture) of each family in the names; the rest fall back to llama.
FAMILY_TYPES = {
    "llama": "llama", "llama-3.1": "llama", "mistral": "mistral", "qwen2.5": "qwen2", "bert": "bert",
    "roberta": "roberta", "t5": "t5", "gpt2": "gpt2", "phi-3": "phi3", "gemma-2": "gemma2", "whisper": "whisper",
    "vit": "vit", "clip": "clip", "deberta-v3": "deberta-v2", "electra": "electra", "bloom": "bloom",
    "falcon": "falcon", "opt": "opt", "pythia": "gpt_neox", "distilbert": "distilbert",
    "xlm-roberta": "xlm-roberta", "mt5": "mt5", "bart": "bart", "wav2vec2": "wav2vec2", "resnet": "resnet",
    "smollm2": "llama", "bge": "bert", "e5": "bert", "gte": "new", "mixtral": "mixtral",
    "deepseek-r1": "qwen2", "gemma-3": "gemma3",
}
_FAMILIES_LONGEST_FIRST = sorted(FAMILY_TYPES, key=len, reverse=True)


def original_name(c: Corpus, j: int) -> str:
    """The repo's name (after the author) when it was created: what its files and weights are named for."""
    return c.name_at(j, c.created[j]).rsplit("/", 1)[-1]


def model_type(c: Corpus, j: int) -> str:
    """The ``model_type`` its config states, read from the family in its first name (llama if none)."""
    name = original_name(c, j).lower()
    family = next((f for f in _FAMILIES_LONGEST_FIRST if name.startswith(f)), None)
    if family is None:
        return ("llama", "qwen2", "gemma3", "mistral", "phi3")[j % 5]
    return FAMILY_TYPES[family]


def is_gguf(c: Corpus, j: int) -> bool:
    """A GGUF repo: quantization files for llama.cpp, no safetensors."""
    if c.kind != "models":
        return False
    name = original_name(c, j).lower()
    return c.library_value(j) == "gguf" or "gguf" in name or "_q4_k_m" in name


def has_safetensors(c: Corpus, j: int) -> bool:
    return c.kind == "models" and not is_gguf(c, j) and c.library_value(j) in SAFETENSORS_LIBRARIES


def parameter_count(c: Corpus, j: int) -> int:
    """Parameters of the weights: the size in the name (``7B``, ``135M``, ``base``) give or take a few percent."""
    name = original_name(c, j).lower()
    found = _SIZE.search(name)
    if found:
        count = float(found.group(1)) * (1e9 if found.group(2) == "b" else 1e6)
    else:
        count = next((size for word, size in SIZE_WORDS.items() if word in name), 0.0)
    rng = c.rng_for(j, "params")
    if not count:
        count = rng.choice((22e6, 110e6, 335e6, 1.5e9, 7e9))
    return int(count * rng.uniform(0.97, 1.06)) // 64 * 64


def safetensors(c: Corpus, j: int) -> dict[str, Any] | None:
    """``{"parameters": {dtype: count}, "total": count}``; absent for repos without safetensors weights."""
    if not has_safetensors(c, j):
        return None
    total = parameter_count(c, j)
    rng = c.rng_for(j, "dtypes")
    roll = rng.random()
    name = original_name(c, j).lower()
    if any(word in name for word in ("awq", "gptq", "4bit")):
        packed = total // 8
        parameters = {"I32": packed, "F16": total - packed}
    elif roll < 0.55:
        parameters = {"BF16": total}
    elif roll < 0.7:
        parameters = {"F32": total}
    elif roll < 0.8:
        parameters = {"F16": total}
    else:
        small = max(1, int(total * rng.uniform(0.001, 0.2)))
        parameters = {"BF16": total - small, "F32": small}
    return {"parameters": parameters, "total": sum(parameters.values())}


def gguf(c: Corpus, j: int) -> dict[str, Any] | None:
    """What the Hub reads from a GGUF repo's files; any key may be missing, as on the Hub."""
    if not is_gguf(c, j):
        return None
    rng = c.rng_for(j, "gguf")
    info: dict[str, Any] = {"total": parameter_count(c, j)}
    if rng.random() < 0.1:
        return info  # the Hub could read no more than the count: {"total": 300} exists
    architecture = gguf_architecture(c, j)
    info["architecture"] = architecture
    info["context_length"] = rng.choice((2048, 4096, 8192, 32768, 32768, 131072))
    if rng.random() < 0.85:
        info["chat_template"] = chat_template(architecture, rng.random() < 0.5)
    bos, eos = SPECIAL_TOKENS.get(architecture, ("<s>", "</s>"))
    if bos:
        info["bos_token"] = bos
    info["eos_token"] = eos
    if rng.random() < 0.5:
        info["totalFileSize"] = sum(size for name, size in _sizes(c, j) if name.endswith(".gguf"))
    return info


def gguf_architecture(c: Corpus, j: int) -> str:
    """llama.cpp's name for the architecture (mistrals load as llama there)."""
    kind = model_type(c, j)
    return {"mistral": "llama", "mixtral": "llama", "gemma2": "gemma2", "new": "bert"}.get(kind, kind)


SPECIAL_TOKENS = {
    "llama": ("<|begin_of_text|>", "<|eot_id|>"), "qwen2": (None, "<|im_end|>"), "gemma2": ("<bos>", "<eos>"),
    "gemma3": ("<bos>", "<eos>"), "phi3": ("<s>", "<|endoftext|>"),
}
_TURNS = {
    "llama": ("<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n{{ message['content'] | trim }}"
              "<|eot_id|>", "<|start_header_id|>assistant<|end_header_id|>\n\n"),
    "gemma2": ("<start_of_turn>{{ 'model' if message['role'] == 'assistant' else message['role'] }}\n"
               "{{ message['content'] | trim }}<end_of_turn>\n", "<start_of_turn>model\n"),
}
_CHATML = ("<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n", "<|im_start|>assistant\n")
_TOOLS = """{%- if tools %}
    {{- '# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n' }}
    {{- 'You are provided with function signatures within <tools></tools> XML tags:\\n<tools>' }}
    {%- for tool in tools %}
        {{- '\\n' }}{{- tool | tojson }}
    {%- endfor %}
    {{- '\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within ' }}
    {{- '<tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": ' }}
    {{- '<args-json-object>}\\n</tool_call>' }}
{%- endif %}
"""
_SYSTEM = ("You are a helpful, respectful and honest assistant. Always answer as helpfully as possible, while "
           "being safe. Your answers should not include any harmful, unethical, racist, sexist, toxic, dangerous, "
           "or illegal content. Please ensure that your responses are socially unbiased and positive in nature. "
           "If a question does not make any sense, or is not factually coherent, explain why instead of answering "
           "something not correct. If you don't know the answer to a question, please don't share false "
           "information. ")


@functools.cache
def chat_template(architecture: str, with_tools: bool) -> str:
    """A Jinja chat template of a few KB, as GGUF files carry them (one per architecture and tool support)."""
    turn, prompt = _TURNS.get(architecture, _CHATML)
    parts = ["{{- bos_token }}\n{%- if messages[0]['role'] == 'system' %}\n",
             "    {%- set system_message = messages[0]['content'] | trim %}\n    {%- set messages = messages[1:] %}\n",
             "{%- else %}\n", f"    {{%- set system_message = \"{_SYSTEM * 3}\" %}}\n", "{%- endif %}\n"]
    if with_tools:
        parts.append(_TOOLS)
    parts += ["{%- for message in messages %}\n",
              "    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}\n",
              "        {{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}\n",
              "    {%- endif %}\n", turn, "\n{%- endfor %}\n",
              "{%- if add_generation_prompt %}", prompt, "{%- endif %}\n"]
    return "".join(parts)


MINIMAL = {"models": "config.json", "datasets": "dataset_info.json", "spaces": "requirements.txt"}


def siblings(c: Corpus, j: int) -> list[dict[str, str]]:
    """The file names, as listings give them."""
    return [{"rfilename": name} for name in file_names(c, j)]


def file_names(c: Corpus, j: int) -> list[str]:
    """The repo's files at its last commit, sorted; README.md exactly when it has a card."""
    rng = c.rng_for(j, "files")
    names = {".gitattributes"}
    if c.has_card(j):
        names.add("README.md")
    if c.kind == "models":
        names.update(_model_files(c, j, rng))
    elif c.kind == "datasets":
        names.update(_dataset_files(rng))
    else:
        names.update(rng.sample(vocab.SPACE_FILES[2:], rng.randint(1, len(vocab.SPACE_FILES) - 2)))
    if len(names) < 3:  # no repo on the Hub holds fewer than three files, .gitattributes included
        names.add(MINIMAL[c.kind])
    return sorted(names)


def _model_files(c: Corpus, j: int, rng: random.Random) -> list[str]:
    if is_gguf(c, j):
        return _gguf_files(original_name(c, j), rng)
    library = c.library_value(j)
    files = ["config.json"]
    if library == "peft":
        return ["adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "tokenizer_config.json"]
    if library == "diffusers":
        return ["model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json",
                "text_encoder/model.safetensors", "tokenizer/vocab.json", "tokenizer/merges.txt",
                "unet/config.json", "unet/diffusion_pytorch_model.safetensors", "vae/config.json",
                "vae/diffusion_pytorch_model.safetensors"]
    if has_safetensors(c, j):
        files += _shards("model", "safetensors", _shard_count(rng))
        files += ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"][: rng.randint(0, 3)]
        if c.category_value(j, committed=True) == "text-generation":
            files.append("generation_config.json")
    if library in ("transformers", "pytorch", None) and rng.random() < 0.3:
        files.append("pytorch_model.bin")
    if library == "onnx":
        files += ["model.onnx", "onnx/model_quantized.onnx"]
    elif library not in SAFETENSORS_LIBRARIES:
        files.append(rng.choice(("model.pt", "model.pkl", "pytorch_model.bin", "model.keras", "weights.h5")))
    if rng.random() < 0.03:  # training checkpoints pushed along: dozens to hundreds of files
        for step in range(1, rng.randint(5, 60) + 1):
            files += [f"checkpoint-{step * 500}/{name}" for name in
                      ("config.json", "model.safetensors", "optimizer.pt", "scheduler.pt", "trainer_state.json")]
    return files


def _shard_count(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.6:
        return 1
    if roll < 0.9:
        return rng.randint(2, 8)
    return rng.randint(9, 60) if roll < 0.99 else rng.randint(61, 300)


def _shards(stem: str, suffix: str, count: int) -> list[str]:
    if count == 1:
        return [f"{stem}.{suffix}"]
    return [f"{stem}-{i:05d}-of-{count:05d}.{suffix}" for i in range(1, count + 1)] + [f"{stem}.{suffix}.index.json"]


def _gguf_files(name: str, rng: random.Random) -> list[str]:
    """One file per quantization, big ones split into parts, sometimes one folder per quantization."""
    stem = re.sub(r"(?i)[-_](gguf|q4_k_m)$", "", name) or name
    quants = rng.sample(QUANTS, rng.randint(1, len(QUANTS)))
    parts = 1 if rng.random() < 0.85 else rng.randint(2, 15)
    folders = parts > 1 and rng.random() < 0.5
    files = []
    for quant in quants:
        for part in range(1, parts + 1):
            file = f"{stem}-{quant}.gguf" if parts == 1 else f"{stem}-{quant}-{part:05d}-of-{parts:05d}.gguf"
            files.append(f"{quant}/{file}" if folders else file)
    if rng.random() < 0.3:
        files.append("imatrix.dat")
    return files


def _dataset_files(rng: random.Random) -> list[str]:
    files = _split_files("train", rng.choice((1, 1, 1, 2, 4, 12, 40, 150, 400)))
    for split in ("test", "validation")[: rng.randint(0, 2)]:
        files += _split_files(split, 1)
    if rng.random() < 0.3:
        files.append("dataset_info.json")
    return files


def _split_files(split: str, count: int) -> list[str]:
    return [f"data/{split}-{i:05d}-of-{count:05d}.parquet" for i in range(count)]


def _sizes(c: Corpus, j: int) -> list[tuple[str, int]]:
    """Each file's size in bytes: weights sized by their parameters and quantization."""
    names = file_names(c, j)
    params = parameter_count(c, j) if c.kind == "models" else 0
    weights = [name for name in names if name.endswith((".safetensors", ".bin"))]
    sized = []
    for name in names:
        rng = c.rng_for(j, f"blob/{name}")
        if name.endswith(".gguf"):
            quant = next((q for q in sorted(QUANTS, key=len, reverse=True) if f"-{q}" in name), "Q4_K_M")
            parts = int(m.group(1)) if (m := re.search(r"-of-(\d+)\.gguf$", name)) else 1
            size = int(params * QUANT_BITS[quant] / 8 / parts)
        elif name in weights:
            size = int(params * 2 / len(weights) * rng.uniform(0.9, 1.1))
        elif name.endswith(vocab.LFS_SUFFIXES):
            size = rng.randrange(1_000_000, 2_000_000_000)
        elif name == "README.md":
            size = len((c.card_text(j) or "").encode())
        else:
            size = rng.randrange(50, 2_000_000)
        sized.append((name, max(size, 1)))
    return sized


def siblings_with_blobs(c: Corpus, j: int) -> list[dict[str, Any]]:
    """The file list with sizes, blob ids and LFS pointers, as ``?blobs=true`` returns it."""
    blobs = []
    for name, size in _sizes(c, j):
        rng = c.rng_for(j, f"blob/{name}")
        blob: dict[str, Any] = {"rfilename": name, "blobId": f"{rng.getrandbits(160):040x}", "size": size}
        if name == "README.md":
            blob["blobId"] = git_blob_id((c.card_text(j) or "").encode())
        if name.endswith(vocab.LFS_SUFFIXES):
            blob["lfs"] = {"sha256": f"{rng.getrandbits(256):064x}", "size": size, "pointerSize": 135}
        blobs.append(blob)
    return blobs


def git_blob_id(content: bytes) -> str:
    """Git's object id of a file: what the Hub sends as a small file's ETag and ``blobId``."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def used_storage(c: Corpus, j: int) -> int:
    """Bytes the repo takes on the Hub: its files now, plus what earlier commits left in LFS."""
    current = sum(size for _, size in _sizes(c, j))
    return current + int(current * c.rng_for(j, "storage").random() * min(c.rev[j], 3))
