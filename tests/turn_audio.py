"""Spoken test material for end of turn and barge-in: sentences said by piper (Parley's
default voice) and espeak-ng, trimmed to the speech so pauses are exactly as long as written,
and synthetic coughs and noise. All 16 kHz mono float32."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.audio.resample import resample
from tests.realtools import espeak, load_16k

RATE = 16000

# A thinking pause mid-sentence: (before the pause, after it). The turn must not end there.
UNFINISHED = [
    ("Could you remind me to call", "my sister at six tonight"),
    ("I need to buy some", "milk and bread on the way home"),
    ("What is the weather going to be like in", "Paris this weekend"),
    ("Please set a timer for", "twenty minutes"),
    ("Can you tell me how to", "make a simple tomato sauce"),
    ("I was wondering whether", "the library is open on Sunday"),
    ("Send an email to", "my manager about the meeting"),
    ("How many kilometres is it from", "Berlin to Munich"),
    ("My favourite kind of music is", "jazz from the fifties"),
    ("Add eggs and", "butter to my shopping list"),
    ("Translate the word", "window into Spanish"),
    ("I think the best way to get there is", "by train"),
    ("Turn the volume down a little because", "the baby is asleep"),
    ("Explain the difference between", "a virus and a bacterium"),
    ("Tomorrow morning I have to", "drive to the airport early"),
    ("Write a short poem about", "the sea at night"),
    ("The meeting with the", "design team moved to Thursday"),
    ("So what I really want is", "a vegetarian recipe with lentils"),
]

# Finished turns: the turn must end soon after the last word.
FINISHED = [
    "What day is it today?",
    "Set an alarm for seven.",
    "How tall is Mount Everest?",
    "Tell me a joke.",
    "Who wrote Pride and Prejudice?",
    "Thanks, that's all for now.",
    "What's the capital of Canada?",
    "Play some relaxing music.",
    "How do I boil an egg?",
    "Is it going to rain tomorrow?",
    "Turn off the lights in the kitchen.",
    "What is twelve times nine?",
    "Can you spell necessary?",
    "Remind me to water the plants.",
    "Good morning!",
    "How far away is the moon?",
    "Yes, please do that.",
    "What time does the sun set tonight?",
]


def trim(audio: np.ndarray, threshold: float = 0.01, keep_s: float = 0.03) -> np.ndarray:
    """`audio` from just before its first loud sample to just after its last."""
    loud = np.flatnonzero(np.abs(audio) > threshold * max(1e-6, float(np.abs(audio).max())))
    if not loud.size:
        return audio[:0]
    keep = int(keep_s * RATE)
    return audio[max(0, loud[0] - keep) : loud[-1] + keep]


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


def normalise(audio: np.ndarray, peak: float = 0.5) -> np.ndarray:
    top = float(np.abs(audio).max()) if audio.size else 0.0
    return (audio * (peak / top)).astype(np.float32) if top else audio


class Voices:
    """say(voice, text) -> trimmed speech; voices are "piper" (the default Parley voice, so
    a real neural voice) and "espeak"; results are cached, as the tests say a phrase often."""

    def __init__(self, whisper: object, tts: object) -> None:
        self._tts = tts  # the session's piper (conftest's real_models): loaded once
        self._whisper = whisper  # a faster_whisper.WhisperModel: finds the word boundaries
        self._dir = Path(tempfile.mkdtemp(prefix="turn-audio-"))
        self._cache: dict[tuple[str, str], np.ndarray] = {}
        self.voices: dict[str, Callable[[str], np.ndarray]] = {
            "piper": self._piper,
            "espeak": self._espeak,
        }

    def say(self, voice: str, text: str) -> np.ndarray:
        key = (voice, text)
        if key not in self._cache:
            self._cache[key] = normalise(trim(self.voices[voice](text)))
        return self._cache[key]

    def paused(self, voice: str, before: str, after: str) -> tuple[np.ndarray, np.ndarray]:
        """The sentence said in one go with a comma where `after` begins, cut at the voice's
        pause there: the pitch of a sentence that goes on. A fragment said on its own ends
        like a finished sentence, and a cut inside fluent speech ends abruptly (whisper's
        word times are 50 ms off); neither is a thinking pause."""
        audio = self.say(voice, f"{before}, {after}")
        share = len(before) / (len(before) + len(after))
        start, end = gap_near(audio, share)
        return audio[:start], audio[end:]

    def _piper(self, text: str) -> np.ndarray:
        audio = np.concatenate(list(self._tts.synthesize(text)))
        return resample(audio, self._tts.sample_rate, RATE)

    def _espeak(self, text: str) -> np.ndarray:
        path = espeak(text, self._dir / f"{len(self._cache)}.wav", RATE, 1)
        return load_16k(path)


def gap_near(audio: np.ndarray, share: float, min_s: float = 0.04) -> tuple[int, int]:
    """(start, end) samples of the quiet stretch of at least `min_s` nearest to `share` of
    the way through `audio`."""
    frame = RATE // 100
    energy = np.sqrt(np.mean(np.square(audio[: audio.size // frame * frame]).reshape(-1, frame), 1))
    quiet = energy < 0.02 * float(energy.max())
    runs, i = [], 0
    while i < quiet.size:
        if quiet[i]:
            j = i
            while j < quiet.size and quiet[j]:
                j += 1
            if (j - i) * frame >= min_s * RATE and i > 0 and j < quiet.size:
                runs.append((i, j))
            i = j
        else:
            i += 1
    if not runs:
        raise AssertionError("the voice made no pause at the break")
    want = share * quiet.size
    i, j = min(runs, key=lambda r: abs((r[0] + r[1]) / 2 - want))
    return i * frame, j * frame


def cough(seed: int, seconds: float = 0.35) -> np.ndarray:
    """A cough-like burst: noise shaped by a fast attack and decay, band-limited to the
    300-3000 Hz of a throat, sometimes two bursts in a row (seeded: repeatable)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    noise = rng.standard_normal(n)
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    low, high = 250 + 150 * rng.random(), 2000 + 1500 * rng.random()
    spectrum[(freqs < low) | (freqs > high)] = 0
    shaped = np.fft.irfft(spectrum, n)
    t = np.arange(n) / RATE
    envelope = (1 - np.exp(-t / 0.01)) * np.exp(-t / (0.05 + 0.06 * rng.random()))
    burst = shaped * envelope
    if seed % 2:  # a double cough
        burst = np.concatenate([burst, silence(0.12), 0.7 * burst])
    return normalise(burst.astype(np.float32), 0.3 + 0.4 * rng.random())


