"""The open microphone of the hands-free mode: capture -> echo canceller -> half-duplex gate
-> streaming VAD, on the microphone's own thread; what it finds goes to the caller's callback
(which posts it to the loop: app/pipeline/hands_free.py).

Every block is cleaned at 16 kHz (EchoCanceller, reference = Player.tap) and kept for a
moment, so that a turn that opens when the VAD reports speech (224 ms after it began) still
gets its first syllable: a `StreamTap` starts PREROLL_SECONDS before the speech and is fed
every cleaned block after it. A tap looks like the push-to-talk Recorder to the live
transcriber (block_levels, snapshot, rate), so a hands-free turn is heard by the same code as
a held key.

Where the canceller is missing or its measured reduction is too low (half_duplex.py), the VAD
hears silence while Parley is heard; `half_duplex` says why, for the user.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.audio.backend import AudioBackend, Stream, close_quietly, open_native_stream
from app.audio.echo import PROCESS_RATE, EchoCanceller, EchoUnavailable
from app.audio.half_duplex import HalfDuplexGate, fallback_reason
from app.audio.resample import StreamResampler, to_mono
from app.stt.stream_vad import DEFAULT, OVER_ECHO, WINDOW, StreamingVad, VadEvent

log = logging.getLogger(__name__)

BLOCK_SECONDS = 0.01
KEPT_SECONDS = 2.0  # cleaned audio kept for a turn that opens late (the VAD's 224 ms, and more)
PREROLL_SECONDS = 0.25  # a turn's audio starts this long before the VAD's speech start
CHECK_EVERY_BLOCKS = 50  # the canceller's reduction is looked at twice a second


@dataclass(frozen=True, slots=True)
class MicEvent:
    """The VAD's start / end (`at`: seconds of cleaned audio since the microphone opened),
    or `half_duplex` turning on ('' back off) with the reason for the user."""

    kind: str  # "start" | "end" | "half_duplex" | "learnt" (the canceller has converged)
    at: float = 0.0
    reason: str = ""
    over_echo: bool = False  # the speech began while Parley was heard
    when: float = 0.0  # time.monotonic() it was found


class StreamTap:
    """The cleaned microphone from a point on: the push-to-talk Recorder's reading side."""

    rate = PROCESS_RATE

    def __init__(self, start: np.ndarray) -> None:
        self._lock = threading.Lock()
        self._blocks: list[np.ndarray] = []
        self._rms: list[tuple[int, float]] = []
        self.samples = 0  # how much it holds (cheaper to read than a snapshot)
        self.open = True
        if start.size:
            self.add(start)

    def add(self, block: np.ndarray) -> None:
        rms = float(np.sqrt(np.mean(block * block))) if block.size else 0.0
        with self._lock:
            self._blocks.append(block)
            self._rms.append((block.size, rms))
            self.samples += block.size

    def block_levels(self) -> list[tuple[int, float]]:
        with self._lock:
            return list(self._rms)

    def snapshot(self) -> np.ndarray:
        with self._lock:
            blocks = list(self._blocks)
        return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)

    def stop(self) -> np.ndarray:
        self.open = False
        return self.snapshot()


