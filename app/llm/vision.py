"""Images for llama.cpp models: a vision model is a text GGUF plus an image projector (mmproj).

What lives here:

- `read_gguf_header` (from app.models.gguf_info): a GGUF's metadata and tensor shapes without
  touching the weights, in milliseconds where `gguf.GGUFReader` takes seconds.
- `inspect_pair`: checks that an mmproj and a language model belong together (it is a vision
  projector, it has a vision encoder, its output width is the model's embedding width), with a
  message naming both files. llama.cpp's own check only says "Failed to load mtmd context".
- `choose_handler` / `create_chat_handler`: which llama-cpp-python chat handler formats the
  prompt, chosen from the metadata (rules in `choose_handler`), wrapped so that images are only
  ever read from `data:` URIs and so that prompts are formatted sensibly.
- `init_handler` / `count_image_tokens`: load the projector now (so a bad file fails at load,
  with llama.cpp's reason) and count what an image costs in the prompt.

Loading an unknown projector can crash the process outright; `app.llm.probe` tries it in a
child process first.
"""

from __future__ import annotations

import base64
import binascii
import ctypes
import io
from collections import deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.models.errors import ModelError
from app.models.gguf_info import (  # noqa: F401 (GgufHeader, SkippedArray: re-exported)
    GgufHeader,
    SkippedArray,
    read_gguf_header,
)
from app.models.gguf_info import projector_embd as _projector_embd
from app.models.gguf_info import projector_type as _projector_type
from app.safety.input_path import special_file

# ---------------------------------------------------------------------------------------------
# Model + projector pair


@dataclass(frozen=True)
class VisionPair:
    """What the metadata of a model and its image projector say about them."""

    model: Path
    mmproj: Path
    model_arch: str
    model_name: str
    n_embd: int | None
    chat_template: str | None
    projector_type: str
    mmproj_name: str
    projector_embd: int | None
    image_tokens_estimate: int
    minicpmv_version: int | None = None
    names: str = field(default="", repr=False)  # lowercased names and file names, for matching


def _mm_dims(h: GgufHeader) -> set[int]:
    return {
        d
        for name, shape in h.tensors.items()
        if name.startswith(("mm.", "resampler.")) and len(shape) >= 1
        for d in shape
    }


