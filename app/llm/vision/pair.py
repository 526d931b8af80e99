"""A language model and its image projector (mmproj): which chosen file is which, and whether
they belong together (it is a vision projector, it has a vision encoder, its output width is
the model's embedding width), with a message naming both files. llama.cpp's own check only
says "Failed to load mtmd context"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.models.errors import ModelError
from app.models.gguf_info import GgufHeader, read_gguf_header
from app.models.gguf_info import projector_embd as _projector_embd
from app.models.gguf_info import projector_type as _projector_type
from app.safety.input_path import special_file


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
