"""Hands-free: a conversation on an open microphone, no key held (issue 26).

The open microphone (open_mic.py: echo canceller, half-duplex gate, streaming VAD) reports
speech; this module, on the loop, turns that into the turn manager's input-mode calls:

- **A turn opens** when the VAD hears speech while Parley is not speaking:
  `TurnManager.begin_listening` with a tap of the cleaned microphone in place of the key's
  recorder, so live transcription and the speculative reply at each pause run as they do
  for a held key. At each pause the end-of-turn decision (app/stt/end_of_turn.py: Smart Turn
  with the words heard so far, and the silence fallback) says whether the user is done; when
  they are, the turn is committed (`submit_audio`, the key's release).
- **While Parley speaks**, speech (OVER_ECHO thresholds on the cleaned microphone) pauses the
  reply at once; when the stretch pauses (or runs long) the InterruptionJudge decides:
  WORDS -> the reply ends as a barge-in does (what was heard stays in the history) and the
  same tap, still being fed, becomes the new turn; RESUME (a cough, "mhm", noise) -> the
  reply goes on where it paused; STOP -> the reply ends and nothing is answered.

It publishes HandsFreeState and VoiceInterruption on the bus for the window and the CLI.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from app.audio.playback import Player
from app.bus.events import (
    HandsFreeState,
    Notice,
    PlaybackStarted,
    TurnFinished,
    VoiceInterruption,
)
from app.pipeline.open_mic import PROCESS_RATE, MicEvent, OpenMic, StreamTap
from app.pipeline.turns import TurnManager
from app.stt.end_of_turn import EndOfTurn
from app.stt.interruption import Interruption, InterruptionJudge

log = logging.getLogger(__name__)

POLL_SECONDS = 0.02  # how often an open turn's silence is looked at (a few reads)
# The user's sound over a reply is judged once it pauses this long, or has lasted JUDGE_MAX:
# a cough or "mhm" is over in well under a second, and the reply waits while it is judged.
JUDGE_PAUSE_SECONDS = 0.25
JUDGE_MAX_SECONDS = 1.5
# The words so far at a pause are waited for this long before the model decides alone (the
# live pass over a short utterance takes 0.1-0.3 s on 2 cores).
TEXT_WAIT_SECONDS = 0.6


class HandsFree:
    """Call `start` on the loop; `close` ends it (the microphone closes, taps go)."""

    def __init__(
        self,
        turns: TurnManager,
        mic: OpenMic,
        player: Player | None,
        end_of_turn: EndOfTurn,
    ) -> None:
        self.turns = turns
        self.bus = turns.bus
        self.mic = mic
        self.player = player
        self.end_of_turn = end_of_turn
        self.state = "listening"
        self.hearing: int | None = None  # the turn whose words the microphone is taking
        self.playing: int | None = None  # the turn whose reply the speaker plays
        self.judging = False
        self.held = False  # the talk key is held: that turn is the key's, not the open mic's
        self.released_at = 0.0  # when it was let go (monotonic)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe = [
            self.bus.subscribe(PlaybackStarted, self._on_playing),
            self.bus.subscribe(TurnFinished, self._on_finished),
        ]

    def start(self) -> None:
        """Open the microphone (raises AudioUnavailable) and listen."""
        self._attach()
        self.mic.start()
        self._set("listening")

    async def open(self) -> None:
        """`start`, the microphone opened on a thread: the window's thread must not wait on a
        sound server that hangs (raises AudioUnavailable)."""
        self._attach()
        await asyncio.to_thread(self.mic.start)
        self._set("listening")

    def _attach(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.player is not None:
            self.player.tap = self.mic.played
        self.mic.on_event = self._from_mic

    def close(self) -> None:
        """The microphone closes. A turn still being heard is dropped (the user muted or
        switched off mid-sentence); a reply paused for the user's sound goes on."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if self.player is not None and self.player.tap == self.mic.played:
            self.player.tap = None
        self.mic.on_event = lambda _event: None
        self.mic.close()
        for task in list(self._tasks):
            task.cancel()
        current = self.turns.current
        if self.hearing is not None and current is not None and current.id == self.hearing:
            self.turns.interrupt("hands-free off")
        self.hearing = None
        if self.judging and self.player is not None:
            self.player.resume()
        self.judging = False

    def hold(self, held: bool) -> None:
        """The talk key went down (the turn is the key's: the open microphone opens none
        meanwhile) or came up (that turn is being answered)."""
        self.held = held
        if not held:
            self.released_at = time.monotonic()
        self._set("hearing" if held else "thinking")

    # --- what the microphone found ------------------------------------------------------------

    def _from_mic(self, event: MicEvent) -> None:
        """The microphone's thread: on to the loop."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._on_mic, event)

    def _on_mic(self, event: MicEvent) -> None:
        if event.kind == "learnt":
            self.bus.publish(HandsFreeState(state="learnt"))
            return
        if event.kind == "half_duplex":
            self._set("half_duplex", event.reason)
            if event.reason:
                self.bus.publish(Notice(message=event.reason))
            return
        if event.kind != "start" or self.hearing is not None or self.judging or self.held:
            return
        onset = time.monotonic() - (self.mic.seconds - event.at)
        if onset < self.released_at:
            return  # speech the talk key's turn took (found late, or waiting on the loop)
        tap = self.mic.tap(event.at)
        if self._reply_audible():
            self._pause(tap, event)
        else:
            self._open_turn(tap)

    def _reply_audible(self) -> bool:
        current = self.turns.current
        return (
            self.playing is not None
            and current is not None
            and current.id == self.playing
            and not current.finished
        )

    # --- a turn -------------------------------------------------------------------------------

    def _open_turn(self, tap: StreamTap) -> None:
        turn_id = self.turns.begin_listening(tap)  # type: ignore[arg-type]  # the Recorder's reading side
        self.hearing = turn_id
        self._set("hearing")
        self._spawn(self._until_done(turn_id, tap))

    async def _until_done(self, turn_id: int, tap: StreamTap) -> None:
        """Watch the open turn's pauses; commit it when the end-of-turn decision says so."""
        rules = self.end_of_turn.rules
        decided_pause = -1  # the speech end (mic sample) the last decision stands for
        ends_after = rules.fallback_ms  # the silence that ends the turn at that pause
        pause_seen = 0.0
        limit = self.turns.settings.max_talk_seconds
        while True:
            await asyncio.sleep(POLL_SECONDS)
            turn = self.turns.current
            if turn is None or turn.id != turn_id or turn.finished:
                tap.stop()
                self.hearing = None if self.hearing == turn_id else self.hearing
                return
            silence = self.mic.silence_seconds()
            ms = silence * 1000
            pause = self.mic.last_voice
            too_long = tap.samples >= limit * PROCESS_RATE  # a turn as long as a held key may be
            if ms < rules.ask_after_ms and not too_long:
                pause_seen = 0.0
                continue
            pause_seen = pause_seen or time.monotonic()
            if pause != decided_pause:
                ends_after = rules.fallback_ms
            done = ms >= ends_after or too_long
            if not done and pause != decided_pause:
                live = turn.live
                waiting = live is not None and live.decoding
                if waiting and time.monotonic() - pause_seen < TEXT_WAIT_SECONDS:
                    continue
                text = live.text if live is not None and live.partials else None
                decision = await asyncio.to_thread(
                    self.end_of_turn.decide, tap.snapshot(), ms, text
                )
                log.debug("end of turn at %.0f ms: %s (%r)", ms, decision, text)
                done = decision.complete
                if not done and decision.by != "waiting":
                    # An unsure model waits `unsure_ms`, longer than a thinking pause.
                    decided_pause, ends_after = pause, decision.ends_after_ms
            if done:
                self._commit(turn_id, tap)
                return

    def _commit(self, turn_id: int, tap: StreamTap) -> None:
        last_word = time.monotonic() - self.mic.silence_seconds()
        self.hearing = None
        self._set("thinking", last_word_at=last_word)
        self.turns.submit_audio(turn_id, tap.stop())

    # --- over a reply -------------------------------------------------------------------------

    def _pause(self, tap: StreamTap, event: MicEvent) -> None:
        assert self.player is not None
        self.player.pause()
        quiet_at = time.monotonic()
        onset = event.when - (self.mic.seconds - event.at)
        self.judging = True
        self._set("paused")
        self._spawn(self._judge(tap, onset, quiet_at))

    async def _judge(self, tap: StreamTap, onset: float, quiet_at: float) -> None:
        try:
            while True:
                await asyncio.sleep(POLL_SECONDS)
                length = tap.samples / PROCESS_RATE
                if self.mic.silence_seconds() >= JUDGE_PAUSE_SECONDS or length >= JUDGE_MAX_SECONDS:
                    break
            stt = self.turns.engines.stt
            if stt is None:
                verdict = Interruption.WORDS, ""
            else:
                judge = InterruptionJudge(stt)
                judged = await self.turns.engines.worker("stt").run(judge.judge, tap.snapshot())
                verdict = judged.kind, judged.text
        finally:
            self.judging = False
        if self.held:  # the key went down meanwhile: its turn has ended the reply
            tap.stop()
            return
        kind, text = verdict
        log.info("over the reply: %s (%r)", kind.value, text)
        said = {"onset": onset, "quiet_at": quiet_at, "text": text}
        if kind is Interruption.RESUME:
            tap.stop()
            if self.player is not None:
                self.player.resume()
            self.bus.publish(VoiceInterruption(kind="resumed", **said))
            self._set("speaking" if self._reply_audible() else "listening")
        elif kind is Interruption.STOP:
            tap.stop()
            self.turns.interrupt("stop")
            self.bus.publish(VoiceInterruption(kind="stop", **said))
            self._set("listening")
        else:
            self.bus.publish(VoiceInterruption(kind="barge_in", **said))
            self._open_turn(tap)  # the reply ends there, as heard; the words go on into it

    # --- bookkeeping --------------------------------------------------------------------------

    def _on_playing(self, ev: PlaybackStarted) -> None:
        current = self.turns.current
        if current is not None and current.id == ev.turn_id:
            self.playing = ev.turn_id
            if not self.judging:
                self._set("speaking")

    def _on_finished(self, ev: TurnFinished) -> None:
        if self.playing == ev.turn_id:
            self.playing = None
        current = self.turns.current  # still the finished turn while its event is handled
        idle = current is None or current.id == ev.turn_id or current.finished
        if self.hearing is None and not self.judging and not self.held and idle:
            self._set("listening")

    def _set(self, state: str, message: str = "", last_word_at: float = 0.0) -> None:
        if state != "half_duplex":
            self.state = state
        self.bus.publish(HandsFreeState(state=state, message=message, last_word_at=last_word_at))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(task: asyncio.Task[Any]) -> None:
            self._tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("hands-free failed", exc_info=task.exception())

        task.add_done_callback(done)
