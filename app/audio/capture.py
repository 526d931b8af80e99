"""Push-to-talk capture: open the microphone at its native rate, keep the frames, hand back
16 kHz mono for speech-to-text.

The callback runs on PortAudio's thread: it only copies the block into a list and updates the
level, never blocks on the event loop.
"""

from __future__ import annotations

import logging
import math
import threading
import time

import numpy as np

from app.audio.backend import (
    MICROPHONE_LOST,
    STALL_SECONDS,
    AudioBackend,
    AudioUnavailable,
    DeviceInfo,
    Stream,
    close_quietly,
    let_go,
    open_native_stream,
    start_or_close,
)
from app.audio.opening import Attempt, not_answering
from app.audio.resample import resample, to_mono

log = logging.getLogger(__name__)

STT_RATE = 16000
# 10 ms blocks: PortAudio then holds 20 ms of capture instead of 40 ms, so the end of the
# question (the pause that starts the reply early) is seen 20 ms sooner.
BLOCK_SECONDS = 0.01
OPEN_WAIT_SECONDS = 0.1  # how long start() waits for the open (see start)


class Recorder:
    def __init__(self, backend: AudioBackend, device: str | int | None = None) -> None:
        self.backend = backend
        self.device_spec = device
        self.device: DeviceInfo | None = None
        self._stream: Stream | None = None
        self._blocks: list[np.ndarray] = []
        self._rms: list[tuple[int, float]] = []  # (frames, RMS) per block, for pause detection
        self._lock = threading.Lock()
        self._opening = threading.Lock()  # guards _attempt and _stream as they change hands
        self._attempt: Attempt[Stream] | None = None  # the open under way, if any
        self._level = 0.0
        self._last_block = 0.0  # when the last block came (monotonic)
        self.rate = 0

    @property
    def recording(self) -> bool:
        """Listening: the microphone is open, or opening (see start)."""
        return self._stream is not None or self._attempt is not None

    @property
    def opening(self) -> bool:
        """Its open is under way (see start)."""
        attempt = self._attempt
        return attempt is not None and not attempt.done

    @property
    def level(self) -> float:
        """Input level of the last block, 0..1 on a -60..0 dBFS scale (for the meter)."""
        return self._level

    def start(self, wait: float | None = OPEN_WAIT_SECONDS) -> None:
        """Open the microphone (raises AudioUnavailable with a user-facing message). The
        open runs on a thread of its own (app/audio/opening.py) and is waited for `wait`
        seconds at most (None: until done): against a sound server that hangs one took 30 s
        here, and the caller may be the window's thread. One still under way records once
        open; trouble() says if it fails or takes too long."""
        if self.recording:
            return
        with self._lock:
            self._blocks = []
            self._rms = []
        attempt: Attempt[Stream] | None = None

        def job() -> Stream | None:
            device = self.backend.resolve(self.device_spec, "input")
            stream = open_native_stream(
                self.backend, "input", device, self._callback, BLOCK_SECONDS
            )
            self._last_block = time.monotonic()
            self.device, self.rate = device, device.default_samplerate  # before any block
            start_or_close(stream, MICROPHONE_LOST)
            with self._opening:
                if self._attempt is not attempt:
                    return stream  # stopped meanwhile: abandon() lets it go
                self._stream, self._attempt = stream, None
            return None

        with self._opening:
            attempt = self._attempt = Attempt(job, "microphone-open")
        attempt.wait(wait)
        if attempt.done and self._stream is None:
            with self._opening:
                if self._attempt is attempt:
                    self._attempt = None
            raise AudioUnavailable(attempt.error or MICROPHONE_LOST)

    def trouble(self) -> str:
        """Why the microphone no longer records ('' while it does, or while closed): it
        stopped on its own, sent nothing for STALL_SECONDS, would not open, or has not opened
        after OPEN_TIMEOUT_SECONDS."""
        stream = self._stream
        if stream is not None:
            return self._trouble_of(stream)
        attempt = self._attempt
        if attempt is None:
            return ""
        if attempt.done:  # failed: one that works installs its stream first
            return attempt.error or MICROPHONE_LOST
        return not_answering("microphone") if attempt.overdue() else ""

    def _trouble_of(self, stream: Stream) -> str:
        if not stream.active or time.monotonic() - self._last_block > STALL_SECONDS:
            return MICROPHONE_LOST
        return ""

    def _callback(self, frames: np.ndarray) -> None:
        self._last_block = time.monotonic()
        mono = to_mono(frames).copy()
        rms = float(np.sqrt(np.mean(mono * mono))) if mono.size else 0.0
        db = 20 * math.log10(max(rms, 1e-6))
        self._level = min(1.0, max(0.0, (db + 60) / 60))
        with self._lock:
            self._blocks.append(mono)
            self._rms.append((mono.size, rms))

    def stop(self) -> np.ndarray:
        """Close the microphone; the captured audio as 16 kHz mono float32."""
        with self._opening:
            attempt, self._attempt = self._attempt, None
            stream, self._stream = self._stream, None
        if attempt is not None:
            attempt.abandon(let_go)  # still opening: closed when (if ever) it opens
        if stream is not None:
            # abort, not stop: PortAudio's stop waits for the device's buffers and through
            # PulseAudio once took 1.5 s, with the window frozen at the key's release. What
            # is dropped is the last block or two, after the user finished speaking. A
            # microphone that went away may raise, or hang, instead: what it recorded is kept.
            if self._trouble_of(stream):
                let_go(stream)
            else:
                close_quietly(stream)
        self._level = 0.0
        return self.snapshot()

    def block_levels(self) -> list[tuple[int, float]]:
        """(frames, RMS) of every block captured so far, oldest first."""
        with self._lock:
            return list(self._rms)

    def snapshot(self) -> np.ndarray:
        """What has been captured so far, 16 kHz mono."""
        with self._lock:
            blocks = list(self._blocks)
        if not blocks:
            return np.zeros(0, dtype=np.float32)
        return resample(np.concatenate(blocks), self.rate, STT_RATE)