class OpenMic:
    """Set `on_event` (called on the microphone's thread: it must not block), then `start`."""

    def __init__(
        self,
        backend: AudioBackend,
        device: str | int | None,
        echo: bool = True,
    ) -> None:
        self.backend = backend
        self.device_spec = device
        self.on_event: Callable[[MicEvent], None] = lambda _event: None  # set by the user
        self.echo = echo
        self.canceller: EchoCanceller | None = None
        self.gate = HalfDuplexGate()
        self.vad = StreamingVad()
        self.half_duplex = ""  # why the microphone is deaf while Parley speaks ('' if not)
        self.learnt = False  # the canceller has learnt the room (deaf over Parley until then)
        self._resampler: StreamResampler | None = None
        self._stream: Stream | None = None
        self._lock = threading.Lock()  # guards _kept, _taps, samples
        self._kept: deque[np.ndarray] = deque()
        self._kept_samples = 0
        self._taps: list[StreamTap] = []
        self.samples = 0  # cleaned samples so far (the VAD's clock)
        self.last_voice = 0  # sample where the last window likely to be speech ended
        self.blocks = 0
        self.cpu_seconds = 0.0  # this thread's processing time (the idle-microphone cost)

    def start(self) -> None:
        device = self.backend.resolve(self.device_spec, "input")
        rate = device.default_samplerate
        if self.echo:
            try:
                self.canceller = EchoCanceller(rate)
            except EchoUnavailable as exc:
                log.warning("%s", exc)
        if self.canceller is None:
            self._resampler = StreamResampler(rate, PROCESS_RATE)
            self._set_half_duplex(fallback_reason(None))
        self._stream = open_native_stream(
            self.backend, "input", device, self._callback, BLOCK_SECONDS
        )
        self._stream.start()

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            close_quietly(stream)

    def played(self, samples: np.ndarray, rate: int) -> None:
        """Player.tap: every block as the speaker gets it (the player's thread)."""
        if self.canceller is not None:
            self.canceller.reference(samples, rate)
        self.gate.played(samples, rate)

    @property
    def seconds(self) -> float:
        return self.samples / PROCESS_RATE

    def silence_seconds(self) -> float:
        """How long the cleaned microphone has held no speech (by the VAD's windows)."""
        return max(0, self.samples - self.last_voice) / PROCESS_RATE

    def tap(self, at: float) -> StreamTap:
        """The cleaned audio from PREROLL_SECONDS before `at` (seconds on the VAD's clock),
        and every block from now on until the tap is stopped."""
        with self._lock:
            first = max(0, int((at - PREROLL_SECONDS) * PROCESS_RATE))
            kept = np.concatenate(self._kept) if self._kept else np.zeros(0, np.float32)
            begins = self.samples - kept.size
            tap = StreamTap(kept[max(0, first - begins) :])
            self._taps.append(tap)
        return tap

    def _callback(self, frames: np.ndarray) -> None:
        started = time.thread_time()
        mono = to_mono(frames).copy()
        if self.canceller is not None:
            cleaned = self.canceller.process(mono)
        else:
            assert self._resampler is not None
            cleaned = self._resampler.push(np.array(mono, np.float32))
        self.blocks += 1
        if self.canceller is not None and self.blocks % CHECK_EVERY_BLOCKS == 0:
            self._set_half_duplex(fallback_reason(self.canceller))
            if self.canceller.converged and not self.learnt:
                self.learnt = True  # Parley hears the user over its own voice from now on
                self.on_event(MicEvent("learnt", self.seconds, when=time.monotonic()))
        if self.half_duplex:
            cleaned = self.gate.gate(cleaned)
        over_echo = self.canceller is not None and self.canceller.far_active
        self.vad.hysteresis = OVER_ECHO if over_echo else DEFAULT
        with self._lock:
            self._kept.append(cleaned)
            self._kept_samples += cleaned.size
            while self._kept_samples - self._kept[0].size >= KEPT_SECONDS * PROCESS_RATE:
                self._kept_samples -= self._kept.popleft().size
            self._taps = [t for t in self._taps if t.open]
            for tap in self._taps:
                tap.add(cleaned)
        base = self.vad.windows
        step = self.vad.feed(cleaned)
        voiced = np.flatnonzero(step.probabilities >= self.vad.hysteresis.silence)
        with self._lock:
            self.samples += cleaned.size
            if voiced.size:
                self.last_voice = (base + int(voiced[-1]) + 1) * WINDOW
        self.cpu_seconds += time.thread_time() - started
        for event in step.events:
            self._report(event, over_echo)

    def _report(self, event: VadEvent, over_echo: bool) -> None:
        self.on_event(MicEvent(event.kind, event.at, over_echo=over_echo, when=time.monotonic()))

    def _set_half_duplex(self, reason: str) -> None:
        if reason != self.half_duplex:
            self.half_duplex = reason
            self.on_event(MicEvent("half_duplex", self.seconds, reason, when=time.monotonic()))
