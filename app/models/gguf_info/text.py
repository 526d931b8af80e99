"""A `GgufInfo` as text: for `parley models info` and the model panel."""

from __future__ import annotations

from collections.abc import Iterator

from app.models.gguf_info.describe import GgufInfo


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
