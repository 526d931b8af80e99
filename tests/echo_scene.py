"""Offline echo scenes for the echo canceller's tests and bench/echo.py: Parley's voice (piper)
played into a synthetic room (a delay, a gain and a short reverberation) and heard again by the
microphone, with a user speaking over it or not. Deterministic, and faster than real time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.audio.echo import EchoCanceller
from app.audio.resample import resample
from app.stt.stream_vad import DEFAULT, Hysteresis, StreamingVad, speech_runs

RATE = 48000  # the devices' rate through PulseAudio: the canceller resamples both streams
BLOCK = RATE // 100  # 10 ms, as the player and the microphone hand them
ROOM_DELAY_MS = 60  # virtual-audio's default
REVERB_SECONDS = 0.25  # a laptop in a small room
REVERB_DECAY = 0.05  # seconds for the tail to fall by 1/e

# Parley's replies: over 20 s of the default voice with the pauses between sentences.
REPLIES = [
    "The weather today is mild, with a light breeze from the west and clouds later on.",
    "I have added the meeting to your calendar for Tuesday at ten, and I will remind you.",
    "Photosynthesis is how plants turn sunlight, water and carbon dioxide into sugar.",
    "Here is a short summary of the article you sent me about the printing press.",
    "It was invented around fourteen fifty, and books soon became cheap enough to own.",
]
# The user, over the reply (the same voice: the canceller cannot tell voices apart anyway).
USER = [
    "Wait, can you tell me what time it is in Tokyo instead?",
    "Hold on, I meant the meeting on Thursday, not Tuesday.",
]
PAUSE_SECONDS = 0.3  # between sentences, as the speaker plays them


def speak(tts, texts: list[str]) -> np.ndarray:  # noqa: ANN001
    """`texts` spoken by piper with pauses, at RATE."""
    parts = []
    for text in texts:
        parts.append(np.concatenate(list(tts.synthesize(text))))
        parts.append(np.zeros(int(PAUSE_SECONDS * tts.sample_rate), np.float32))
    return resample(np.concatenate(parts), tts.sample_rate, RATE)


def room(played: np.ndarray, gain_db: float, seed: int = 1) -> np.ndarray:
    """What the microphone hears of `played`: ROOM_DELAY_MS late, `gain_db` louder, with a
    reverberation tail (unit energy, so the gain is the echo's level), and a faint hiss."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(REVERB_SECONDS * RATE)) / RATE
    response = rng.standard_normal(t.size) * np.exp(-t / REVERB_DECAY) * 0.3
    response[0] = 1.0
    response /= np.sqrt(np.sum(response**2))
    wet = np.convolve(played, response)[: played.size] * 10 ** (gain_db / 20)
    delay = ROOM_DELAY_MS * RATE // 1000
    echo = np.concatenate([np.zeros(delay), wet[: played.size - delay]])
    return (echo + rng.standard_normal(played.size) * 1e-4).astype(np.float32)


@dataclass
class Cleaned:
    audio: np.ndarray  # 16 kHz
    erle_db: float | None
    cpu_per_frame: float  # seconds of the canceller per 10 ms of microphone


def cancel(
    played: np.ndarray, mic: np.ndarray, canceller: EchoCanceller, late_ms: int = 0
) -> Cleaned:
    """Block by block as the two threads would: the player hands block i to the device (and
    the canceller) as the microphone delivers block i; `late_ms` hands the reference later."""
    import time

    late = late_ms * RATE // 1000
    out = []
    cpu = 0.0
    for start in range(0, mic.size - BLOCK + 1, BLOCK):
        began = time.thread_time()
        if start - late >= 0:
            canceller.reference(played[start - late : start - late + BLOCK], RATE)
        out.append(canceller.process(mic[start : start + BLOCK]))
        cpu += time.thread_time() - began
    return Cleaned(np.concatenate(out), canceller.erle_db, cpu / max(1, canceller.frames))


def long_runs(audio16k: np.ndarray, h: Hysteresis = DEFAULT) -> list[tuple[float, float]]:
    """(start, seconds) of every speech run the streaming VAD finds that is long enough to
    count as speech (h.min_speech_seconds)."""
    probabilities = StreamingVad(h).feed(audio16k).probabilities
    return [r for r in speech_runs(probabilities, h) if r[1] >= h.min_speech_seconds - 1e-9]


def detections(audio16k: np.ndarray, h: Hysteresis = DEFAULT) -> list[float]:
    """When the streaming VAD reported speech starting (seconds), as it was reported: the
    run's start plus the h.min_speech_seconds it had to last."""
    step = StreamingVad(h).feed(audio16k)
    return [e.at + h.min_speech_seconds for e in step.events if e.kind == "start"]


def onset(samples: np.ndarray, rate: int = RATE, level: float = 0.02) -> float:
    """Seconds to the first loud sample (a voice's onset, past piper's quiet opening)."""
    return float(np.flatnonzero(np.abs(samples) > level)[0]) / rate