def _image_tokens_estimate(h: GgufHeader, projector_type: str) -> int:
    size = h.kv.get("clip.vision.image_size")
    patch = h.kv.get("clip.vision.patch_size")
    if not isinstance(size, int) or not isinstance(patch, int) or patch <= 0:
        return 576  # LLaVA-1.5's count; a guess for unknown layouts
    merge = h.kv.get("clip.vision.spatial_merge_size") or h.kv.get(
        "clip.vision.projector.scale_factor"
    )
    if projector_type == "gemma3":
        merge = 4  # 4x4 average pooling: 256 tokens per image
    elif projector_type.startswith("qwen") and not merge:
        merge = 2
    merge = merge if isinstance(merge, int) and merge > 0 else 1
    return max(1, (size // patch) ** 2 // (merge * merge))


def inspect_pair(model: Path, mmproj: Path) -> VisionPair:
    """Read both headers and refuse a projector that cannot work with this model."""
    special = special_file(mmproj, "an image projector (.gguf) file")
    if special:
        raise ModelError(special)
    if mmproj.is_dir() or not mmproj.is_file():
        raise ModelError(
            f"The image projector file {mmproj} does not exist. Choose the mmproj .gguf file "
            f"published with {model.name}, or leave the setting empty to use the model "
            "without images."
        )
    mh = read_gguf_header(model)
    ph = read_gguf_header(mmproj)
    if mh.architecture == "clip":
        raise ModelError(
            f"{model.name} is an image projector (mmproj), not a language model. Choose it as "
            "the vision projector and choose the model's main .gguf as the language model."
        )
    if ph.architecture != "clip":
        raise ModelError(
            f"{mmproj.name} is not an image projector (mmproj) file: it is a "
            f"'{ph.architecture or 'unknown'}' model. Choose the mmproj .gguf file published "
            f"with {model.name}."
        )
    if not ph.kv.get("clip.has_vision_encoder", False):
        raise ModelError(
            f"{mmproj.name} has no vision encoder (it may be an audio-only projector), so "
            f"{model.name} cannot see images with it. Choose the vision mmproj file published "
            "with this model."
        )
    arch = mh.architecture
    n_embd = mh.kv.get(f"{arch}.embedding_length")
    n_embd = n_embd if isinstance(n_embd, int) else None
    ptype = _projector_type(ph)
    p_embd = _projector_embd(ph, ptype)
    if n_embd is not None:
        mismatch = p_embd is not None and p_embd != n_embd
        # Projectors whose output tensor we do not know: at least one projector tensor must
        # have the model's width somewhere, or the pair cannot fit.
        unknown = p_embd is None and _mm_dims(ph) and n_embd not in _mm_dims(ph)
        if mismatch or unknown:
            makes = f"makes {p_embd}-wide ones" if p_embd else f"has no {n_embd}-wide tensor"
            raise ModelError(
                f"The image projector {mmproj.name} does not belong to the language model "
                f"{model.name}: the model's embeddings are {n_embd} wide but the projector "
                f"{makes}. Choose the mmproj file published with {model.name}."
            )
    template = mh.kv.get("tokenizer.chat_template")
    minicpmv = ph.kv.get("clip.minicpmv_version")
    names = " ".join([mh.name, ph.name, model.name, mmproj.name]).lower()
    return VisionPair(
        model=model,
        mmproj=mmproj,
        model_arch=arch,
        model_name=mh.name,
        n_embd=n_embd,
        chat_template=template if isinstance(template, str) and template else None,
        projector_type=ptype,
        mmproj_name=ph.name,
        projector_embd=p_embd,
        image_tokens_estimate=_image_tokens_estimate(ph, ptype),
        minicpmv_version=minicpmv if isinstance(minicpmv, int) else None,
        names=names,
    )


def pair_files(paths: Sequence[Path], current_model: Path | None) -> tuple[Path, Path | None]:
    """Which of the chosen (or dropped) .gguf files is the language model and which its image
    projector: (model, mmproj or None). A projector on its own pairs with `current_model`, the
    loaded one. Header reads only, so it is quick; ModelError says what is wrong: a file that is
    not GGUF or is incomplete, two models, two projectors, or a pair that does not fit."""
    from app.models.gguf_info import describe_gguf

    if not paths:
        raise ModelError("No model file was chosen.")
    models: list[Path] = []
    projectors: list[Path] = []
    for path in paths:
        (projectors if describe_gguf(path).is_projector else models).append(Path(path))
    if len(models) > 1:
        raise ModelError(
            f"{models[0].name} and {models[1].name} are both language models. Load one at a "
            "time (with at most one image projector)."
        )
    if len(projectors) > 1:
        raise ModelError(
            f"{projectors[0].name} and {projectors[1].name} are both image projectors. A "
            "language model takes one."
        )
    mmproj = projectors[0] if projectors else None
    model = models[0] if models else current_model
    if model is None:
        raise ModelError(
            f"{projectors[0].name} is an image projector (mmproj), and no local language model "
            "is loaded to pair it with. Load the model it belongs to together with it."
        )
    if mmproj is not None:
        inspect_pair(model, mmproj)
    return model, mmproj


# ---------------------------------------------------------------------------------------------
# Choosing the chat handler


@dataclass(frozen=True)
class HandlerChoice:
    name: str  # a class in llama_cpp.llama_chat_format
    reason: str


GENERIC = "MTMDChatHandler"
LLAVA15 = "Llava15ChatHandler"
_LLAVA_PROJECTORS = {"mlp", "mlp_norm", "ldp", "ldpv2"}


def available_handlers() -> set[str]:
    import llama_cpp.llama_chat_format as fmt

    return {n for n in dir(fmt) if n.endswith("ChatHandler") and isinstance(getattr(fmt, n), type)}


def choose_handler(pair: VisionPair, available: Collection[str]) -> HandlerChoice:
    """The chat handler for this pair; the first matching rule wins.

    Model-specific handlers where the installed llama-cpp-python has them (their prompt
    format is the one the model was trained with); otherwise the generic MTMD handler, which
    renders the chat template stored in the model. A model without a template falls back to
    the LLaVA-1.5 format.
    """
    ptype, arch, names = pair.projector_type, pair.model_arch, pair.names

    def pick(name: str, reason: str) -> HandlerChoice | None:
        return HandlerChoice(name, reason) if name in available else None

    rules: list[tuple[bool, str, str]] = [
        (
            ptype in ("qwen2vl_merger", "qwen2.5vl_merger") or arch in ("qwen2vl", "qwen25vl"),
            "Qwen25VLChatHandler",
            f"Qwen2/2.5-VL projector ({ptype})",
        ),
        (
            ptype in ("gemma3", "gemma3nv", "gemma4v") or arch.startswith(("gemma3", "gemma4")),
            "Gemma3ChatHandler" if "Gemma3ChatHandler" in available else "Gemma4ChatHandler",
            f"Gemma 3/4 vision ({ptype}, {arch})",
        ),
        ("moondream" in names, "MoondreamChatHandler", "moondream model"),
        ("nanollava" in names, "NanoLlavaChatHandler", "nanoLLaVA model"),
        (
            "llama-3-vision-alpha" in names or "llama3-vision-alpha" in names,
            "Llama3VisionAlphaChatHandler",
            "llama-3-vision-alpha model",
        ),
        ("obsidian" in names, "ObsidianChatHandler", "Obsidian model"),
        (
            ptype == "resampler" and (pair.minicpmv_version == 3 or "minicpm-v-2_6" in names),
            "MiniCPMv26ChatHandler",
            "MiniCPM-V 2.6 resampler",
        ),
        (ptype == "idefics3", GENERIC, "SmolVLM/Idefics3: the model's own template"),
    ]
    for matches, name, reason in rules:
        if matches and (choice := pick(name, reason)):
            return choice
    if pair.chat_template is None:
        # LLaVA-1.5 GGUFs carry no template; its USER:/ASSISTANT: format is also the most
        # neutral guess for any other model without one.
        why = "LLaVA projector" if ptype in _LLAVA_PROJECTORS else f"{ptype} projector"
        return HandlerChoice(LLAVA15, f"{why}, no chat template in the model: LLaVA-1.5 format")
    # A template stored in the model is the format it was fine-tuned with, LLaVA or not.
    return HandlerChoice(GENERIC, f"{ptype} projector: the model's own chat template")


# ---------------------------------------------------------------------------------------------
# Images: data: URIs only

_STB_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"BM", b"GIF8")  # formats llama.cpp decodes itself


def decode_image_url(url: str) -> bytes:
    """The image bytes of a `data:image/...;base64,` URI, as PNG or JPEG/BMP/GIF.

    Anything else (file://, http(s)://, a bare path) raises ValueError: llama-cpp-python would
    fetch it with urllib, and the assistant must never read or fetch what a prompt points at.
    """
    if not isinstance(url, str) or not url.startswith("data:"):
        shown = url[:60] if isinstance(url, str) else type(url).__name__
        raise ValueError(f"Only data: image URIs are accepted, not {shown!r}")
    header, sep, payload = url.partition(",")
    if not sep or ";base64" not in header:
        raise ValueError("An image data: URI must be base64-encoded (data:image/png;base64,...)")
    try:
        data = base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"The image data: URI is not valid base64: {exc}") from exc
    if not data:
        raise ValueError("The image data: URI is empty")
    if data.startswith(_STB_MAGIC):
        return data
    # WebP, TIFF, ...: re-encode as PNG, which llama.cpp's image loader reads.
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as img:
            out = io.BytesIO()
            img.convert("RGB").save(out, format="PNG")
            return out.getvalue()
    except Exception as exc:  # Pillow raises many types for undecodable input
        raise ValueError(f"The attached file is not an image Parley can read: {exc}") from exc


