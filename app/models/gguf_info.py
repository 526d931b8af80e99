"""What is in a GGUF file, read from its header alone (no weights loaded, no numpy).

- `read_gguf_header`: metadata, tensor shapes, types and offsets. `gguf.GGUFReader` parses
  every array item into its own numpy view, which takes seconds on a 150k-token vocabulary
  (5.4 s measured on the default 1.5B model); this reads the same header in about 30 ms,
  skipping big arrays.
- `describe_gguf`: a `GgufInfo` for people ("what is this file?"): architecture, name,
  parameter count (from the tensor shapes), quantisation, context length, embedding width,
  layers, chat template, and for a vision projector (mmproj) its type and the embedding width
  it feeds. `format_info` renders it as text for `parley models info` and the model panel.

Files that are not GGUF, or stop short (an interrupted download), raise ModelError with a
message naming the file.
"""

from __future__ import annotations

import math
import mmap
import struct
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.models.errors import ModelError
from app.safety.input_path import special_file

# GGUF value types (gguf.GGUFValueType); kept local so reading metadata needs no numpy import.
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q"}
_SCALAR.update({11: "<q", 12: "<d"})
_STRING, _ARRAY = 8, 9
_U64 = struct.Struct("<Q")

# ggml tensor types: name, elements per block, bytes per block (gguf.GGML_QUANT_SIZES, 0.19).
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 40),
    10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74), 18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50), 20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136), 24: ("I8", 1, 1), 25: ("I16", 1, 2),
    26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8), 29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2), 34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66), 39: ("MXFP4", 32, 17),
    40: ("NVFP4", 64, 36), 41: ("Q1_0", 128, 18),
}  # fmt: skip

# general.file_type (llama.cpp's llama_ftype): what the quantiser was asked for. Types 5 and 6
# (Q4_2, Q4_3) were removed from llama.cpp long ago.
FILE_TYPES: dict[int, str] = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 4: "Q4_1_SOME_F16", 7: "Q8_0", 8: "Q5_0",
    9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S",
    15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS",
    21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S",
    27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
    36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE", 39: "NVFP4", 40: "Q1_0",
}  # fmt: skip

_MAX_DIMS = 4  # GGML_MAX_DIMS
_MAX_KEY = 65536  # no real key is anywhere near this; garbage lengths are
_MAX_COUNT = 1 << 32  # more keys or tensors than this is a corrupt count, not a model


@dataclass(frozen=True)
class SkippedArray:
    """An array too long to keep (a vocabulary, merges): only its length is read."""

    length: int

    def __len__(self) -> int:
        return self.length


@dataclass(frozen=True)
class GgufHeader:
    path: Path
    kv: dict[str, Any]
    tensors: dict[str, tuple[int, ...]]  # name -> shape in ggml order (ne[0] first)
    tensor_types: dict[str, int] = field(default_factory=dict)  # name -> ggml type id
    tensor_offsets: dict[str, int] = field(default_factory=dict)  # from data_start
    version: int = 3
    data_start: int = 0  # where the tensor data begins (after alignment)
    file_size: int = 0

    @property
    def architecture(self) -> str:
        return str(self.kv.get("general.architecture", ""))

    @property
    def name(self) -> str:
        return str(self.kv.get("general.name", ""))

    def data_end(self) -> int | None:
        """Where the last tensor's data ends: the file's expected size (None if a tensor
        type is unknown to this table)."""
        end = self.data_start
        for name, shape in self.tensors.items():
            nbytes = tensor_bytes(self.tensor_types.get(name, -1), shape)
            if nbytes is None:
                return None
            end = max(end, self.data_start + self.tensor_offsets.get(name, 0) + nbytes)
        return end


def tensor_bytes(ggml_type: int, shape: tuple[int, ...]) -> int | None:
    known = GGML_TYPES.get(ggml_type)
    if known is None:
        return None
    _, block, size = known
    return math.prod(shape) // block * size


