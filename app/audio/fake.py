"""A fake audio device for tests that need exact, repeatable timing.

Its input stream replays queued audio (WAV files or arrays) through the same callback path as
the real device, block by block at real-time pace (or `speed` times faster), and silence when
nothing is queued. Its output stream pulls blocks from the player's callback like a sound card
and keeps everything it was given, with the moment each block was pulled.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path

import numpy as np

from app.audio.backend import (
    AudioUnavailable,
    DeviceInfo,
    InputCallback,
    Kind,
    OutputCallback,
    pick_device,
)
from app.audio.resample import resample, to_mono
from app.audio.wavfile import read_audio


class FakeStream:
    def __init__(
        self,
        backend: FakeAudioBackend,
        kind: Kind,
        samplerate: int,
        channels: int,
        blocksize: int,
        callback: InputCallback | OutputCallback,
    ) -> None:
        self.backend = backend
        self.kind = kind
        self.samplerate = samplerate
        self.channels = channels
        self.blocksize = blocksize or samplerate // 50
        self.callback = callback
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.closed = False

    @property
    def active(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"fake-{self.kind}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def abort(self) -> None:
        self.stop()

    def close(self) -> None:
        self.stop()
        self.closed = True

    def _run(self) -> None:
        period = self.blocksize / self.samplerate / self.backend.speed
        next_at = time.monotonic()
        while not self._stop.is_set():
            if self.kind == "input":
                block = self.backend._next_input_block(self.blocksize, self.samplerate)
                frames = np.repeat(block[:, None], self.channels, axis=1)
                self.callback(frames)
            else:
                out = np.zeros((self.blocksize, self.channels), dtype=np.float32)
                self.callback(out)
                self.backend._record_output(out, self.samplerate)
            next_at += period
            delay = next_at - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_at = time.monotonic()


class FakeAudioBackend:
    """One fake microphone and one fake speaker."""

    def __init__(
        self,
        input_rate: int = 48000,
        output_rate: int = 48000,
        speed: float = 1.0,
        has_input: bool = True,
        has_output: bool = True,
        min_channels: int = 1,
    ) -> None:
        self.min_channels = min_channels  # 2: like a raw hardware device that refuses mono
        self.has_input = has_input
        self.has_output = has_output
        self.input_rate = input_rate
        self.output_rate = output_rate
        self.speed = speed
        self._pending: deque[np.ndarray] = deque()
        self._lock = threading.Lock()
        self.played: list[tuple[float, np.ndarray]] = []  # (monotonic time, mono block)
        self.streams: list[FakeStream] = []

    # what tests call --------------------------------------------------------------------
    def feed(self, audio: np.ndarray | str | Path, rate: int | None = None) -> None:
        """Queue speech for the fake microphone (a file, or mono samples at `rate`)."""
        if isinstance(audio, str | Path):
            samples, rate = read_audio(Path(audio))
        else:
            samples = to_mono(audio)
        assert rate is not None
        with self._lock:
            self._pending.append(resample(samples, rate, self.input_rate))

    def pending_input_seconds(self) -> float:
        with self._lock:
            return sum(len(a) for a in self._pending) / self.input_rate

    def played_audio(self) -> np.ndarray:
        with self._lock:
            blocks = [b for _, b in self.played]
        return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)

    def last_sound_time(self, threshold: float = 1e-4) -> float | None:
        """When the speaker last received a non-silent block."""
        with self._lock:
            for t, block in reversed(self.played):
                if np.abs(block).max(initial=0.0) > threshold:
                    return t
        return None

    def sound_blocks_after(self, t: float, threshold: float = 1e-4) -> int:
        with self._lock:
            return sum(
                1 for at, b in self.played if at > t and np.abs(b).max(initial=0.0) > threshold
            )

    # the AudioBackend protocol ----------------------------------------------------------
    def devices(self) -> list[DeviceInfo]:
        devices = []
        if self.has_input:
            devices.append(
                DeviceInfo(0, "Fake Microphone", 2, 0, self.input_rate, is_default_input=True)
            )
        if self.has_output:
            devices.append(
                DeviceInfo(1, "Fake Speaker", 0, 2, self.output_rate, is_default_output=True)
            )
        return devices

    def resolve(self, device: str | int | None, kind: Kind) -> DeviceInfo:
        return pick_device(self.devices(), device, kind)

    def open_stream(
        self,
        kind: Kind,
        device: DeviceInfo,
        samplerate: int,
        channels: int,
        blocksize: int,
        callback: InputCallback | OutputCallback,
    ) -> FakeStream:
        if channels < self.min_channels:
            raise AudioUnavailable(f"{device.name} does not take {channels} channel(s)")
        stream = FakeStream(self, kind, samplerate, channels, blocksize, callback)
        self.streams.append(stream)
        return stream

    # stream side ------------------------------------------------------------------------
    def _next_input_block(self, frames: int, rate: int) -> np.ndarray:
        out = np.zeros(frames, dtype=np.float32)
        filled = 0
        with self._lock:
            while filled < frames and self._pending:
                head = self._pending[0]
                take = min(frames - filled, len(head))
                out[filled : filled + take] = head[:take]
                filled += take
                if take == len(head):
                    self._pending.popleft()
                else:
                    self._pending[0] = head[take:]
        return out

    def _record_output(self, block: np.ndarray, rate: int) -> None:
        with self._lock:
            self.played.append((time.monotonic(), to_mono(block).copy()))
