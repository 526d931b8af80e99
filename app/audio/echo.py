"""Echo cancellation: Parley's own voice taken back out of the microphone (WebRTC's AEC3).

AEC3 runs through the `livekit` package's AudioProcessingModule (a manylinux wheel with no
system library to install). It is fed two streams, in 10 ms frames of 16-bit audio:

- the far-end reference: exactly the samples the player hands to the output device, as it
  hands them (`reference`, called from the player's device callback: see Player.tap), and
- the microphone (`process`), which comes back with the echo of that reference removed.

**The alignment rule.** Each reference frame must reach AEC3 before the microphone frame that
holds its echo. A reference tapped in the player's callback leads its echo by the output and
input latencies plus the room's delay (tens of ms), so it is always early; AEC3 finds the
delay itself. A reference that can only come later than its echo (tapped after a buffer the
device drains later, or a second process playing) cannot be cancelled (energy over a whole
reply: 20 ms after its echo, ERLE fell from 40-50 dB to 9-14 dB; 40 ms after, to 4 dB).
For that case `mic_delay_ms` holds the microphone back that long before processing, so a
reference up to that late still comes first; it costs the same delay on every microphone
block.

**Run-time measure.** The canceller measures the echo it removes, ERLE (echo return loss
enhancement: the microphone's energy over the cleaned energy) over the recent frames while
Parley was audible and the microphone heard something, so the caller can fall back to
half-duplex (app/audio/half_duplex.py) where it is too low. With headphones there is no echo
to measure and `erle_db` stays None.

**Half-duplex while it learns.** AEC3 needs seconds of Parley's voice to learn the room: until
then bits of that voice come through loud enough to read as speech (offline rooms:
46 runs in 36 scenes, up to 4.1 s into the first reply; with this, 1 of 0.16 s).
So until `converged` (CONVERGE_FRAMES frames of Parley heard, with the reduction over them at
least MIN_ERLE_DB) `process` turns down (LEARNING_GAIN) every frame in which Parley may be heard, as
the half-duplex gate would; after that it hands over for good (a reduction that falls later is
the caller's fallback, see half_duplex.fallback_reason).

Everything is processed at 16 kHz, the rate speech-to-text and the VAD take: the cleaned
blocks come back at PROCESS_RATE whatever the microphone's rate.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

import numpy as np

from app.audio.resample import StreamResampler

log = logging.getLogger(__name__)

PROCESS_RATE = 16000
FRAME = PROCESS_RATE // 100  # AEC3 takes 10 ms frames, no other size
# While no microphone block comes to drain it, at most this much reference is kept (older is
# dropped: it can no longer meet its echo).
REFERENCE_MAX_SECONDS = 2.0
# ERLE is the median frame's over the last ERLE_WINDOW_FRAMES frames in which Parley was audible
# (reference above FAR_LEVEL within the last ECHO_SPAN_FRAMES: an echo comes up to that long
# after its reference, room included) and the microphone heard something (above NEAR_LEVEL),
# once there are ERLE_MIN_FRAMES of them.
ERLE_WINDOW_FRAMES = 500  # 5 s
ERLE_MIN_FRAMES = 50  # 0.5 s
ECHO_SPAN_FRAMES = 30  # 300 ms
FAR_LEVEL = 1e-3  # RMS, -60 dBFS: quieter than this, Parley is not heard
NEAR_LEVEL = 3e-4  # RMS, -70 dBFS: a microphone this quiet hears no echo (headphones)
FLOOR = 1e-10  # energy of an all-zero frame, so the ratio stays finite
# Below this measured echo reduction (`erle_db`, the median frame's) the canceller lets echo
# through as speech. Measured: 38 dB on the real stack (virtual-audio's room at -6 and 0 dB),
# 53-57 dB in offline rooms; a reference 40 ms after its echo, 6-12 dB, and runs of Parley's
# own voice read as speech.
MIN_ERLE_DB = 20.0
# Frames of Parley heard before the canceller is trusted: a whole ERLE window (5 s of it
# audible in the microphone); the latest run of its voice read as speech came after 391.
CONVERGE_FRAMES = ERLE_WINDOW_FRAMES
# While learning, the output is turned down this far rather than zeroed: after seconds of
# digital silence Silero scores the first faint residue as speech (0.44 where the same
# residue after the quiet it is turned down to scored 0.26).
LEARNING_GAIN = 0.01  # -40 dB


class EchoUnavailable(Exception):
    """The canceller cannot run here (livekit missing or its library does not load)."""


def _apm(noise_suppression: bool) -> tuple[Any, type]:
    try:
        from livekit.rtc import AudioFrame, AudioProcessingModule
    except Exception as exc:  # ImportError, or OSError from its native library
        raise EchoUnavailable(f"WebRTC's echo canceller could not be loaded ({exc})") from exc
    apm = AudioProcessingModule(
        echo_cancellation=True,
        noise_suppression=noise_suppression,
        high_pass_filter=True,  # hum and rumble would read as echo the filter cannot model
        auto_gain_control=False,  # it would move the levels ERLE is measured on
    )
    return apm, AudioFrame


def _int16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16).tobytes()


class EchoCanceller:
    """Feed `reference` (any thread) and `process` (the microphone's thread): see the module."""

    def __init__(
        self,
        mic_rate: int,
        noise_suppression: bool = False,
        mic_delay_ms: int = 0,
        deaf_while_learning: bool = True,
    ) -> None:
        self.mic_rate = mic_rate
        self.deaf_while_learning = deaf_while_learning  # False: the raw output, to measure it
        self.noise_suppression = noise_suppression
        self._apm, self._frame_type = _apm(noise_suppression)
        self._apm.set_stream_delay_ms(0)  # a hint only: AEC3 estimates the delay itself
        self._holdback = max(0, int(mic_delay_ms)) * PROCESS_RATE // 1000
        self._mic_in = StreamResampler(mic_rate, PROCESS_RATE)
        self._ref_in: StreamResampler | None = None
        self._lock = threading.Lock()  # guards _pending_ref, filled by the player's thread
        self._pending_ref: deque[tuple[np.ndarray, int]] = deque()
        self._pending_ref_seconds = 0.0
        self._ref = np.zeros(0, np.float32)  # 16 kHz reference, less than one frame
        self._mic = np.zeros(0, np.float32)  # 16 kHz microphone not processed yet
        self._since_far = ECHO_SPAN_FRAMES + 1  # microphone frames since Parley was audible
        self._erle: deque[tuple[float, float]] = deque(maxlen=ERLE_WINDOW_FRAMES)
        self.frames = 0  # microphone frames processed
        self.measured = 0  # frames in which Parley was heard (ERLE measured), ever
        self.converged = False  # see the module: set once, never cleared
        self._trusted = False  # converged by the numbers; handed over at a quiet frame

    def reference(self, samples: np.ndarray, rate: int) -> None:
        """A block as the player hands it to the device (mono float32, any rate). Cheap:
        it is only queued, so the device's callback never waits on the canceller."""
        block = np.array(samples, dtype=np.float32).reshape(-1)
        with self._lock:
            self._pending_ref.append((block, rate))
            self._pending_ref_seconds += block.size / rate
            while self._pending_ref_seconds > REFERENCE_MAX_SECONDS and self._pending_ref:
                old, old_rate = self._pending_ref.popleft()
                self._pending_ref_seconds -= old.size / old_rate

    def process(self, samples: np.ndarray) -> np.ndarray:
        """A microphone block (mono float32 at mic_rate) -> the cleaned audio processed so far
        (float32 at PROCESS_RATE; whole 10 ms frames, so its length varies by block)."""
        self._mic = np.concatenate([self._mic, self._mic_in.push(samples)])
        self._take_reference()
        ready = (self._mic.size - self._holdback) // FRAME
        if ready <= 0:
            return np.zeros(0, np.float32)
        out = np.empty(ready * FRAME, np.float32)
        for i in range(ready):
            frame = self._mic[i * FRAME : (i + 1) * FRAME]
            out[i * FRAME : (i + 1) * FRAME] = self._cancel(frame)
        self._mic = self._mic[ready * FRAME :]
        return out

    def _take_reference(self) -> None:
        """Hand every whole reference frame queued so far to AEC3 (before any microphone
        frame processed after it: the alignment rule)."""
        with self._lock:
            blocks = list(self._pending_ref)
            self._pending_ref.clear()
            self._pending_ref_seconds = 0.0
        parts = [self._ref]
        for block, rate in blocks:
            if self._ref_in is None or self._ref_in.rate_in != rate:
                self._ref_in = StreamResampler(rate, PROCESS_RATE)
            parts.append(self._ref_in.push(block))
        ref = np.concatenate(parts)
        whole = ref.size // FRAME
        for i in range(whole):
            frame = ref[i * FRAME : (i + 1) * FRAME]
            if float(np.mean(frame * frame)) > FAR_LEVEL**2:
                self._since_far = 0
            far = self._frame_type(_int16(frame), PROCESS_RATE, 1, FRAME)
            self._apm.process_reverse_stream(far)
        self._ref = ref[whole * FRAME :]

    def _cancel(self, frame: np.ndarray) -> np.ndarray:
        audio = self._frame_type(_int16(frame), PROCESS_RATE, 1, FRAME)
        self._apm.process_stream(audio)
        cleaned = np.frombuffer(audio.data, dtype=np.int16).astype(np.float32) / 32768.0
        self.frames += 1
        self._since_far += 1
        near = float(np.mean(frame * frame))
        far = self._since_far <= ECHO_SPAN_FRAMES
        if far and near > NEAR_LEVEL**2:
            self._erle.append((near, float(np.mean(cleaned * cleaned))))
            self.measured += 1
            if not self._trusted and self.measured >= CONVERGE_FRAMES:
                erle = self.erle_db
                self._trusted = erle is not None and erle >= MIN_ERLE_DB
        quiet = float(np.mean(cleaned * cleaned)) <= NEAR_LEVEL**2
        if self._trusted and not self.converged and (quiet or not far):
            # Handed over where the output is quiet: silence followed at once by the
            # residue of a word reads as a speech onset to the VAD (measured: one run).
            self.converged = True
        if far and self.deaf_while_learning and not self.converged:
            return cleaned * LEARNING_GAIN
        return cleaned

    @property
    def learning(self) -> bool:
        """Parley may be heard and the canceller has not converged: `process` hands silence."""
        return self.far_active and not self.converged

    @property
    def far_active(self) -> bool:
        """Parley was audible within the last ECHO_SPAN_FRAMES of microphone processed: its
        echo may be in what `process` returns now (the VAD's OVER_ECHO thresholds apply)."""
        return self._since_far <= ECHO_SPAN_FRAMES

    @property
    def erle_db(self) -> float | None:
        """The echo reduction achieved lately (dB), None until Parley has been heard in the
        microphone for ERLE_MIN_FRAMES frames (never, with headphones)."""
        recent = np.array(self._erle)
        if len(recent) < ERLE_MIN_FRAMES:
            return None
        # The median frame: the user talking over Parley (double talk) passes through, which
        # reads as no reduction. Over the energy sum, 3 s of it took a 38 dB reduction to 5 dB
        # on the real stack; the median stayed at 45 dB with the user over 40 % of the reply.
        # A reference 40 ms late reads 6 dB this way, 20 ms late 31 dB (offline rooms).
        return float(np.median(10.0 * np.log10((recent[:, 0] + FLOOR) / (recent[:, 1] + FLOOR))))