def image_urls(content: object) -> list[str]:
    """The image URLs in one message's content (a string has none)."""
    urls: list[str] = []
    if isinstance(content, list):
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "image_url":
                ref = part.get("image_url")
                urls.append(ref.get("url", "") if isinstance(ref, Mapping) else str(ref))
    return urls


def text_of(content: object) -> str:
    """The text of one message's content, parts joined by newlines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, Mapping) and p.get("type") == "text"
        )
    return ""


def flatten_content(content: object, marker: str) -> object:
    """Content parts -> one string: a `marker` per image, then the text.

    Most stored chat templates concatenate `message.content` as a string; given a list they
    fail or print its repr, so the parts become one string, as llama-server does. Images go
    first whatever the part order: VLMs are trained with the image before the question (and the
    LLaVA-style handlers put it there too). mtmd wraps each marker in the model's own image
    begin/end tokens.
    """
    if not isinstance(content, list):
        return content
    images = [marker for _ in image_urls(content)]
    return "\n".join([*images, text_of(content)])


# ---------------------------------------------------------------------------------------------
# Handler wrappers

SHORT_SYSTEM = "You are a helpful assistant."

# LLaVA-1.5's own conversation format ("SYS USER: <image>\nQ ASSISTANT: A</s>USER: ..."). The stock
# Llava15ChatHandler template writes "USER:" twice for a string message and loses its newlines
# to trim_blocks; this one writes separators as expressions so they survive.
LLAVA15_FORMAT = (
    "{% for message in messages %}"
    "{% if message.role == 'system' %}"
    "{{ message.content + ' ' }}"
    "{% elif message.role == 'user' %}"
    "{{ 'USER: ' }}"
    "{% if message.content is string %}"
    "{{ message.content }}"
    "{% else %}"
    "{% for part in message.content %}"
    "{% if part.type == 'image_url' %}"
    "{{ part.image_url.url if part.image_url is mapping else part.image_url }}{{ '\\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% for part in message.content %}"
    "{% if part.type == 'text' %}{{ part.text }}{% endif %}"
    "{% endfor %}"
    "{% endif %}"
    "{{ ' ' }}"
    "{% elif message.role == 'assistant' and message.content %}"
    "{{ 'ASSISTANT: ' + message.content }}"
    "{{ eos_token.decode('utf-8', 'ignore') if eos_token is not string else eos_token }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)


class _SafeImages:
    """Images come from data: URIs only; never from a file or the network."""

    def load_image(self, image_url: str) -> bytes:
        return decode_image_url(image_url)


class _FlattenedContent:
    """For handlers that render the model's stored template (MTMDChatHandler and kin)."""

    def _get_template_messages(self, messages: Sequence[Any], media_marker: str) -> list[Any]:
        return [
            {**dict(m), "content": flatten_content(m.get("content"), media_marker)}
            for m in messages
        ]


