"""Images attached to a turn: sent to a vision LLM as they are, or read for a text-only LLM.

A text-only model gets what the offline image reader (OCR plus size and colours) found, wrapped
as labelled, delimited, untrusted data (app.safety.untrusted): text in an image is never an
instruction. Instructions found in it are reported to the user, not obeyed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.pipeline.engines import Engines

READING_TEXT_ONLY = (
    "This model can't see images, so Parley read the text in the image and noted its size "
    "and colours (offline OCR). For real vision, choose a vision model (a GGUF with its "
    "mmproj file) in Settings."
)
# Room kept in the context for each image a vision model encodes (tokens; most use 64-1024).
IMAGE_TOKEN_BUDGET = 768


@dataclass
class UserMessage:
    history_text: str  # what the conversation history keeps as the user's words
    images: tuple[Any, ...] = ()  # PreparedImage objects to send to a vision model now
    notices: list[str] = field(default_factory=list)


def load_attachment(source: Path | bytes, name: str = "") -> Any:
    """Decode and check an image the user attached (raises ImageError with the reason).

    Kept at up to 2000 px, not the 1024 of a display copy, so the offline reader still reads
    small text in a full-screen screenshot; vision models resize to their own input anyway."""
    from app.vision.images import prepare_image
    from app.vision.ocr import OCR_MAX_SIDE

    return prepare_image(source, max_side=OCR_MAX_SIDE, name=name)


def vision_content(text: str, images: Sequence[Any]) -> list[dict[str, Any]]:
    """OpenAI-style content parts: the text, then each image as an in-memory data: URI."""
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": img.data_uri()}} for img in images]
    return parts


async def prepare_user_message(
    engines: Engines, text: str, images: Sequence[Any], explained: bool
) -> UserMessage:
    """Decide how the LLM gets this turn's images. `explained`: the text-only notice was
    already shown this session."""
    from app.safety.untrusted import defuse_tokens

    text = defuse_tokens(text)  # typed or pasted template tokens are words, not turns
    if not images:
        return UserMessage(text)

    def llm_sees() -> bool:  # runs on the LLM worker, after the model has loaded
        return bool(getattr(engines.llm, "supports_vision", False))

    if await engines.worker("llm").run(llm_sees):
        from app.safety.untrusted import neutralise

        # A file name is text from outside too: no template tokens from it reach the prompt.
        names = ", ".join(neutralise(img.name or "image") for img in images)
        return UserMessage(f"{text}\n[The user attached: {names}]", tuple(images))

    from app.safety.untrusted import (
        detect_instructions,
        image_block,
        instruction_notice,
        user_message,
    )

    def read_all() -> list[Any]:
        reader = engines.image_reader()
        return [reader.read(img) for img in images]

    readings = await engines.worker("vision").run(read_all)
    message = UserMessage(user_message(text, [image_block(r) for r in readings]))
    if not explained:
        message.notices.append(READING_TEXT_ONLY)
    for reading in readings:
        found = detect_instructions(reading.text)
        if found:
            message.notices.append(instruction_notice(found))
    return message
