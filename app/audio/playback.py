"""Reply playback: one output stream at the device's native rate, fed chunk by chunk.

The stream is open while a turn runs and for a few seconds after (the session opens it when a
turn begins and closes it once idle; see SPEAKER_IDLE_SECONDS), so the first reply sample
plays within one block of being queued. `stop()` empties the queue, so the next block the
device pulls is silence: with 10 ms blocks that is a barge-in within a few tens of
milliseconds. The player counts how many samples of each sentence were really played, so an
interrupted reply keeps only what the user heard. A reply's first sound starts at its voice's
onset: the quiet a voice puts before it (piper: 30-64 ms per sentence) is skipped there, and
only there (between sentences it is part of the pause).

A speaker can go away at any moment (the sound server stops, a headset is unplugged): the
stream then stops on its own, or stops asking for audio. `trouble()` tells (the session looks a
few times a second while the speaker is open) and `lose()` lets it go without waiting for it.
It is opened on a thread of its own (app/audio/opening.py): audio queued meanwhile plays once
it is open, and one that does not open in OPEN_TIMEOUT_SECONDS is said not to answer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.audio.backend import (
    SPEAKER_LOST,
    STALL_SECONDS,
    AudioBackend,
    AudioUnavailable,
    DeviceInfo,
    Stream,
    close_quietly,
    let_go,
    open_native_stream,
    start_or_close,
)
from app.audio.opening import Attempt, not_answering
from app.audio.resample import resample

log = logging.getLogger(__name__)

# 10 ms blocks: PortAudio then buffers 20 ms ahead instead of 40 ms (measured through the
# PulseAudio ALSA plugin), which the user hears as 20 ms less delay, and barge-in silences
# the speaker within 10 ms. 100 callbacks a second cost nothing measurable.
BLOCK_SECONDS = 0.01

# What counts as the voice's onset at the start of a reply: piper's quiet before it stays under
# 0.003 (RMS about 0.0003, -70 dBFS). A little of that quiet is kept so the attack stays whole.
ONSET_LEVEL = 0.003
ONSET_MARGIN_SECONDS = 0.005
MAX_SKIP_SECONDS = 0.25  # a longer quiet opening is left alone: it was meant
OPEN_WAIT_SECONDS = 0.1  # how long the window's thread waits for an open (see ensure_open)
# Long past its first 2 s, an open speaker that has not asked for a block this long is hung.
ABSENT_SECONDS = 0.5


def skip_leading_quiet(samples: np.ndarray, rate: int) -> np.ndarray:
    """`samples` from just before the first sound (all of them if the opening has none)."""
    head = np.abs(samples[: int(MAX_SKIP_SECONDS * rate)])
    loud = np.flatnonzero(head > ONSET_LEVEL)
    if loud.size == 0:
        return samples
    return samples[max(0, int(loud[0]) - int(ONSET_MARGIN_SECONDS * rate)) :]


@dataclass
class _Chunk:
    turn_id: int
    index: int
    samples: np.ndarray
    pos: int = 0


class Player:
    def __init__(
        self,
        backend: AudioBackend,
        device: str | int | None = None,
        on_started: Callable[[int], None] | None = None,
        on_finished: Callable[[int], None] | None = None,
    ) -> None:
        self.backend = backend
        self.device_spec = device
        self.device: DeviceInfo | None = None
        self.rate = 0
        self.on_started = on_started
        self.on_finished = on_finished
        # Called from the device's callback with every block exactly as it is handed to the
        # device (mono, at `rate`), silence included: the echo canceller's far-end reference
        # (app/audio/echo.py), which must never arrive later than its echo. It must not block.
        self.tap: Callable[[np.ndarray, int], None] | None = None
        self._queue: deque[_Chunk] = deque()
        self._cues: list[_Chunk] = []  # interface sounds playing (turn 0), mixed over the queue
        self._lock = threading.Lock()
        self._opening = threading.Lock()  # guards _attempt: one open at a time
        self._attempt: Attempt[Stream] | None = None  # the open under way, if any
        self._stream: Stream | None = None
        self._started: set[int] = set()
        self._finishing: set[int] = set()
        self._speaking = 0  # the reply turn whose audio is queued or awaited (0: none)
        self._paused = False  # the queue waits where it is (hands-free: the user may be talking)
        self._pulled = 0.0  # when the device last asked for a block (monotonic)
        # turn -> sentence index -> [queued samples, played samples]
        self._progress: dict[int, dict[int, list[int]]] = {}

    def open(self) -> None:
        """Open the speaker, waiting as long as that takes (raises AudioUnavailable with a
        user-facing message). The window's thread uses ensure_open, which waits a moment."""
        problem = self.ensure_open(wait=None)
        if problem:
            raise AudioUnavailable(problem)

    def _begin(self) -> Attempt[Stream]:
        """Start opening the speaker on a thread of its own (app/audio/opening.py); it plays
        as soon as it is open. Call with `_opening` held."""
        attempt: Attempt[Stream] | None = None

        def job() -> Stream | None:
            device = self.backend.resolve(self.device_spec, "output")
            stream = open_native_stream(
                self.backend, "output", device, self._callback, BLOCK_SECONDS
            )
            self._pulled = time.monotonic()
            start_or_close(stream, SPEAKER_LOST)
            with self._opening:
                if self._attempt is not attempt:
                    return stream  # closed meanwhile: abandon() lets it go
                self.device, self.rate = device, device.default_samplerate
                self._stream, self._attempt = stream, None
            return None

        attempt = Attempt(job, "speaker-open")
        return attempt

    def close(self) -> None:
        with self._opening:
            attempt, self._attempt = self._attempt, None
        if attempt is not None:
            attempt.abandon(let_go)
        stream, self._stream = self._stream, None
        if stream is not None and self._trouble_of(stream, ABSENT_SECONDS):
            let_go(stream)  # a hung server would hold the caller up
        elif stream is not None:
            close_quietly(stream, drain=True)

    def trouble(self) -> str:
        """Why the speaker does not play ('' while it does, or while it is closed): the open
        stream stopped or hangs, the open failed, or it has not opened after
        OPEN_TIMEOUT_SECONDS (said once; it may still open, and is then used)."""
        stream = self._stream
        if stream is not None:
            return self._trouble_of(stream, STALL_SECONDS)
        attempt = self._attempt
        if attempt is None or attempt.reported:
            return ""
        if attempt.done:  # failed: one that works installs its stream first
            with self._opening:
                if self._attempt is attempt:
                    self._attempt = None
            return attempt.error or SPEAKER_LOST
        if attempt.overdue():
            attempt.reported = True
            return not_answering("speaker")
        return ""

    def _trouble_of(self, stream: Stream, stall: float) -> str:
        if not stream.active or time.monotonic() - self._pulled > stall:
            return SPEAKER_LOST
        return ""

    def lose(self) -> None:
        """The speaker went away: drop what was queued and the stream, without waiting for
        it (nothing more will be heard; a turn's heard() keeps what was). An open still under
        way goes on: the speaker is used again if it opens."""
        with self._lock:
            stream, self._stream = self._stream, None
            self._queue.clear()
            self._cues.clear()
            self._finishing.clear()
            self._speaking = 0
        if stream is not None:
            let_go(stream)

    def close_if_idle(self) -> bool:
        """Close the speaker if nothing is queued or playing (call on the thread that
        enqueues, so no chunk can arrive meanwhile, and between turns: within one, the queue
        can be empty while the next sentence is synthesised); whether it is closed now."""
        with self._lock:
            busy = bool(self._queue or self._cues)
            stream = None if busy else self._stream
            if stream is not None:
                self._stream = None
        if stream is not None and self._trouble_of(stream, ABSENT_SECONDS):
            let_go(stream)  # a hung server would hold the caller up
        elif stream is not None:
            close_quietly(stream)  # nothing is left to play: no need to wait for the buffers
        return self._stream is None

    def ensure_open(self, wait: float | None = 0.0) -> str:
        """Open the speaker if it is closed (the session does when a turn begins, and to see
        whether a lost speaker is back; audio that arrives while it is closed does too): ''
        once open or while opening (`opening`), else why not, for the user. The open runs on
        a thread of its own and is waited for `wait` seconds at most (None: until done): it
        takes 3-100 ms, and against a sound server that hangs one took 30 s here."""
        if self._stream is not None:
            return ""
        with self._opening:
            attempt = self._attempt
            if attempt is None or attempt.done:
                attempt = self._attempt = self._begin()
        if attempt.reported:  # still stuck since it was said: don't pile up another
            return not_answering("speaker")
        attempt.wait(wait)
        if self._stream is not None or not attempt.done:
            return ""
        with self._opening:
            if self._attempt is attempt:
                self._attempt = None
        return attempt.error or SPEAKER_LOST

    @property
    def opening(self) -> bool:
        """An open is under way (see ensure_open)."""
        attempt = self._attempt
        return attempt is not None and not attempt.done

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    def enqueue(self, turn_id: int, index: int, samples: np.ndarray, rate: int) -> None:
        problem = self.ensure_open()  # opened as its turn began: this only looks
        if problem or not self.rate:
            log.warning("reply audio dropped: %s", problem or "the speaker never opened")
            return  # finish() still reports the turn done, with nothing heard
        data = resample(samples, rate, self.rate)
        if turn_id and turn_id not in self._progress:
            # The reply's first sound: its quiet opening would be heard as that much more wait
            # (the bus drops chunks of a cancelled turn, so a turn's first chunk comes first).
            data = skip_leading_quiet(data, self.rate)
        with self._lock:
            self._queue.append(_Chunk(turn_id, index, data))
            if turn_id and turn_id != self._speaking:
                self._speaking = turn_id
                # Only the reply being spoken can still be interrupted: forget older ones.
                for old in [t for t in self._progress if t not in (0, turn_id)]:
                    del self._progress[old]
            per_turn = self._progress.setdefault(turn_id, {})
            per_turn.setdefault(index, [0, 0])[0] += len(data)

    def play_cue(self, samples: np.ndarray, rate: int) -> None:
        """A short interface sound, mixed over whatever plays: the chime at the key's release
        must not hold the reply back for its 0.18 s (queued, it did). Not part of any turn."""
        if not self.ensure_open() and self.rate:  # played once open, if it is opening
            data = resample(samples, rate, self.rate)
            with self._lock:
                self._cues.append(_Chunk(0, 0, data))

    def finish(self, turn_id: int) -> None:
        """No more audio will come for `turn_id`; report on_finished once it has played."""
        with self._lock:
            self._finishing.add(turn_id)
            pending = any(c.turn_id == turn_id for c in self._queue)
        if not pending:
            self._finished(turn_id)

    def stop(self) -> dict[int, float]:
        """Silence now; returns, for the interrupted reply, sentence index -> fraction played.

        That reply may have nothing queued at this moment (its next sentence is still being
        synthesised) and still have been heard in part. Interface sounds (turn 0) don't count.
        """
        with self._lock:
            turns = {c.turn_id for c in self._queue} | {self._speaking}
            turns.discard(0)
            self._speaking = 0
            self._paused = False  # the next reply plays: a paused one was ended by this
            self._queue.clear()
            self._finishing.clear()
            heard = {
                idx: (played / queued if queued else 0.0)
                for t in turns
                for idx, (queued, played) in self._progress.get(t, {}).items()
            }
        return heard

    def pause(self) -> None:
        """Hold the reply where it is: the next block the device pulls is silence (within
        10 ms), and nothing of the queue is counted as heard until `resume`. Interface sounds
        still play."""
        with self._lock:
            self._paused = True

    def resume(self) -> None:
        """Go on from the sample where `pause` held it."""
        with self._lock:
            self._paused = False

    @property
    def paused(self) -> bool:
        return self._paused

    def heard(self, turn_id: int) -> dict[int, float]:
        with self._lock:
            return {
                idx: (played / queued if queued else 0.0)
                for idx, (queued, played) in self._progress.get(turn_id, {}).items()
            }

    def _finished(self, turn_id: int) -> None:
        with self._lock:
            self._finishing.discard(turn_id)
            if self._speaking == turn_id:
                self._speaking = 0
        if self.on_finished:
            self.on_finished(turn_id)

    def _callback(self, out: np.ndarray) -> None:
        self._pulled = time.monotonic()
        out.fill(0.0)
        frames = out.shape[0]
        filled = 0
        started: list[int] = []
        done: list[int] = []
        with self._lock:
            while filled < frames and self._queue and not self._paused:
                chunk = self._queue[0]
                if chunk.turn_id not in self._started:
                    self._started.add(chunk.turn_id)
                    started.append(chunk.turn_id)
                take = min(frames - filled, len(chunk.samples) - chunk.pos)
                out[filled : filled + take, 0] = chunk.samples[chunk.pos : chunk.pos + take]
                chunk.pos += take
                filled += take
                self._progress[chunk.turn_id][chunk.index][1] += take
                if chunk.pos >= len(chunk.samples):
                    self._queue.popleft()
                    if chunk.turn_id in self._finishing and not any(
                        c.turn_id == chunk.turn_id for c in self._queue
                    ):
                        done.append(chunk.turn_id)
            if self._cues:
                for cue in self._cues:
                    take = min(frames, len(cue.samples) - cue.pos)
                    out[:take, 0] += cue.samples[cue.pos : cue.pos + take]
                    cue.pos += take
                np.clip(out[:, 0], -1.0, 1.0, out=out[:, 0])
                self._cues = [c for c in self._cues if c.pos < len(c.samples)]
        if out.shape[1] > 1:
            out[:, 1:] = out[:, :1]
        tap = self.tap
        if tap is not None and self.rate:  # the first blocks, before the open returns: silence
            tap(out[:, 0], self.rate)
        # Callbacks only post to the loop (call_soon_threadsafe); they never block this thread.
        for t in started:
            if self.on_started:
                self.on_started(t)
        for t in done:
            self._finished(t)
