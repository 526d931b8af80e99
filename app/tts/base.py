"""What the pipeline needs from a text-to-speech engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np


class TextToSpeech(Protocol):
    name: str
    sample_rate: int

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        """Mono float32 chunks at `sample_rate`. Lazy: iterate it on the TTS worker only."""
        ...
