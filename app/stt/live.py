"""Transcribe while the key is still held, so that at release only the tail is left.

Whenever the speaker pauses (the last 120 ms are quiet after some speech), the utterance so
far is transcribed on the STT worker in the background and the cut moves to that pause: the
whole of it while it is short (up to 12 s; whisper hears a fragment worse than the sentence it
belongs to), else only the audio since the previous cut (cutting only at pauses never splits a
word). At release, when nothing was said after the last pause, the transcript is ready at once;
otherwise a short utterance is decoded whole again and a long one only from the last cut.
`on_partial` hears each transcript of the utterance so far (the turn manager starts the reply
speculatively on it), `on_resumed` hears that speech went on after it.
A person usually lets go of the key a few hundred milliseconds after the last word, so the
last pause is often the end of the question and nothing is left to do.

Whisper sometimes drops a whole sentence from an utterance it hears whole ("A ticket costs
twelve dollars. How much do five tickets cost?" came back as "$2.5"), and a reply started on
that answers another question. So a whole pass must begin with what the last pass that ended
at the end of a sentence (a pause of SENTENCE_PAUSE_SECONDS or more) heard, and add to it; one
that does not is replaced by that earlier transcript and the audio since, decoded on its own.
(A pass cut at a short pause inside a sentence heard a fragment, often wrongly: no measure.)
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from difflib import SequenceMatcher
from typing import Any

import numpy as np

from app.audio.capture import STT_RATE, Recorder
from app.bus.worker import Worker

log = logging.getLogger(__name__)

PAUSE_SECONDS = 0.12
MIN_SPEECH_RMS = 0.01  # quieter than this is background, not a voice
PAUSE_RATIO = 0.12  # a pause is this much quieter than the loudest speech since the cut
POLL_SECONDS = 0.02  # how often the watcher looks for a pause (a cheap look at block levels)
WHOLE_AGAIN_SECONDS = 12.0  # up to this long, an utterance is always decoded whole
# A whole pass keeps an earlier one when this share of the earlier one's letters is found, in
# order, near where they were (half: whisper rewrites words, "twelve dollars" -> "$12").
KEEP_SHARE = 0.5
SENTENCE_PAUSE_SECONDS = 0.25  # a pause this long ends a sentence; shorter ones are inside one


class LiveTranscriber:
    def __init__(
        self,
        stt: Any,
        worker: Worker,
        recorder: Recorder,
        on_partial: Callable[[str], None] | None = None,
        on_resumed: Callable[[], None] | None = None,
    ) -> None:
        self.stt = stt
        self.worker = worker
        self.recorder = recorder
        self.on_partial = on_partial
        self.on_resumed = on_resumed
        self._told_resumed = True  # nothing to tell before the first partial
        self.text = ""  # transcript of the audio before `cut`
        self.cut = 0  # in 16 kHz samples
        self.partials = 0
        self._cut_block = 0  # the same cut, as an index into the recorder's blocks
        self._job: asyncio.Future[str] | None = None
        self._job_is_whole = False
        self._job_audio = np.zeros(0, np.float32)  # what the pass under way was cut from
        # The transcript of the utterance up to the last sentence's end, and that end (samples).
        self._sentences: tuple[str, int] = ("", 0)
        self._task: asyncio.Task[None] | None = None
        # A pass's result being taken in: it may decode once more (_whole), and is waited for,
        # never cut short, when the key goes up.
        self._taking: asyncio.Task[None] | None = None
        self._cancelled = False

    @property
    def decoding(self) -> bool:
        """A pass over the words so far is under way (its text is not in `text` yet)."""
        return self._job is not None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            if self._job is not None and not self._job.done():
                continue
            if self._job is not None:
                self._taking = asyncio.ensure_future(self._take(self._job))
                await asyncio.shield(self._taking)
            if not self._told_resumed and self._speech_after_cut():
                self._told_resumed = True
                if self.on_resumed is not None:
                    self.on_resumed()
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

    def _speech_after_cut(self) -> bool:
        levels = self.recorder.block_levels()
        loudest = max((r for _, r in levels), default=0.0)
        after = [r for _, r in levels[self._cut_block :]]
        return bool(after) and max(after) >= max(MIN_SPEECH_RMS, PAUSE_RATIO * loudest)

    def _start_partial(self, block: int) -> None:
        audio = self.recorder.snapshot()
        whole = len(audio) <= WHOLE_AGAIN_SECONDS * STT_RATE
        start = 0 if whole else self.cut
        self._note_sentences()
        self._job_audio = audio
        self.cut = len(audio)
        self._cut_block = block
        self._job_is_whole = whole
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
        if self._job_is_whole:
            earlier, end = self._sentences
            self.text = await self._whole(earlier, piece.strip(), self._job_audio[end:])
        else:
            self.text = f"{self.text} {piece}".strip()
        if self._speech_after_cut():
            # The speaker went on while this was decoded: it is not the whole question, and a
            # reply started on it would only take the CPU from the next pass.
            self._told_resumed = True
            return
        self._told_resumed = False
        if self.on_partial is not None and self.text and not self._cancelled:
            self.on_partial(self.text)

    async def finish(self, audio: np.ndarray) -> str:
        """The transcript of all of `audio` (the whole recording, 16 kHz)."""
        if self._task is not None:
            self._task.cancel()
        if self._taking is not None:
            await self._taking
        if self._job is not None:
            await self._take(self._job)
        tail = audio[self.cut :]
        levels = [r for _, r in self.recorder.block_levels()]
        loudest = max(levels, default=0.0)
        if tail.size == 0 or not _has_speech(tail, max(MIN_SPEECH_RMS / 2, PAUSE_RATIO * loudest)):
            return self.text
        if audio.size <= WHOLE_AGAIN_SECONDS * STT_RATE:
            # Speech went on after the last pause: the live pass only pays off when the
            # speaker paused at the end (the usual case).
            whole = await self.worker.run(self.stt.transcribe, audio)
            self._note_sentences()
            earlier, end = self._sentences
            return await self._whole(earlier, whole, audio[end:])
        rest = await self.worker.run(self.stt.transcribe, tail)
        return f"{self.text} {rest}".strip()

    def _note_sentences(self) -> None:
        """Speech came after the cut: if the pause there ended a sentence, the transcript so
        far is what later whole passes must begin with."""
        levels = self.recorder.block_levels()[self._cut_block :]
        if self.cut == 0 or not self.text or not levels:
            return
        loudest = max(r for _, r in self.recorder.block_levels())
        threshold = max(MIN_SPEECH_RMS, PAUSE_RATIO * loudest)
        quiet = 0
        for frames, level in levels:
            if level >= threshold:
                break
            quiet += frames
        rate = self.recorder.rate or STT_RATE
        if PAUSE_SECONDS + quiet / rate >= SENTENCE_PAUSE_SECONDS:
            self._sentences = (self.text, self.cut)

    async def _whole(self, earlier: str, whole: str, since: np.ndarray) -> str:
        """The utterance's transcript from `whole` (it decoded whole), `earlier` (its
        beginning, as the pass before heard it) and `since` (the audio after that beginning):
        `whole` where it holds both, else `earlier` and `since` decoded on its own."""
        if not earlier or extends(earlier, whole):
            return whole
        # One of the two passes misheard: a fragment heard worse than the sentence it belongs
        # to, or a sentence dropped. The rest, decoded apart, tells which.
        try:
            rest = await self.worker.run(self.stt.transcribe, since)
        except Exception:
            log.exception("live transcription failed")
            return whole
        if holds_both(whole, earlier, rest):
            return whole
        log.info("live transcription: %r dropped words of %r + %r", whole, earlier, rest)
        return f"{earlier} {rest}".strip()

    def cancel(self) -> None:
        self._cancelled = True
        if self._task is not None:
            self._task.cancel()


def extends(earlier: str, later: str) -> bool:
    """Whether `later`, a transcript of more audio than `earlier` from the same start, begins
    with what `earlier` says (give or take whisper's rewording) and says more."""
    first, then = _letters(earlier), _letters(later)
    if len(then) <= len(first):
        return False
    # Only runs of letters found about where they were count, from the first words on:
    # "tickets cost" in the middle of "how much do five tickets cost" is not a beginning, nor
    # a stray shared letter, nor "have fifteen dollars" without "a book costs" before it.
    slack = 3 + len(first) // 4
    matcher = SequenceMatcher(None, first, then[: len(first) + slack], autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size >= 3 and abs(b.b - b.a) <= slack]
    kept = sum(b.size for b in blocks)
    return bool(blocks) and blocks[0].a <= 4 and kept >= KEEP_SHARE * len(first)


def holds_both(whole: str, earlier: str, rest: str) -> bool:
    """Whether `whole` says about as much as `earlier` and `rest` (its two parts, decoded
    apart) together: whisper rewords a little, but dropped words show in the length."""
    parts = len(_letters(earlier)) + len(_letters(rest))
    return len(_letters(whole)) >= parts - max(4, len(_letters(earlier)) // 4)


def _letters(text: str) -> str:
    return "".join(re.findall(r"[a-z0-9]+", text.casefold()))


def _has_speech(audio: np.ndarray, threshold: float) -> bool:
    frame = STT_RATE // 50
    usable = audio[: audio.size - audio.size % frame]
    if usable.size == 0:
        return False
    rms = np.sqrt(np.mean(usable.reshape(-1, frame) ** 2, axis=1))
    return bool(rms.max() >= threshold)
