"""piper (ONNX) voices, run in-process.

On two cores piper shares the CPU with llama.cpp: for the first clause the LLM waits and
piper may take every core; for later clauses, synthesised while the LLM generates, it takes
one. onnxruntime fixes a session's threads when it is made, so the voice keeps one session of
each kind (about 60 MB more for a medium voice) and `threads_now` picks per sentence. Both
have spin-waiting off: onnxruntime's threads otherwise spin between operators and take the
core from the LLM's threads (measured here: piper and the LLM together reached 66 % of what
they do one at a time with the defaults, 100 % this way).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from app.models.errors import ModelError
from app.safety.input_path import special_file


class PiperTTS:
    def __init__(self, model: Path, config: Path | None = None) -> None:
        config = config or model.with_name(model.name + ".json")
        for path in (model, config):
            special = special_file(path, "a voice file")
            if special:
                raise ModelError(special)
            if not path.is_file():
                raise ModelError(
                    f"The voice file {path} is missing. Choose another voice in Settings, or "
                    "reinstall the defaults: pip install 'parley[models]'."
                )
        try:
            config_dict = json.loads(config.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ModelError(
                f"The voice settings file {config} is damaged (it is not valid JSON text); "
                "download the voice again or choose another in Settings."
            ) from exc
        self.model_path = model
        self.cores = max(1, min(os.cpu_count() or 1, 4))
        # How many threads the next sentence may use (None: every core); set by Engines.
        self.threads_now: Callable[[], int] | None = None
        self._sessions: dict[int, Any] = {}
        try:
            from piper.voice import PiperConfig, PiperVoice

            self.voice = PiperVoice(
                session=self._session(self.cores),
                config=PiperConfig.from_dict(config_dict),
            )
            if self.cores > 1:
                self._session(1)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(
                f"The voice {model.name} could not be loaded; the file may be corrupt. "
                "Reinstall it or choose another voice in Settings."
            ) from exc
        self.name = model.stem
        self.sample_rate = int(self.voice.config.sample_rate)

    def _session(self, threads: int) -> Any:
        session = self._sessions.get(threads)
        if session is None:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = self._sessions[threads] = onnxruntime.InferenceSession(
                str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        return session

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        threads = self.cores if self.threads_now is None else self.threads_now()
        self.voice.session = self._session(max(1, min(self.cores, threads)))
        for chunk in self.voice.synthesize(text):
            yield np.asarray(chunk.audio_float_array, dtype=np.float32)

    def warm_up(self) -> None:
        for threads in list(self._sessions):
            self.voice.session = self._sessions[threads]
            for _ in self.voice.synthesize("Ready."):
                pass