class _Cursor:
    def __init__(self, buf: mmap.mmap) -> None:
        self.buf = buf
        self.pos = 0

    def unpack(self, fmt: str) -> Any:
        value = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return value

    def count(self, item_size: int, what: str) -> int:
        """A length prefix, refused when that many items cannot fit in the rest of the file
        (garbage after a 'GGUF' magic would otherwise loop for minutes)."""
        n = self.unpack("<Q")
        if n * item_size > len(self.buf) - self.pos:
            raise ValueError(f"{what} count {n} runs past the end of the file")
        return n

    def string(self) -> str:
        n = self.count(1, "string length")
        s = bytes(self.buf[self.pos : self.pos + n]).decode("utf-8", errors="replace")
        self.pos += n
        return s

    def value(self, vtype: int, max_array: int) -> Any:
        if vtype in _SCALAR:
            return self.unpack(_SCALAR[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype != _ARRAY:
            raise ValueError(f"unknown GGUF value type {vtype}")
        item_type = self.unpack("<I")
        item_size = struct.calcsize(_SCALAR[item_type]) if item_type in _SCALAR else 8
        n = self.count(item_size, "array")
        if n > max_array:
            if item_type in _SCALAR:
                self.pos = self.pos + n * item_size
            elif item_type == _STRING:
                # The hot loop (a 150k-token vocabulary): locals, one precompiled Struct.
                buf, pos, end, length = self.buf, self.pos, len(self.buf), _U64.unpack_from
                for _ in range(n):
                    pos += 8 + length(buf, pos)[0]
                    if pos > end:
                        raise ValueError("a string runs past the end of the file")
                self.pos = pos
            else:
                for _ in range(n):
                    self.value(item_type, 0)
            return SkippedArray(n)
        return [self.value(item_type, max_array) for _ in range(n)]


def read_gguf_header(path: Path, max_array: int = 64) -> GgufHeader:
    """Metadata (arrays longer than `max_array` skipped) and tensor layout of a GGUF file."""
    path = Path(path)
    if path.is_dir():
        raise ModelError(f"{path} is a folder, not a GGUF model file.")
    special = special_file(path, "a GGUF model file")
    if special:
        raise ModelError(special)
    try:
        size = path.stat().st_size
        if size == 0:
            raise ModelError(f"{path} is empty (0 bytes): it is not a GGUF model file.")
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            if buf[:4] != b"GGUF":
                raise ModelError(f"{path} is not a GGUF file (it does not start with 'GGUF').")
            cur = _Cursor(buf)
            cur.pos = 4
            version = cur.unpack("<I")
            if version < 2:
                raise ModelError(f"{path} uses GGUF version {version}, which is too old.")
            n_tensors = cur.unpack("<Q")
            n_kv = cur.unpack("<Q")
            if n_tensors > _MAX_COUNT or n_kv > _MAX_COUNT:
                raise ValueError(f"implausible counts ({n_kv} keys, {n_tensors} tensors)")
            kv: dict[str, Any] = {}
            for _ in range(n_kv):
                key = cur.string()
                if len(key) > _MAX_KEY:
                    raise ValueError("a metadata key is implausibly long")
                kv[key] = cur.value(cur.unpack("<I"), max_array)
            shapes: dict[str, tuple[int, ...]] = {}
            types: dict[str, int] = {}
            offsets: dict[str, int] = {}
            for _ in range(n_tensors):
                name = cur.string()
                n_dims = cur.unpack("<I")
                if n_dims > _MAX_DIMS:
                    raise ValueError(f"tensor {name!r} has {n_dims} dimensions")
                shapes[name] = tuple(cur.unpack("<Q") for _ in range(n_dims))
                types[name] = cur.unpack("<I")
                offsets[name] = cur.unpack("<Q")
            alignment = kv.get("general.alignment", 32)
            if not isinstance(alignment, int) or alignment <= 0:
                alignment = 32
            data_start = -(-cur.pos // alignment) * alignment
    except ModelError:
        raise
    except (struct.error, ValueError, OverflowError, MemoryError, KeyError) as exc:
        raise ModelError(
            f"{path} is damaged: its GGUF header cannot be read ({exc}). Download it again."
        ) from exc
    except OSError as exc:
        raise ModelError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
    return GgufHeader(path, kv, shapes, types, offsets, version, data_start, size)


def check_complete(h: GgufHeader) -> None:
    """Raise ModelError when the file stops before the weights its header describes end, or
    describes none."""
    expected = h.data_end()
    if expected is not None and h.file_size < expected:
        raise ModelError(
            f"{h.path} is incomplete: it is {h.file_size:,} bytes but its header describes "
            f"{expected:,}. The download or copy stopped early; get the file again."
        )
    if not h.tensors:  # a header alone (a copy cut after it) is not "a model of 0 parameters"
        raise ModelError(
            f"{h.path} holds no model weights (its GGUF header lists none): it is damaged or "
            "was cut short. Download it again."
        )


def check_language_model(path: Path) -> None:
    """Raise ModelError naming what is wrong when the GGUF at `path` cannot be a language
    model: a damaged header, a file cut short, no weights at all, or an image projector.
    llama.cpp only says it failed to load; `parley models info` and this say why."""
    h = read_gguf_header(path)
    check_complete(h)
    if is_projector(h):
        raise ModelError(
            f"{Path(path).name} is an image projector (mmproj), not a language model. Give it "
            "as the projector (--mmproj) next to the language model it belongs to, and that "
            "model's main .gguf as the language model."
        )


# ---------------------------------------------------------------------------------------------
# Vision projectors (shared with app.llm.vision)


def is_projector(h: GgufHeader) -> bool:
    """An image/audio projector (mmproj) rather than a language model."""
    kind = str(h.kv.get("general.type", "")).lower()
    return (
        h.architecture == "clip"
        or kind in ("mmproj", "clip")
        or any(k.startswith("clip.") for k in h.kv)
    )


def projector_type(h: GgufHeader) -> str:
    for key in ("clip.vision.projector_type", "clip.projector_type"):
        value = h.kv.get(key)
        if isinstance(value, str) and value:
            return value
    if "clip.minicpmv_version" in h.kv:
        return "resampler"
    if h.kv.get("clip.has_llava_projector"):
        return "mlp"  # files from the legacy LLaVA converter carry only this flag
    return "unknown"


def projector_embd(h: GgufHeader, ptype: str) -> int | None:
    """The width of the embeddings the projector feeds the LLM, where the tensors make it
    certain (what `inspect_pair` relies on)."""
    if ptype in ("mlp", "qwen2vl_merger", "qwen2.5vl_merger"):
        w = h.tensors.get("mm.2.weight")  # llama.cpp: mm_2_w->ne[1]
        return w[1] if w and len(w) >= 2 else None
    return None


# ---------------------------------------------------------------------------------------------
# "What is this file?"


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


# ---------------------------------------------------------------------------------------------
# Text


def human_count(n: int) -> str:
    """1543714304 -> '1.54 B', 123456 -> '123 k'."""
    for limit, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= limit:
            value = n / limit
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return str(n)


def human_bytes(n: int) -> str:
    for limit, unit in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= limit:
            return f"{n / limit:.1f} {unit}"
    return f"{n} bytes"


def info_lines(info: GgufInfo) -> Iterator[tuple[str, str]]:
    """(label, value) rows for people; used by the CLI and the model panel."""
    yield "name", info.name
    yield "kind", info.kind
    yield "architecture", info.architecture or "unknown"
    # Counted from the tensors actually in the file, as llama.cpp counts them: a file that
    # stores an untied output matrix (Qwen2.5 1.5B: 1.78 B) counts more than the model card.
    label = f", labelled {info.size_label}" if info.size_label else ""
    yield "parameters", f"{human_count(info.parameters)} ({info.parameters:,}{label})"
    quant = info.quantization
    if info.quantization_source == "tensors":
        quant += " (most weights)"
    yield "quantisation", quant
    if info.is_projector:
        yield "projector type", info.projector_type or "unknown"
        if info.projector_embd:
            yield "feeds embeddings of", f"{info.projector_embd} (the LLM's embedding width)"
        if info.image_size:
            yield "image size", f"{info.image_size} px"
        encoders = [n for n, on in (("vision", info.has_vision_encoder),
                                    ("audio", info.has_audio_encoder)) if on]  # fmt: skip
        yield "encoders", ", ".join(encoders) or "none"
    else:
        if info.context_length:
            yield "context length", f"{info.context_length:,} tokens"
        yield "chat template", "yes" if info.has_chat_template else "no"
        if info.vocab_size:
            yield "vocabulary", f"{info.vocab_size:,} tokens"
    if info.embedding_length:
        yield "embedding size", str(info.embedding_length)
    if info.layers:
        yield "layers", str(info.layers)
    yield "file size", f"{human_bytes(info.file_size)} ({info.file_size:,} bytes)"
    yield "file", str(info.path)


def format_info(info: GgufInfo) -> str:
    rows = list(info_lines(info))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label + ':':<{width + 1}} {value}" for label, value in rows)
