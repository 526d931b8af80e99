"""Reading and writing audio files, with messages a user can act on."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import soundfile

from app.audio.resample import to_mono
from app.safety.input_path import cannot_read, special_file
from app.safety.output_path import write_output

log = logging.getLogger(__name__)

# The longest recording Parley reads (30 minutes): well past a spoken question (recordings over
# the talk limit are read as documents), short of hours of audio (a 3-hour file would take
# 690 MB as float32 and hours to transcribe here).
MAX_AUDIO_SECONDS = 30 * 60


class AudioFileError(Exception):
    """The file is missing, not audio, or empty; the message says which."""


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples and their rate."""
    try:
        if not path.exists():
            raise AudioFileError(f"The audio file {path} does not exist.")
        if path.is_dir():
            raise AudioFileError(f"{path} is a folder, not an audio file.")
        special = special_file(path, "an audio file")
        if special:
            raise AudioFileError(special)
        with path.open("rb"):  # libsndfile says only "System error" for a file it can't open
            pass
    except OSError as exc:
        raise AudioFileError(cannot_read(path, exc)) from None
    try:
        with soundfile.SoundFile(str(path)) as sound:
            rate = sound.samplerate
            if sound.frames > MAX_AUDIO_SECONDS * rate:
                raise AudioFileError(_too_long(path, sound.frames / rate))
            # Never more than the cap, whatever the header claims.
            data = sound.read(
                min(sound.frames, MAX_AUDIO_SECONDS * rate), dtype="float32", always_2d=True
            )
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        # libsndfile's words ("Format not recognised", "No 'data' chunk marker") to the log.
        log.info("libsndfile could not read %s: %s", path, exc)
        raise AudioFileError(
            f"{path} is not an audio file Parley can read: it is not WAV, FLAC or OGG audio, "
            "or it is damaged or cut short. Save or convert it to WAV again (e.g. "
            "`ffmpeg -i IN OUT.wav`) and try that."
        ) from exc
    if data.shape[0] == 0:
        raise AudioFileError(f"The audio file {path} is empty: it contains no samples.")
    return to_mono(data), int(rate)


def _too_long(path: Path, seconds: float) -> str:
    hours, rest = divmod(round(seconds), 3600)
    length = f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min {rest % 60} s"
    return (
        f"{path.name} is {length} long; Parley takes recordings of up to "
        f"{MAX_AUDIO_SECONDS // 60} minutes. Cut it into shorter parts (for example with "
        "`sox IN.wav OUT.wav trim 0 30:00`) and ask about each."
    )


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """Write a 16-bit WAV to `path` as app.safety.output_path does: a regular file whole or
    not at all (a full disk leaves the old file, or none), a device or FIFO written into,
    a symlink followed. Raises OSError."""
    if not path.is_symlink():
        path.parent.mkdir(parents=True, exist_ok=True)
    wav = io.BytesIO()
    soundfile.write(
        wav, np.asarray(samples, dtype=np.float32), rate, subtype="PCM_16", format="WAV"
    )
    write_output(path, wav.getvalue())
