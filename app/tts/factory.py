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


def installed_voices(limit: int = 200) -> list[Path]:
    """piper voices (.onnx next to its .onnx.json) in the data directory's voices/ and
    models/ folders, for the settings' list; the built-in voice is not among them."""
    from app.config import data_dir

    found: list[Path] = []
    for folder in (data_dir() / "voices", data_dir() / "models"):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.onnx")):
            if path.with_name(path.name + ".json").is_file():
                found.append(path)
            if len(found) >= limit:
                return found
    return found