def noise(seed: int, seconds: float = 0.6) -> np.ndarray:
    """Room noise: a chair, a door, keys: a band of filtered noise with a slow swell."""
    rng = np.random.default_rng(1000 + seed)
    n = int(seconds * RATE)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    centre = 200 + 4000 * rng.random()
    spectrum *= np.exp(-(((freqs - centre) / (300 + 1500 * rng.random())) ** 2))
    shaped = np.fft.irfft(spectrum, n)
    envelope = np.sin(np.pi * np.arange(n) / n) ** 2
    return normalise((shaped * envelope).astype(np.float32), 0.2 + 0.5 * rng.random())


def hum(seed: int) -> np.ndarray:
    """A closed-mouth "mhm": two voiced hums, the second higher (a voice can only spell it:
    piper's "Mhm." came back from whisper as "and may Chen")."""
    rng = np.random.default_rng(2000 + seed)
    f0 = 100 + 120 * rng.random()
    parts = []
    for pitch, seconds in ((f0, 0.18 + 0.1 * rng.random()), (f0 * 1.25, 0.25 + 0.1 * rng.random())):
        t = np.arange(int(seconds * RATE)) / RATE
        tone = sum(np.sin(2 * np.pi * pitch * k * t) / k**1.5 for k in range(1, 12))
        fade = np.minimum(1, np.minimum(t, t[-1] - t) / 0.03)
        parts += [tone * fade, silence(0.06)]
    return normalise(np.concatenate(parts).astype(np.float32), 0.4)
