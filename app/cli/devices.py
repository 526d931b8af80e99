"""`parley devices` (the sound devices PortAudio sees) and `parley --prepare` (assemble the
default models once and say where they are)."""

from __future__ import annotations

import sys

from app.audio.backend import AudioUnavailable


def list_devices() -> int:
    from app.audio.sounddevice_backend import SoundDeviceBackend

    try:
        devices = SoundDeviceBackend().devices()
    except AudioUnavailable as exc:
        print(f"parley: {exc}", file=sys.stderr)
        return 1
    if not devices:
        print("No audio devices found.")
        return 1
    for d in devices:
        marks = ("<in " if d.is_default_input else "") + ("out>" if d.is_default_output else "")
        print(
            f"{d.index:3d}  {d.name[:44]:44s}  in {d.max_input_channels:2d}  "
            f"out {d.max_output_channels:2d}  {d.default_samplerate} Hz  {marks}"
        )
    return 0


def prepare_models() -> int:
    """Assemble the default LLM (once) and check every default model is in place."""
    from app.models.defaults import default_llm, default_stt_model, default_voice
    from app.models.errors import ModelError

    def progress(fraction: float, what: str) -> None:
        print(f"\r{what} the default LLM: {fraction:4.0%}", end="", file=sys.stderr, flush=True)

    try:
        stt = default_stt_model()
        voice, _ = default_voice()
        llm = default_llm(progress)
    except ModelError as exc:
        print(f"\nparley: {exc}", file=sys.stderr)
        return 1
    print(file=sys.stderr)
    print(f"speech-to-text: {stt}\nLLM:            {llm}\nvoice:          {voice}")
    from app.models.speech import base_is_available, multilingual_stt_model

    if base_is_available():  # optional: the multilingual speech model, when installed
        try:
            print(f"speech (base):  {multilingual_stt_model()}")
        except ModelError as exc:
            print(f"parley: {exc}", file=sys.stderr)
            return 1
    return 0
