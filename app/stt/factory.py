"""Create the configured speech-to-text engine (heavy imports happen here, lazily)."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings
from app.stt.base import SpeechToText


def create_stt(settings: Settings) -> SpeechToText:
    from app.models.speech import DEFAULT_STT, MULTILINGUAL_STT, resolve_stt_model
    from app.stt.whisper import WhisperSTT

    spec = settings.stt_model.strip()
    model_dir = resolve_stt_model(spec)
    # The named models' folders are called "model" and "whisper-base": show the names instead.
    named = spec in ("", DEFAULT_STT, MULTILINGUAL_STT)
    name = (spec or DEFAULT_STT) if named else Path(spec).name
    language = settings.stt_language.strip() or None
    return WhisperSTT(model_dir, threads=settings.llm_threads, language=language, name=name)
