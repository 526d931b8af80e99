"""Transcribe while the key is still held, so that at release only the tail is left.

Whenever the speaker pauses (the last 300 ms are quiet after some speech), the audio since the
previous cut is transcribed on the STT worker in the background and the cut moves to that
pause. Cutting only at pauses never splits a word. At release, when nothing was said after the
last pause, the transcript is ready at once; otherwise a short utterance is decoded whole
again (fragments are heard worse) and a long one only from the last cut.
A person usually lets go of the key a few hundred milliseconds after the last word, so the
last pause is often the end of the question and nothing is left to do.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np

from app.audio.capture import STT_RATE, Recorder
from app.pipeline.worker import Worker

log = logging.getLogger(__name__)

PAUSE_SECONDS = 0.3
MIN_SPEECH_RMS = 0.01  # quieter than this is background, not a voice
PAUSE_RATIO = 0.12  # a pause is this much quieter than the loudest speech since the cut
POLL_SECONDS = 0.05
WHOLE_AGAIN_SECONDS = 12.0  # up to this long, speech after the last pause means decode it all


class LiveTranscriber:
    def __init__(self, stt: Any, worker: Worker, recorder: Recorder) -> None:
        self.stt = stt
        self.worker = worker
        self.recorder = recorder
        self.text = ""  # transcript of the audio before `cut`
        self.cut = 0  # in 16 kHz samples
        self.partials = 0
        self._cut_block = 0  # the same cut, as an index into the recorder's blocks
        self._job: asyncio.Future[str] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            if self._job is not None and not self._job.done():
                continue
            if self._job is not None:
                await self._take(self._job)
            pause_at = self._pause()
            if pause_at is not None:
                self._start_partial(pause_at)

    def _pause(self) -> int | None:
        """Block index just after a pause that follows speech since the cut, else None."""
        levels = self.recorder.block_levels()[self._cut_block :]
        if not levels:
            return None
        rate = self.recorder.rate or STT_RATE
        quiet, frames = 0, 0
        for n, _ in reversed(levels):
            if frames >= PAUSE_SECONDS * rate:
                break
            frames += n
            quiet += 1
        if frames < PAUSE_SECONDS * rate or quiet >= len(levels):
            return None
        peak = max(r for _, r in levels[:-quiet])
        tail = max(r for _, r in levels[-quiet:])
        if peak < MIN_SPEECH_RMS or tail > PAUSE_RATIO * peak:
            return None
        return len(levels) + self._cut_block

    def _start_partial(self, block: int) -> None:
        audio = self.recorder.snapshot()
        start = self.cut
        self.cut = len(audio)
        self._cut_block = block
        self._job = asyncio.wrap_future(self.worker.submit(self.stt.transcribe, audio[start:]))

    async def _take(self, job: asyncio.Future[str]) -> None:
        self._job = None
        try:
            piece = await job
        except Exception:  # the final pass at release will transcribe this audio again
            log.exception("live transcription failed")
            self.text, self.cut, self._cut_block = "", 0, 0
            return
        self.partials += 1
        self.text = f"{self.text} {piece}".strip()

    async def finish(self, audio: np.ndarray) -> str:
        """The transcript of all of `audio` (the whole recording, 16 kHz)."""
        if self._task is not None:
            self._task.cancel()
        if self._job is not None:
            await self._take(self._job)
        tail = audio[self.cut :]
        levels = [r for _, r in self.recorder.block_levels()]
        loudest = max(levels, default=0.0)
        if tail.size == 0 or not _has_speech(tail, max(MIN_SPEECH_RMS / 2, PAUSE_RATIO * loudest)):
            return self.text
        if audio.size <= WHOLE_AGAIN_SECONDS * STT_RATE:
            # Speech went on after the last pause. Whisper hears a fragment worse than the
            # whole sentence, so a short utterance is decoded whole again, and the live pass
            # only pays off when the speaker paused at the end (the usual case).
            return await self.worker.run(self.stt.transcribe, audio)
        rest = await self.worker.run(self.stt.transcribe, tail)
        return f"{self.text} {rest}".strip()

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()


def _has_speech(audio: np.ndarray, threshold: float) -> bool:
    frame = STT_RATE // 50
    usable = audio[: audio.size - audio.size % frame]
    if usable.size == 0:
        return False
    rms = np.sqrt(np.mean(usable.reshape(-1, frame) ** 2, axis=1))
    return bool(rms.max() >= threshold)
