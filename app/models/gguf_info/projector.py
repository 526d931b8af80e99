"""Vision projectors (mmproj files): telling one from a language model, its type, and the
embedding width it feeds the model (shared with app.llm.vision)."""

from __future__ import annotations

from app.models.gguf_info.header import GgufHeader


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
