"""Create the configured speech-to-text engine (heavy imports happen here, lazily)."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings
from app.stt.base import SpeechToText


def create_stt(settings: Settings) -> SpeechToText:
    from app.models.defaults import default_stt_model
    from app.stt.whisper import WhisperSTT

    model_dir = Path(settings.stt_model).expanduser() if settings.stt_model else default_stt_model()
    return WhisperSTT(model_dir, threads=settings.llm_threads)
