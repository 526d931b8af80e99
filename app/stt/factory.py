"""Create the configured speech-to-text engine (heavy imports happen here, lazily)."""

from __future__ import annotations

import os
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
    return WhisperSTT(model_dir, threads=stt_threads(settings), language=language, name=name)


def stt_threads(settings: Settings) -> int:
    """CTranslate2's threads for whisper: `stt_threads`, else half the cores. On two cores one
    thread was the fastest even alone (tiny.en, a short question: 7.3 passes/s against 6.0
    with CTranslate2's default of four) and leaves the other core to the LLM."""
    return settings.stt_threads or max(1, (os.cpu_count() or 1) // 2)
