"""Speak: the reply's clauses to voice (piper, on the TTS worker) and on to the speaker.

Clauses are queued on the TTS worker as they come, so they (and the TtsDone marker after the
last) are synthesised in order. The first clause's audio lets the LLM go on (ReplyFeed.hold).
A clause of a reply started at a pause is synthesised ahead, while the key is still held,
and used if the turn adopts that reply. A voice that fails is said once per turn; the reply
goes on as text.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from app.bus import EventBus
from app.bus.events import ErrorRaised, PlaybackStarted, TtsChunk, TtsDone
from app.config import Settings
from app.pipeline.engines import Engines, EngineUnavailable
from app.pipeline.sentences import SentenceSplitter, speakable
from app.pipeline.speculation import Speculation
from app.pipeline.turn import AudioSink, Turn
from app.tts.base import TextToSpeech

log = logging.getLogger(__name__)


class Speak:
    def __init__(
        self,
        bus: EventBus,
        engines: Engines,
        spawn: Callable[[Awaitable[Any], Turn], None],
        turn_of: Callable[[int], Turn | None],
        sink: AudioSink | None = None,
    ) -> None:
        self.bus = bus
        self.engines = engines
        self.sink = sink
        self._spawn = spawn  # runs a coroutine for the turn (TurnManager._spawn)
        self._turn_of = turn_of  # the running turn of that id (None: over or another's)

    def clause(self, turn: Turn, index: int, text: str) -> None:
        """Queue the clause on the TTS thread now, so clauses (and the TtsDone marker that
        follows them) are synthesised in order; await the result in a task."""
        bus = self.bus
        spec = turn.speculation if index == 0 else None

        def job() -> None:
            try:
                # Queued before a barge-in, or the speaker went away: nobody will hear it.
                if turn.cancel.is_set() or not turn.speaking:
                    return
                tts: TextToSpeech = self.engines.require("tts")
                words = speakable(text)
                if not words:
                    return
                # Synthesised while the key was held (queued before this job, so done by now).
                ahead = spec.audio_for(text) if spec is not None else None
                chunks, rate = ahead or (tts.synthesize(words), tts.sample_rate)
                for samples in chunks:
                    if turn.cancel.is_set() or not turn.speaking:
                        return
                    bus.publish_threadsafe(
                        TtsChunk(turn_id=turn.id, index=index, samples=samples, sample_rate=rate)
                    )
                    if index == 0:
                        turn.feed.release()  # the LLM may go on (see ReplyFeed)
            finally:
                if index == 0:
                    turn.feed.release()

        future = asyncio.wrap_future(self.engines.worker("tts").submit(job))
        self._spawn(self._said(turn, future), turn)

    async def _said(self, turn: Turn, future: asyncio.Future[None]) -> None:
        bus = self.bus
        try:
            await future
        except EngineUnavailable as exc:
            if turn.speaking:  # say it once per turn, then carry on as text only
                turn.speaking = False
                bus.publish(
                    ErrorRaised(turn_id=turn.id, source="tts", message=f"Can't speak: {exc}")
                )
        except Exception as exc:
            log.exception("speech synthesis failed")
            bus.publish(
                ErrorRaised(
                    turn_id=turn.id, source="tts", message=f"Speech synthesis failed: {exc}"
                )
            )

    def ahead(self, spec: Speculation, clause: str) -> None:
        """The speculative reply's first clause (from the LLM worker): synthesise it now on
        the TTS worker, which is idle while the key is held, and keep the audio."""
        log.debug("first clause ahead: %r", clause)

        def job() -> None:
            try:
                if spec.cancelled.is_set():
                    return
                tts: TextToSpeech = self.engines.require("tts")
                words = speakable(clause)
                chunks = []
                for samples in tts.synthesize(words) if words else ():
                    if spec.cancelled.is_set():
                        return
                    chunks.append(samples)
                spec.audio = (clause, chunks, tts.sample_rate)
            except Exception:  # the turn synthesises it again if it is wanted
                log.exception("synthesising the speculative first clause failed")
            finally:
                spec.audio_done.set()  # the speculative reply may go on

        try:
            self.engines.worker("tts").submit(job)
        except RuntimeError:  # shutting down
            spec.audio_done.set()

    def reply_done(self, turn_id: int) -> None:
        """The reply's text is all in: queued behind every clause on the TTS thread, TtsDone
        fires after the last chunk."""
        self.engines.worker("tts").submit(self.bus.publish_threadsafe, TtsDone(turn_id=turn_id))

    def on_chunk(self, ev: TtsChunk) -> None:
        turn = self._turn_of(ev.turn_id)
        if turn is None or self.sink is None or not turn.speaking:
            return
        turn.mark("first_chunk", ev.at)
        self.sink.enqueue(ev.turn_id, ev.index, ev.samples, ev.sample_rate)

    def on_done(self, ev: TtsDone) -> None:
        if self._turn_of(ev.turn_id) is not None and self.sink is not None:
            self.sink.finish(ev.turn_id)

    def on_playing(self, ev: PlaybackStarted) -> None:
        turn = self._turn_of(ev.turn_id)
        if turn is not None:
            turn.mark("first_audio", ev.at)

    def silence(self) -> dict[int, float]:
        """Stop the speaker now; how much of each clause was heard."""
        return self.sink.stop() if self.sink is not None else {}


def splitter(settings: Settings) -> SentenceSplitter:
    """The reply's text cut into what is spoken at a time (see app/pipeline/sentences.py)."""
    return SentenceSplitter(
        clause_words=settings.tts_clause_words or None,
        first_clause_words=settings.tts_first_clause_words or None,
        first_max_words=settings.tts_first_max_words or None,
    )