def handler_class(name: str) -> type:
    """llama-cpp-python's handler class `name`, wrapped by Parley's safety and format fixes."""
    import llama_cpp.llama_chat_format as fmt

    base = getattr(fmt, name, None)
    if not isinstance(base, type):
        raise ModelError(f"This llama-cpp-python has no chat handler named {name}.")
    attrs: dict[str, Any] = {}
    mixins: tuple[type, ...] = (_SafeImages,)
    if issubclass(base, fmt.MTMDChatHandler):
        mixins += (_FlattenedContent,)
    elif issubclass(base, fmt.Llava15ChatHandler):
        # The stock default system message is a paragraph; ours is a line. A handler whose
        # format has no system message (None) keeps None.
        if base.DEFAULT_SYSTEM_MESSAGE is not None:
            attrs["DEFAULT_SYSTEM_MESSAGE"] = SHORT_SYSTEM
        if base is fmt.Llava15ChatHandler:
            attrs["CHAT_FORMAT"] = LLAVA15_FORMAT
    return type(f"Parley{name}", (*mixins, base), attrs)


def create_chat_handler(pair: VisionPair, name: str | None = None, verbose: bool = False) -> Any:
    """The wrapped handler for this pair: `name` if given, else `choose_handler`'s pick."""
    name = name or choose_handler(pair, available_handlers()).name
    return handler_class(name)(clip_model_path=str(pair.mmproj), verbose=verbose)


