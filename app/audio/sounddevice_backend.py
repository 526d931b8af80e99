"""The real audio backend: PortAudio through sounddevice, imported lazily.

Importing sounddevice raises OSError when the PortAudio library is missing; that becomes an
AudioUnavailable with a message saying which package to install, and the rest of the app
(typing, reading replies) keeps working.

The microphone is read by a thread of ours (`PolledInput`), not through PortAudio's callback:
through ALSA's pulse plugin (PulseAudio, PipeWire: the default on Linux desktops) PortAudio's
capture thread can spin on a poll that stays ready while less than a block is buffered. It did
whenever the CPU was busy: 0.2-0.7 of a core for as long as the key was held (poll returned at
once, 4,600 times in 0.3 s), taken from whisper and the reply started at a pause. A blocking
stream has no thread of its own; ours sleeps between blocks (16-30 ms of CPU a second here).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from app.audio.backend import (
    AudioUnavailable,
    DeviceInfo,
    InputCallback,
    Kind,
    OutputCallback,
    Stream,
    pick_device,
)

log = logging.getLogger(__name__)


def _sd() -> Any:
    try:
        import sounddevice
    except OSError as exc:
        raise AudioUnavailable(
            "The PortAudio library is not installed, so Parley cannot use the microphone or "
            "speaker. On Debian/Ubuntu: sudo apt-get install libportaudio2. You can still type."
        ) from exc
    return sounddevice


class SoundDeviceBackend:
    def devices(self) -> list[DeviceInfo]:
        sd = _sd()
        try:
            raw = sd.query_devices()
            default_in, default_out = sd.default.device
        except sd.PortAudioError as exc:
            raise AudioUnavailable(f"The sound system did not answer: {exc}") from exc
        return [
            DeviceInfo(
                index=int(d["index"]),
                name=str(d["name"]),
                max_input_channels=int(d["max_input_channels"]),
                max_output_channels=int(d["max_output_channels"]),
                default_samplerate=int(d["default_samplerate"]),
                is_default_input=int(d["index"]) == default_in,
                is_default_output=int(d["index"]) == default_out,
            )
            for d in raw
        ]

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
    ) -> Stream:
        sd = _sd()

        def output_cb(outdata: Any, frames: int, time: Any, status: Any) -> None:
            callback(outdata)

        params: dict[str, Any] = {
            "device": device.index,
            "samplerate": samplerate,
            "channels": channels,
            "blocksize": blocksize,
            "dtype": "float32",
            "latency": "low",
        }
        try:
            if kind == "input":
                stream = sd.InputStream(**params)
                return PolledInput(stream, blocksize, callback, sd.PortAudioError)
            return sd.OutputStream(**params, callback=output_cb)
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioUnavailable(
                f"Could not open the {kind} device '{device.name}': {exc}"
            ) from exc


class PolledInput:
    """A blocking input stream read whole block by whole block by a thread of ours, which
    looks twice a block (see the module's docstring): the same blocks reach `callback` as
    PortAudio's callback would hand over, in the same order, sooner if anything (a sound
    reached the callback 22 ms after it was played into the microphone, and this 10 ms)."""

    def __init__(
        self,
        stream: Any,
        blocksize: int,
        callback: InputCallback,
        errors: type[Exception],
    ) -> None:
        self._stream = stream
        self._blocksize = blocksize
        self._callback = callback
        self._errors = errors
        self._period = blocksize / stream.samplerate / 2
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stream.start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._read, name="parley-mic", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        overflows = 0
        while not self._stop.wait(self._period):
            try:
                while self._stream.read_available >= self._blocksize:
                    frames, overflowed = self._stream.read(self._blocksize)
                    overflows += bool(overflowed)
                    self._callback(frames)
            except self._errors as exc:  # the device went away: what was read is kept
                log.warning("the microphone stopped: %s", exc)
                return
        if overflows:
            log.warning("the microphone lost audio %d time(s): its reader fell behind", overflows)

    def _end(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=1)

    def stop(self) -> None:
        self._end()
        self._stream.stop()

    def abort(self) -> None:
        self._end()
        self._stream.abort()

    def close(self) -> None:
        self._end()
        self._stream.close()
