"""Create the configured LLM (heavy imports happen here, lazily)."""

from __future__ import annotations

import os
from pathlib import Path

from app.config import Settings
from app.llm.base import ChatModel
from app.models.assemble import Progress


def create_llm(settings: Settings, progress: Progress | None = None) -> ChatModel:
    if settings.llm_url.strip():
        return create_remote_llm(settings)
    from app.llm.llama import LlamaChat
    from app.models.defaults import default_llm

    path = Path(settings.llm_model).expanduser() if settings.llm_model else default_llm(progress)
    mmproj = Path(settings.llm_mmproj).expanduser() if settings.llm_mmproj else None
    return LlamaChat(
        path,
        context_size=settings.llm_context,
        threads=settings.llm_threads,
        mmproj=mmproj,
        # A file the user picked (a model, a projector) may crash llama.cpp outright: try it
        # in a child first (once per file: the probe remembers what passed). The default is
        # checked by its sha256.
        probe=bool(settings.llm_model) or mmproj is not None,
    )


def create_remote_llm(settings: Settings) -> ChatModel:
    """The model on the OpenAI-compatible server at llm_url. The API key: llm_api_key (from
    settings or --llm-key), else the PARLEY_LLM_API_KEY environment variable."""
    from app.llm.remote import RemoteChat, Timeouts

    chat = RemoteChat(
        settings.llm_url,
        model=settings.llm_remote_model,
        api_key=settings.llm_api_key or os.environ.get("PARLEY_LLM_API_KEY", ""),
        vision=settings.llm_remote_vision,
        context_size=settings.llm_remote_context,
        timeouts=Timeouts(reply=settings.llm_remote_deadline),
    )
    return chat