def is_template_handler(handler: object) -> bool:
    """True for handlers that render the model's own chat template (MTMD-based)."""
    import llama_cpp.llama_chat_format as fmt

    return isinstance(handler, fmt.MTMDChatHandler)


# ---------------------------------------------------------------------------------------------
# Loading the projector, with llama.cpp's reason when it fails

_mtmd_errors: deque[str] = deque(maxlen=20)
_log_callback: Any = None  # kept referenced: C holds a pointer to it


def _install_mtmd_log() -> None:
    """Route mtmd/clip logs through Python to keep their error lines.

    With verbose=False llama-cpp-python sends them to /dev/null, so ValueError("Failed to load
    mtmd context") is all one learns. Lines are still printed when llama-cpp-python's logger
    would print them.
    """
    global _log_callback
    if _log_callback is not None:
        return
    import logging
    import sys

    import llama_cpp
    import llama_cpp.mtmd_cpp as mtmd

    py_logger = logging.getLogger("llama-cpp-python")
    last_level = [0]

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
        # ggml levels: 1 debug, 2 info, 3 warn, 4 error, 5 continues the previous line
        level = last_level[0] if level == 5 else level
        last_level[0] = level
        message = text.decode("utf-8", errors="replace")
        if level >= 4 and message.strip():
            _mtmd_errors.append(message.strip())
        if py_logger.level <= logging.DEBUG or level >= 4 and py_logger.level <= logging.ERROR:
            print(message, end="", file=sys.stderr, flush=True)

    _log_callback = callback
    mtmd.mtmd_helper_log_set(callback, ctypes.c_void_p(0))


def _reason(lines: Sequence[str]) -> str:
    text = " ".join(lines)
    for prefix in ("mtmd_init_from_file: error: ", "clip_init: ", "error: "):
        text = text.replace(prefix, "")
    return " ".join(text.split())


def init_handler(handler: Any, llm: Any, pair: VisionPair) -> None:
    """Load the projector now (llama-cpp-python would on the first image), or raise ModelError."""
    _install_mtmd_log()
    _mtmd_errors.clear()
    try:
        handler._init_mtmd_context(llm)
    except ValueError as exc:
        reason = _reason(list(_mtmd_errors)) or str(exc)
        raise ModelError(
            f"llama.cpp could not load the image projector {pair.mmproj.name} for "
            f"{pair.model.name}: {reason}. Choose the mmproj file published with this model, "
            "or download it again."
        ) from exc


def count_image_tokens(handler: Any, image: bytes) -> int:
    """Prompt tokens this image takes with this projector (llama.cpp's own count).

    mtmd_tokenize only preprocesses (resizes) the image; nothing is encoded.
    """
    mtmd = handler._mtmd_cpp
    bitmap = handler._create_bitmap_from_bytes(image)
    chunks = mtmd.mtmd_input_chunks_init()
    try:
        text = mtmd.mtmd_input_text()
        marker = mtmd.mtmd_default_marker()
        text.text = marker
        text.text_len = len(marker)
        text.add_special = False
        text.parse_special = True
        bitmaps = (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap)
        if mtmd.mtmd_tokenize(handler.mtmd_ctx, chunks, ctypes.byref(text), bitmaps, 1) != 0:
            raise ValueError("llama.cpp could not read the image")
        return int(mtmd.mtmd_helper_get_n_tokens(chunks))
    finally:
        mtmd.mtmd_input_chunks_free(chunks)
        mtmd.mtmd_bitmap_free(bitmap)
