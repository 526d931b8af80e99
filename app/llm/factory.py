"""Create the configured LLM (heavy imports happen here, lazily)."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings
from app.llm.base import ChatModel
from app.models.assemble import Progress


def create_llm(settings: Settings, progress: Progress | None = None) -> ChatModel:
    from app.llm.llama import LlamaChat
    from app.models.defaults import default_llm

    path = Path(settings.llm_model).expanduser() if settings.llm_model else default_llm(progress)
    mmproj = Path(settings.llm_mmproj).expanduser() if settings.llm_mmproj else None
    return LlamaChat(
        path,
        context_size=settings.llm_context,
        threads=settings.llm_threads,
        mmproj=mmproj,
        # A projector the user picked may crash llama.cpp outright: try it in a child first.
        probe=mmproj is not None,
    )
