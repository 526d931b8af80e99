"""`describe_gguf`: "what is this file?" for people, from its header alone."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.models.gguf_info.checks import check_complete
from app.models.gguf_info.ggml_types import FILE_TYPES, GGML_TYPES
from app.models.gguf_info.header import SkippedArray, read_gguf_header
from app.models.gguf_info.projector import is_projector, projector_embd, projector_type


@dataclass(frozen=True)
class GgufInfo:
    path: Path
    file_size: int
    gguf_version: int
    architecture: str
    name: str
    kind: str  # "language model" | "vision projector" | "projector"
    parameters: int
    quantization: str  # Q4_K_M, F16, ...
    quantization_source: str  # "file type" (general.file_type) or "tensors" (dominant type)
    tensor_types: dict[str, int]  # ggml type -> parameters stored in it
    tensor_count: int
    context_length: int | None
    embedding_length: int | None
    layers: int | None
    head_count: int | None
    vocab_size: int | None
    has_chat_template: bool
    is_projector: bool
    projector_type: str | None = None
    projector_embd: int | None = None  # the LLM embedding width the projector feeds
    has_vision_encoder: bool | None = None
    has_audio_encoder: bool | None = None
    image_size: int | None = None
    size_label: str = ""

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _first_int(kv: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = _int(kv.get(key))
        if value is not None:
            return value
    return None


def _dominant(types: dict[str, int]) -> str:
    return max(types.items(), key=lambda item: item[1])[0] if types else "unknown"


def describe_gguf(path: Path) -> GgufInfo:
    """Read a GGUF header and say what the file is. Never loads the weights."""
    path = Path(path)
    h = read_gguf_header(path)
    check_complete(h)
    kv, arch = h.kv, h.architecture
    by_type: dict[str, int] = {}
    weights: dict[str, int] = {}  # 2-D+ tensors only: the norms and biases stay F32 anyway
    total = 0
    for tname, shape in h.tensors.items():
        n = math.prod(shape) if shape else 1
        total += n
        type_id = h.tensor_types.get(tname, -1)
        type_name = GGML_TYPES[type_id][0] if type_id in GGML_TYPES else f"type {type_id}"
        by_type[type_name] = by_type.get(type_name, 0) + n
        if len(shape) >= 2:
            weights[type_name] = weights.get(type_name, 0) + n
    ftype = _int(kv.get("general.file_type"))
    if ftype is not None and ftype in FILE_TYPES:
        quant, source = FILE_TYPES[ftype], "file type"
    else:
        quant, source = _dominant(weights or by_type), "tensors"
    projector = is_projector(h)
    template = kv.get("tokenizer.chat_template")
    has_template = (isinstance(template, str) and bool(template.strip())) or any(
        k.startswith("tokenizer.chat_template.") for k in kv
    )
    tokens = kv.get("tokenizer.ggml.tokens")
    vocab = len(tokens) if isinstance(tokens, (list, SkippedArray)) else None
    info: dict[str, Any] = {}
    if projector:
        ptype = projector_type(h)
        vision = bool(kv.get("clip.has_vision_encoder", False))
        audio = bool(kv.get("clip.has_audio_encoder", False))
        info = {
            "kind": "vision projector" if vision else "projector",
            "projector_type": ptype,
            # The tensors are certain where we know the layout; converters also write the LLM
            # width as clip.vision.projection_dim.
            "projector_embd": projector_embd(h, ptype)
            or _first_int(kv, "clip.vision.projection_dim"),
            "has_vision_encoder": vision,
            "has_audio_encoder": audio,
            "image_size": _first_int(kv, "clip.vision.image_size"),
            "embedding_length": _first_int(
                kv, "clip.vision.embedding_length", "clip.audio.embedding_length"
            ),
            "layers": _first_int(kv, "clip.vision.block_count", "clip.audio.block_count"),
            "head_count": _first_int(kv, "clip.vision.attention.head_count"),
            "context_length": None,
        }
    else:
        info = {
            "kind": "language model",
            "embedding_length": _first_int(kv, f"{arch}.embedding_length"),
            "layers": _first_int(kv, f"{arch}.block_count"),
            "head_count": _first_int(kv, f"{arch}.attention.head_count"),
            "context_length": _first_int(kv, f"{arch}.context_length"),
        }
    return GgufInfo(
        path=path,
        file_size=h.file_size,
        gguf_version=h.version,
        architecture=arch,
        name=h.name or path.stem,
        parameters=total,
        quantization=quant,
        quantization_source=source,
        tensor_types=dict(sorted(by_type.items(), key=lambda item: -item[1])),
        tensor_count=len(h.tensors),
        vocab_size=vocab,
        has_chat_template=has_template,
        is_projector=projector,
        size_label=str(kv.get("general.size_label", "")),
        **info,
    )
