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

PortAudio's own error text ("Illegal combination of I/O devices [PaErrorCode -9993]") is logged,
never shown: the user reads what happened in plain words. PortAudio lists the devices once, when
it starts; a device that was missing then (a headset plugged in later, a sound server started
after Parley) is found by listing them again when it is asked for and not found, which
PortAudio can only do while none of our streams is open or being opened.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import weakref
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

RESCAN_SECONDS = 2.0  # at most one new device listing this often (each takes 30-40 ms here)
# How long a listing for the user (Settings) waits for one under way on another thread. The
# first (importing sounddevice starts PortAudio, which lists every device) takes 40 ms, and
# 120 s against a sound server that hangs: the devices are opened on threads of their own
# (app/audio/opening.py), and the window's thread must not wait for them.
LIST_WAIT_SECONDS = 0.2
NOT_LISTED = (
    "The sound system is not answering (PulseAudio or PipeWire may be stuck), so the audio "
    "devices can't be listed now. Try again in a moment."
)

_loading = threading.Lock()  # one import of sounddevice at a time


def _sd(wait: float | None = None) -> Any:
    """sounddevice, imported on first use (which starts PortAudio); another thread's import
    is waited for `wait` seconds at most (None: as long as it takes)."""
    loaded = sys.modules.get("sounddevice")
    if loaded is not None and not _loading.locked():
        return loaded
    if not _loading.acquire(timeout=-1 if wait is None else wait):
        raise AudioUnavailable(NOT_LISTED)
    try:
        import sounddevice
    except OSError as exc:
        raise AudioUnavailable(
            "The PortAudio library is not installed, so Parley cannot use the microphone or "
            "speaker. On Debian/Ubuntu: sudo apt-get install libportaudio2. You can still type."
        ) from exc
    finally:
        _loading.release()
    return sounddevice


def _cannot_open(kind: Kind, device: DeviceInfo) -> str:
    what = "microphone" if kind == "input" else "speaker"
    return (
        f"Could not open the {what} ({device.name}): the sound system refused it or is not "
        "running. Check that it is connected and that the sound system (PulseAudio or "
        "PipeWire) runs; Parley tries again at your next question."
    )


class SoundDeviceBackend:
    def __init__(self) -> None:
        self._streams: weakref.WeakSet[Any] = weakref.WeakSet()  # PortAudio's, open or not
        self._rescanned = 0.0
        self._opening = 0  # streams being opened now (the session probes on its own thread)
        self._guard = threading.Lock()

    def devices(self) -> list[DeviceInfo]:
        """The devices, for the user to choose from: waits LIST_WAIT_SECONDS at most."""
        return self._list(LIST_WAIT_SECONDS)

    def _list(self, wait: float | None) -> list[DeviceInfo]:
        sd = _sd(wait)
        # Not while PortAudio lists them anew (_rescan): it is stopped and started meanwhile.
        if not self._guard.acquire(timeout=-1 if wait is None else wait):
            raise AudioUnavailable(NOT_LISTED)
        try:
            raw = sd.query_devices()
            default_in, default_out = sd.default.device
        except sd.PortAudioError as exc:
            log.warning("listing the audio devices failed: %s", exc)
            raise AudioUnavailable(
                "The sound system did not answer. Check that it (PulseAudio or PipeWire) runs; "
                "Parley tries again at your next question."
            ) from exc
        finally:
            self._guard.release()
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
        """The device (see AudioBackend); may wait on the sound system, so Player and
        Recorder call it on a thread of their own."""
        try:
            return pick_device(self._list(None), device, kind)
        except AudioUnavailable:
            if not self._rescan():
                raise
            return pick_device(self._list(None), device, kind)

    def _rescan(self) -> bool:
        """List the devices again (see the module's docstring); whether it was done."""
        sd = _sd()
        with self._guard:
            now = time.monotonic()
            if (
                now - self._rescanned < RESCAN_SECONDS
                or self._opening
                or any(not s.closed for s in self._streams)
            ):
                return False
            self._rescanned = now
            sd._terminate()  # sounddevice's documented way to make PortAudio list devices anew
            sd._initialize()
        return True

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
        with self._guard:
            self._opening += 1
        try:
            if kind == "input":
                stream = sd.InputStream(**params)
                self._streams.add(stream)
                return PolledInput(stream, blocksize, callback, sd.PortAudioError)
            output = sd.OutputStream(**params, callback=output_cb)
            self._streams.add(output)
            return output
        except (sd.PortAudioError, ValueError) as exc:
            log.warning("opening the %s device %r failed: %s", kind, device.name, exc)
            raise AudioUnavailable(_cannot_open(kind, device)) from exc
        finally:
            with self._guard:
                self._opening -= 1


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
        self._failed = False

    @property
    def active(self) -> bool:
        return not self._failed and bool(self._stream.active)

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
                self._failed = True  # PortAudio may still call the stream active
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
