"""The real audio backend: PortAudio through sounddevice, imported lazily.

Importing sounddevice raises OSError when the PortAudio library is missing; that becomes an
AudioUnavailable with a message saying which package to install, and the rest of the app
(typing, reading replies) keeps working.
"""

from __future__ import annotations

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

        if kind == "input":

            def input_cb(indata: Any, frames: int, time: Any, status: Any) -> None:
                callback(indata)

            cls, cb = sd.InputStream, input_cb
        else:

            def output_cb(outdata: Any, frames: int, time: Any, status: Any) -> None:
                callback(outdata)

            cls, cb = sd.OutputStream, output_cb
        try:
            return cls(
                device=device.index,
                samplerate=samplerate,
                channels=channels,
                blocksize=blocksize,
                dtype="float32",
                latency="low",
                callback=cb,
            )
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioUnavailable(
                f"Could not open the {kind} device '{device.name}': {exc}"
            ) from exc
