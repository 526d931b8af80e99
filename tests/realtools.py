"""Helpers shared by the real-model, real-audio and CLI tests (no fakes in here)."""

from __future__ import annotations

import difflib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import soundfile

from app.audio.resample import resample, to_mono

REPO = Path(__file__).resolve().parent.parent
VIRTUAL_AUDIO = REPO.parent / "shared" / "virtual-audio"
PARLEY = Path(sys.executable).parent / "parley"


def words(text: str) -> list[str]:
    """Lower-case words without punctuation: what a listener would compare."""
    return re.findall(r"[a-z0-9']+", text.casefold().replace("’", "'"))


def similarity(a: str, b: str) -> float:
    """0..1: how alike two texts sound, letter by letter, ignoring case and punctuation (so
    a word boundary heard in the wrong place, 'France is' -> 'Francis', costs little)."""
    return difflib.SequenceMatcher(None, "".join(words(a)), "".join(words(b))).ratio()


def espeak(
    text: str, path: Path, rate: int = 48000, channels: int = 2, voice: str = "en", wpm: int = 150
) -> Path:
    """Speak `text` with espeak-ng's `voice` into a WAV at `rate` Hz with `channels` channels
    (48 kHz stereo: as a desktop microphone records)."""
    if not shutil.which("espeak-ng") or not shutil.which("sox"):
        pytest.fail("espeak-ng and sox are needed: run scripts/setup.sh --test")
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", str(rate), "-c", str(channels), str(path)], check=True)
    raw.unlink()
    return path


def mapped_rss(path: Path, pid: int | str = "self", starts: set[int] | None = None) -> int:
    """Resident bytes of a process's mappings of the file `path` (only those beginning at
    `starts`, if given), from /proc/PID/smaps."""
    real = os.path.realpath(path)
    total = 0
    inside = False
    with open(f"/proc/{pid}/smaps", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            fields = line.split(maxsplit=5)
            if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:
                low = int(fields[0].split("-")[0], 16)
                inside = fields[-1].rstrip("\n") == real and (starts is None or low in starts)
            elif inside and fields[0] == "Rss:":
                total += int(fields[1]) * 1024
    return total


def parley(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 180,
    cwd: Path = REPO,
    prefix: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run the installed `parley` console script (the one users run) and capture its output;
    `prefix` runs it through another command (setpriv, to run without privileges)."""
    cmd = [str(PARLEY)] if PARLEY.exists() else [sys.executable, "-m", "app"]
    return subprocess.run(
        [*prefix, *cmd, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else os.environ.copy(),
        cwd=cwd,
    )


def assert_clean_failure(run: subprocess.CompletedProcess[str], code: int | None = None) -> str:
    """A failed command said why in one line on stderr, without a traceback or a crash."""
    assert run.returncode > 0, (run.returncode, run.stderr)  # < 0 would be a signal (segfault)
    if code is not None:
        assert run.returncode == code, (run.returncode, run.stderr)
    assert "Traceback" not in run.stderr, run.stderr
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("parley: "), lines[0]
    return lines[0]


def load_16k(path: Path) -> np.ndarray:
    """A WAV as 16 kHz mono float32, the way speech-to-text wants it."""
    data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    return resample(to_mono(data), rate, 16000)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0


def speech_span(samples: np.ndarray, rate: int, threshold: float = 0.02) -> float:
    """Seconds from the first to the last loud sample (the spoken part of a recording)."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    return (loud[-1] - loud[0]) / rate if loud.size else 0.0


def say_into_mic(wav: Path) -> None:
    """Play a WAV into the virtual microphone; returns once it has all been played."""
    subprocess.run([str(VIRTUAL_AUDIO), "say", str(wav)], check=True, timeout=60)


class SpeakerRecording:
    """`virtual-audio record` running in the background until stop(); the WAV it wrote."""

    def __init__(self, path: Path, max_seconds: int = 60) -> None:
        self.path = path
        self.proc = subprocess.Popen(
            [str(VIRTUAL_AUDIO), "record", str(path), str(max_seconds)], start_new_session=True
        )

    def wait_started(self, timeout: float = 10.0) -> None:
        """Block until audio is being written (the WAV grows past its header)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.path.exists() and self.path.stat().st_size > 4096:
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"virtual-audio record exited with {self.proc.returncode}")
            time.sleep(0.02)
        raise AssertionError("virtual-audio record wrote nothing")

    def stop(self) -> tuple[np.ndarray, int]:
        """Stop like Ctrl-C (arecord then finishes the WAV header) and read the recording."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(timeout=10)
        data, rate = soundfile.read(str(self.path), dtype="float32", always_2d=True)
        return to_mono(data), rate


def ask_typed(gui, qtbot, text: str):  # noqa: ANN001, ANN201
    """Type `text` into the window, send it, and return the turn's TurnFinished."""
    from app.bus.events import TurnFinished

    done: list[TurnFinished] = []
    unsubscribe = gui.bus.subscribe(TurnFinished, done.append)
    gui.input.setText(text)
    gui.send_typed()
    qtbot.waitUntil(lambda: bool(done), timeout=60_000)
    unsubscribe()
    return done[0]
