"""Reading and writing audio files, with messages a user can act on."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile

from app.audio.resample import to_mono


class AudioFileError(Exception):
    """The file is missing, not audio, or empty; the message says which."""


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples and their rate."""
    if not path.exists():
        raise AudioFileError(f"The audio file {path} does not exist.")
    if path.is_dir():
        raise AudioFileError(f"{path} is a folder, not an audio file.")
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioFileError(
            f"{path} is not an audio file Parley can read (WAV, FLAC or OGG): {exc}"
        ) from exc
    if data.shape[0] == 0:
        raise AudioFileError(f"The audio file {path} is empty: it contains no samples.")
    return to_mono(data), int(rate)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """Write a 16-bit WAV through a temporary file renamed over `path`: a full disk leaves
    the old file (or none), never a truncated one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        soundfile.write(
            str(tmp), np.asarray(samples, dtype=np.float32), rate, subtype="PCM_16", format="WAV"
        )
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
