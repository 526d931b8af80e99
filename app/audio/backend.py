"""The small surface Parley needs from an audio library, so tests can swap in a fake device."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

log = logging.getLogger(__name__)

Kind = Literal["input", "output"]
InputCallback = Callable[[np.ndarray], None]  # frames x channels float32, read only
OutputCallback = Callable[[np.ndarray], None]  # frames x channels float32, fill in place


class AudioUnavailable(Exception):
    """No audio library, no device, or the device refused; the message is for the user."""


# What the user reads when a device that worked goes away (the sound server stopped or
# restarted, a headset was unplugged): plain words, what still works, and what to do.
SPEAKER_LOST = (
    "The speaker stopped working (the sound system went away or the device was unplugged). "
    "Replies are shown as text; Parley uses the speaker again as soon as it is back."
)
MICROPHONE_LOST = (
    "The microphone stopped working (the sound system went away or the device was "
    "unplugged). You can type; Parley uses the microphone again as soon as it is back."
)


# An open stream hands over a block every 10-20 ms, silence or not; one that has not for this
# long is gone (a sound server that hangs instead of closing the connection). Through ALSA's
# pulse plugin a new output stream asks for 3 blocks and then for nothing for 1.95 s (3 of 3
# streams here) before it settles, hence the margin.
STALL_SECONDS = 5.0


def close_quietly(stream: Stream, drain: bool = False) -> None:
    """Stop and close `stream`; a device that went away may raise instead: it is closed then."""
    try:
        stream.stop() if drain else stream.abort()
    except Exception as exc:  # PortAudio's own errors, whatever the host API says
        log.info("stopping an audio stream: %s", exc)
    try:
        stream.close()
    except Exception as exc:
        log.info("closing an audio stream: %s", exc)


def start_or_close(stream: Stream, lost: str) -> None:
    """Start an opened stream; one that refuses to run is as good as not opened: it is closed
    and AudioUnavailable(`lost`) raised."""
    try:
        stream.start()
    except Exception as exc:
        log.warning("starting an audio stream failed: %s", exc)
        close_quietly(stream)
        raise AudioUnavailable(lost) from exc


def let_go(stream: Stream) -> None:
    """Close a stream whose device went away, on a thread of its own: with a sound server that
    hangs, PortAudio's abort waited 8 s here, and the caller may be the window's thread."""
    threading.Thread(target=close_quietly, args=(stream,), name="audio-close", daemon=True).start()


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    index: int
    name: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: int
    is_default_input: bool = False
    is_default_output: bool = False


class Stream(Protocol):
    @property
    def active(self) -> bool:
        """Running: False once started and then stopped by the device itself (it went away)."""
        ...

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def abort(self) -> None:
        """Stop now, dropping what is still buffered (stop() may wait for it)."""
        ...

    def close(self) -> None: ...


class AudioBackend(Protocol):
    def devices(self) -> list[DeviceInfo]: ...

    def resolve(self, device: str | int | None, kind: Kind) -> DeviceInfo:
        """The device meant by an index, a name (or part of one), or None for the default."""
        ...

    def open_stream(
        self,
        kind: Kind,
        device: DeviceInfo,
        samplerate: int,
        channels: int,
        blocksize: int,
        callback: InputCallback | OutputCallback,
    ) -> Stream: ...


def pick_device(devices: list[DeviceInfo], device: str | int | None, kind: Kind) -> DeviceInfo:
    """Shared device matching: index, exact name, then case-insensitive substring."""
    usable = [
        d
        for d in devices
        if (d.max_input_channels if kind == "input" else d.max_output_channels) > 0
    ]
    if not usable:
        raise AudioUnavailable(
            f"No audio {kind} device was found. "
            + (
                "Connect a microphone; you can still type."
                if kind == "input"
                else "Connect speakers or headphones; replies are still shown as text."
            )
        )
    if device is None or device == "":
        for d in usable:
            if d.is_default_input if kind == "input" else d.is_default_output:
                return d
        return usable[0]
    if isinstance(device, int) or str(device).isdigit():
        idx = int(device)
        for d in usable:
            if d.index == idx:
                return d
    else:
        wanted = str(device).casefold()
        for d in usable:
            if d.name.casefold() == wanted:
                return d
        matches = [d for d in usable if wanted in d.name.casefold()]
        if matches:
            return matches[0]
    names = ", ".join(f"{d.index}: {d.name}" for d in usable)
    raise AudioUnavailable(f"No {kind} device matches '{device}'. Available: {names}.")


def open_native_stream(
    backend: AudioBackend,
    kind: Kind,
    device: DeviceInfo,
    callback: InputCallback | OutputCallback,
    block_seconds: float = 0.02,
) -> Stream:
    """A stream at the device's own rate with `block_seconds` blocks: mono where the device
    takes it, else its own channel count (raw hardware devices often refuse mono). Callers mix
    down (capture) or copy the mono signal to every channel (playback)."""
    rate = device.default_samplerate
    most = device.max_input_channels if kind == "input" else device.max_output_channels
    attempts = [1] + [c for c in (2, most) if 1 < c <= max(most, 1)]
    error: AudioUnavailable | None = None
    for channels in dict.fromkeys(attempts):
        try:
            blocksize = max(1, int(rate * block_seconds))
            return backend.open_stream(kind, device, rate, channels, blocksize, callback)
        except AudioUnavailable as exc:
            error = exc
    assert error is not None
    raise error
