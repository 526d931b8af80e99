"""Create the configured voice (heavy imports happen here, lazily)."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings
from app.tts.base import TextToSpeech


def create_tts(settings: Settings) -> TextToSpeech:
    from app.models.defaults import default_voice
    from app.tts.piper_tts import PiperTTS

    if settings.tts_voice:
        return PiperTTS(Path(settings.tts_voice).expanduser())
    model, config = default_voice()
    return PiperTTS(model, config)
