"""Where `parley ask --say OUT.wav` puts the spoken reply: the sink that collects a turn's
audio and writes it when the turn is complete, and the checks made before any model loads
(a folder, a file the question comes from, a file that is not a WAV, a place not writable)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from app.audio.wavfile import write_wav
from app.bus import EventBus
from app.bus.events import ErrorRaised, PlaybackFinished, PlaybackStarted
from app.safety.output_path import output_problem, write_failure


class WavSink:
    """Collects the reply audio of a turn and writes it to a WAV file when it is complete."""

    def __init__(self, bus: EventBus, path: Path) -> None:
        self.bus = bus
        self.path = path
        self.rate = 0
        self.chunks: list[np.ndarray] = []
        self.started = False

    def enqueue(self, turn_id: int, index: int, samples: np.ndarray, rate: int) -> None:
        if not self.started:
            self.started = True
            self.bus.publish(PlaybackStarted(turn_id=turn_id))
        self.rate = rate
        self.chunks.append(np.asarray(samples, dtype=np.float32))

    def finish(self, turn_id: int) -> None:
        try:
            if self.chunks:
                write_wav(self.path, np.concatenate(self.chunks), self.rate)
        except OSError as exc:
            message = write_failure(self.path, exc, "the spoken reply")
            self.bus.publish(ErrorRaised(turn_id=turn_id, source="tts", message=message))
        except RuntimeError as exc:  # soundfile's LibsndfileError
            message = f"Could not write the spoken reply to {self.path}: {exc}"
            self.bus.publish(ErrorRaised(turn_id=turn_id, source="tts", message=message))
        finally:
            # Always end the turn, or `parley ask` would wait for it forever.
            self.bus.publish(PlaybackFinished(turn_id=turn_id))

    def stop(self) -> dict[int, float]:
        return {}


def unwritable(out: Path) -> str:
    """Why the reply could not be written to `out` ('' when it can), checked before any
    model loads, so a typo costs no time and never surfaces after the turn as a traceback."""
    try:
        return unwritable_why(out)
    except OSError as exc:  # a folder on the way we may not even look into
        return f"Cannot write the spoken reply to {out}: {exc.strerror or exc}. {WRITABLE}"


WRITABLE = "Choose a folder you can write to (your home folder, say)."


def unwritable_why(out: Path) -> str:
    if out.is_dir():
        return f"--say needs a file name, but {out} is a folder."
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                return f"Cannot write the spoken reply to {out}: {parent} is a file, not a folder."
            break
    try:
        if not out.is_symlink():
            out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"Cannot write the spoken reply to {out}: {exc.strerror or exc}."
    # Not opened to try: a FIFO would block here, and a device needs no test write.
    return output_problem(out, "the spoken reply")


def overwrites_input(out: Path, args: argparse.Namespace) -> str:
    """Why --say must not write to `out`: it is one of the files the question comes from."""
    inputs = [args.audio] if args.audio else []
    inputs += list(args.image or []) + list(getattr(args, "file", None) or [])
    for given in inputs:
        source = Path(given)
        same = out.exists() and source.exists() and out.samefile(source)
        if same or out.resolve() == source.resolve():
            return (
                f"--say {out} would overwrite {given}, which the question comes from; "
                "write the spoken reply to another file."
            )
    return ""


def not_a_wav(out: Path) -> str:
    """Why --say must not replace `out`: an existing file with something in it that is not a
    WAV (notes.txt). A WAV is taken as an earlier reply; a device or pipe is written into."""
    try:
        if not out.is_file() or out.stat().st_size == 0:
            return ""
        with out.open("rb") as f:
            head = f.read(12)
    except OSError:
        return ""  # unwritable() says why, if it matters
    if head[:4] in (b"RIFF", b"RIFX") and head[8:12] == b"WAVE":
        return ""
    return (
        f"--say {out} would overwrite {out.name}, which is not a WAV file; give a new file "
        "name (such as reply.wav) for the spoken reply."
    )
