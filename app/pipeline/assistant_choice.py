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
        if Path(assistant.model).is_file():
            choice.llm = {"llm_model": assistant.model, "llm_mmproj": "", "llm_url": ""}
        else:
            choice.notices.append(
                f"{assistant.name}'s model {assistant.model} is missing, so your usual model "
                "answers. Edit the assistant to choose another."
            )
    return choice
