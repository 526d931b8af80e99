"""Whether a GGUF file can be what it is given as: complete, with weights, and a language
model rather than an image projector."""

from __future__ import annotations

from pathlib import Path

from app.models.errors import ModelError
from app.models.gguf_info.header import GgufHeader, read_gguf_header
from app.models.gguf_info.projector import is_projector


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
