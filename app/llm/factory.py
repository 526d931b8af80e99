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
    return LlamaChat(path, context_size=settings.llm_context, threads=settings.llm_threads)
