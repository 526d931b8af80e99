"""Half-duplex: where echo cannot be cancelled, the microphone ignores speech while Parley is
heard.

The window is set by what the player hands to the device, not by synthesis: it opens at the
first sample played and closes TAIL_SECONDS after the last one (Home Assistant voice-pe #563,
#621: muting until synthesis ended cut the user off, or let the last words echo back). The
tail covers the output latency, the room's reverberation and the microphone's latency. Feed
it the same blocks as the echo canceller's reference (Player.tap).

`fallback_reason` says when to use it: no canceller, or one whose measured echo reduction is
below MIN_ERLE_DB.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from app.audio.echo import MIN_ERLE_DB, EchoCanceller

# After the last sample handed to the device, the echo still comes for the output latency
# (20-40 ms through PulseAudio), the room's reverberation (up to 250 ms in a laptop's room)
# and the microphone's block: 0.3 s covers them.
TAIL_SECONDS = 0.3
# A block with no sample above this is silence (the player hands zeros when it has nothing;
# piper's own quiet stays under 0.003, see Player's ONSET_LEVEL).
SOUND_LEVEL = 0.001

NO_CANCELLER = (
    "Echo cancellation is not available, so Parley does not listen while it speaks: "
    "to interrupt, use the talk key (or wear headphones)."
)
LOW_REDUCTION = (
    "Echo cancellation is not removing enough of Parley's own voice here ({db:.0f} dB), so "
    "Parley does not listen while it speaks: to interrupt, use the talk key."
)


def fallback_reason(canceller: EchoCanceller | None) -> str:
    """Why the microphone must be half-duplex now, for the user ('' when the canceller is
    there and its measured reduction is enough, or not measured yet)."""
    if canceller is None:
        return NO_CANCELLER
    erle = canceller.erle_db
    if erle is not None and erle < MIN_ERLE_DB:
        return LOW_REDUCTION.format(db=erle)
    return ""


class HalfDuplexGate:
    """`played` from the player's callback thread, `deaf` / `gate` from the microphone's."""

    def __init__(
        self, tail_seconds: float = TAIL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.tail_seconds = tail_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._first: float | None = None  # when the current stretch of sound began
        self._last_end = float("-inf")  # when the last audible block finishes playing

    def played(self, samples: np.ndarray, rate: int) -> None:
        """A block handed to the device now (as Player.tap gives it)."""
        if samples.size == 0 or float(np.max(np.abs(samples))) <= SOUND_LEVEL:
            return
        now = self._clock()
        with self._lock:
            if self._first is None or now > self._last_end + self.tail_seconds:
                self._first = now
            self._last_end = max(self._last_end, now + samples.size / rate)

    def window(self) -> tuple[float, float] | None:
        """(start, end) of the latest stretch the microphone is deaf for, None before any."""
        with self._lock:
            if self._first is None:
                return None
            return self._first, self._last_end + self.tail_seconds

    def deaf(self, at: float | None = None) -> bool:
        """Whether speech heard at `at` (default now) is to be ignored."""
        span = self.window()
        when = self._clock() if at is None else at
        return span is not None and span[0] <= when <= span[1]

    def gate(self, samples: np.ndarray) -> np.ndarray:
        """`samples` as the VAD should hear them now: silence while deaf."""
        return np.zeros_like(samples) if self.deaf() else samples
