"""Streaming voice activity on the open microphone: Silero VAD v6 (bundled with
faster-whisper), one 32 ms window at a time, its recurrent state carried across calls.

faster-whisper runs the model over a whole clip at once (faster_whisper.vad): each window is
512 samples at 16 kHz with the 64 samples before it as context, and the LSTM state (h, c)
flows from window to window. Here the same model takes the windows as they come, so the
probability of window n is the one the whole-clip run gives it.

Speech is reported with hysteresis (`Hysteresis`): a run starts when a window reaches
`speech` and goes on while windows stay above `silence`; it counts as speech (a `start`
event) once it has lasted `min_speech_seconds`, and ends (an `end` event) after
`min_silence_seconds` below `silence`. The caller may switch to OVER_ECHO while Parley is
heard (EchoCanceller.far_active) and back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

RATE = 16000
WINDOW = 512  # 32 ms: the window Silero is trained on at 16 kHz
CONTEXT = 64  # samples of the previous window the model sees before each one
WINDOW_SECONDS = WINDOW / RATE


@dataclass(frozen=True, slots=True)
class Hysteresis:
    speech: float  # a run starts at a window this likely to be speech...
    silence: float  # ...and goes on while windows stay at least this likely
    min_speech_seconds: float  # a run this long is speech (a `start` event)
    min_silence_seconds: float  # speech ends after this long below `silence`


# Silero's own thresholds (0.5, and 0.15 less to leave speech); 224 ms (7 windows) of speech:
# shorter runs are clicks, breaths and bits of echo; LiveKit's 0.55 s of silence ends it.
DEFAULT = Hysteresis(0.5, 0.35, 0.224, 0.55)
# While Parley is heard, on the echo canceller's output: AEC3 removes the echo down to near
# silence but also eats into the user's voice (double talk), so the user's words score lower.
# Measured on 12 onsets over piper's replies (tests/echo_scene.py), room at -6 / 0 dB:
# DEFAULT heard the user after 1.15 / 1.24 s median and missed 1 of 12; these after
# 0.28 / 0.38 s (max 0.86 / 1.17 s), with still no run of Parley's own voice.
OVER_ECHO = Hysteresis(0.3, 0.2, 0.16, 0.55)
MIN_SPEECH_SECONDS = DEFAULT.min_speech_seconds
MIN_SILENCE_SECONDS = DEFAULT.min_silence_seconds
# Speech this long while Parley speaks is an interruption (LiveKit's min_interruption
# duration): for the caller's barge-in, see StreamingVad.speech_seconds.
INTERRUPTION_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class VadEvent:
    kind: Literal["start", "end"]
    # Seconds of audio since the stream began: where speech began (start) or where the
    # silence that ended it began (end). It is reported MIN_SPEECH_SECONDS or
    # MIN_SILENCE_SECONDS later.
    at: float


@dataclass(slots=True)
class VadStep:
    """What one `feed` found: each finished window's speech probability, and the events."""

    probabilities: np.ndarray
    events: list[VadEvent] = field(default_factory=list)


def _session() -> Any:
    # The session faster-whisper's own VAD uses (one thread, loaded once per process):
    # onnxruntime's run() is safe to call from several threads.
    from faster_whisper.vad import get_vad_model

    return get_vad_model().session


class StreamingVad:
    """`feed` 16 kHz mono float32 blocks of any length, in order (one thread)."""

    def __init__(self, hysteresis: Hysteresis = DEFAULT) -> None:
        self._session = _session()
        self.hysteresis = hysteresis  # may change between feeds
        self.reset()

    def reset(self) -> None:
        """Forget the stream: the next sample is at time 0, with no speech."""
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(CONTEXT, np.float32)
        self._pending = np.zeros(0, np.float32)
        self.windows = 0  # windows run so far
        self.cpu_seconds = 0.0  # CPU time the model took, for the caller's measure
        self.speaking = False  # in speech, as the last event said
        self._run = 0  # windows in the current candidate or confirmed speech run
        self._run_start = 0
        self._quiet = 0  # windows below `silence` since speech last held

    @property
    def seconds(self) -> float:
        """Audio run through the model so far."""
        return self.windows * WINDOW_SECONDS

    @property
    def speech_seconds(self) -> float:
        """How long the current speech run has lasted (0 outside one): the caller's test
        for an interruption is speech_seconds >= INTERRUPTION_SECONDS."""
        return self._run * WINDOW_SECONDS if self._run and not self._quiet else 0.0

    def feed(self, samples: np.ndarray) -> VadStep:
        audio = np.concatenate([self._pending, np.asarray(samples, np.float32).reshape(-1)])
        count = audio.size // WINDOW
        probs = np.empty(count, np.float32)
        events: list[VadEvent] = []
        for i in range(count):
            probs[i] = self._window(audio[i * WINDOW : (i + 1) * WINDOW])
            event = self._track(float(probs[i]))
            if event is not None:
                events.append(event)
        self._pending = audio[count * WINDOW :]
        return VadStep(probs, events)

    def _window(self, window: np.ndarray) -> float:
        started = time.thread_time()
        x = np.concatenate([self._context, window])[None, :]
        out, self._h, self._c = self._session.run(None, {"input": x, "h": self._h, "c": self._c})
        self._context = window[-CONTEXT:]
        self.windows += 1
        self.cpu_seconds += time.thread_time() - started
        return float(np.asarray(out).reshape(-1)[0])

    def _track(self, p: float) -> VadEvent | None:
        """The hysteresis, one window at a time (this window is number windows - 1)."""
        index = self.windows - 1
        h = self.hysteresis
        if not self.speaking:
            if self._run and p >= h.silence:
                self._run += 1
            elif p >= h.speech:
                self._run, self._run_start = 1, index
            else:
                self._run = 0
            if self._run * WINDOW_SECONDS >= h.min_speech_seconds - 1e-9:
                self.speaking, self._quiet = True, 0
                return VadEvent("start", self._run_start * WINDOW_SECONDS)
            return None
        if p >= h.silence:
            self._run += 1 + self._quiet
            self._quiet = 0
            return None
        self._quiet += 1
        if self._quiet * WINDOW_SECONDS >= h.min_silence_seconds - 1e-9:
            self.speaking, self._run = False, 0
            quiet, self._quiet = self._quiet, 0
            return VadEvent("end", (index + 1 - quiet) * WINDOW_SECONDS)
        return None


def speech_runs(
    probabilities: np.ndarray, hysteresis: Hysteresis = DEFAULT
) -> list[tuple[float, float]]:
    """(start, seconds) of every run with the thresholds of `hysteresis` but no minimum
    length: what a measure of 'how much of this read as speech' counts."""
    runs: list[tuple[float, float]] = []
    start = -1
    for i, p in enumerate(probabilities):
        if start < 0 and p >= hysteresis.speech:
            start = i
        elif start >= 0 and p < hysteresis.silence:
            runs.append((start * WINDOW_SECONDS, (i - start) * WINDOW_SECONDS))
            start = -1
    if start >= 0:
        runs.append((start * WINDOW_SECONDS, (len(probabilities) - start) * WINDOW_SECONDS))
    return runs
