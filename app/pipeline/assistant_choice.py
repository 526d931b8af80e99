"""What choosing an assistant changes: its instructions always; its own voice and model when
they are there, and otherwise the user's, with a notice saying so."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.storage.assistants import Assistant


@dataclass
class EngineChoice:
    tts: dict[str, Any] = field(default_factory=dict)  # settings for the TTS engine
    llm: dict[str, Any] = field(default_factory=dict)  # settings for the LLM engine
    notices: list[str] = field(default_factory=list)


def engine_choice(assistant: Assistant) -> EngineChoice:
    choice = EngineChoice()
    if assistant.voice:
        if Path(assistant.voice).is_file():
            choice.tts = {"tts_voice": assistant.voice}
        else:
            choice.notices.append(
                f"{assistant.name}'s voice {assistant.voice} is missing, so your usual voice "
                "answers. Edit the assistant to choose another."
            )
    if assistant.model:
        problem = _model_problem(Path(assistant.model))
        if problem is None:
            choice.llm = {"llm_model": assistant.model, "llm_mmproj": "", "llm_url": ""}
        else:
            # The whole question had failed on "fake.jpg is not a GGUF model file", not
            # saying whose model it was or how to change it.
            choice.notices.append(
                f"{assistant.name}'s model {assistant.model} {problem}, so your usual model "
                "answers. Edit the assistant to choose another."
            )
    return choice


def _model_problem(path: Path) -> str | None:
    """Why `path` can't be the assistant's model, or None (a GGUF file starts "GGUF")."""
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except FileNotFoundError:
        return "is missing"
    except OSError:
        return "can't be read"
    return None if magic == b"GGUF" else "is not a GGUF model file"
