"""What the pipeline needs from a speech-to-text engine."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class SpeechToText(Protocol):
    name: str

    def transcribe(self, audio: np.ndarray) -> str:
        """16 kHz mono float32 -> text ('' for silence). Blocking; runs on the STT worker."""
        ...
