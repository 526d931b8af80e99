"""The turn manager on scripted fake engines and the fake audio device.

Each test builds the same wiring as the app (a Session: bus, engines on their worker threads,
turn manager, a Player on the fake speaker) and watches what a user would see (bus events) and
hear (what the fake speaker was given).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from app.audio.capture import Recorder
from app.audio.fake import FakeAudioBackend
from app.bus import EventBus
from app.bus.events import (
    EngineStatus,
    ErrorRaised,
    Event,
    LlmDelta,
    LlmSentence,
    Notice,
    PlaybackFinished,
    PlaybackStarted,
    TranscriptReady,
    TtsChunk,
    TurnCancelled,
    TurnFinished,
    UserTurn,
)
from app.config import Settings
from app.llm.base import Message
from app.models.errors import ModelError
from app.pipeline.engines import Engines
from app.pipeline.hear import NO_SPEECH
from app.pipeline.turn import TIMING_KEYS, WATERFALL_KEYS, clip_to_heard
from app.session import Session
from tests.fakes import FakeLLM, FakeSTT, FakeTTS

TIMEOUT = 10.0


class ScriptedLLM(FakeLLM):
    """A FakeLLM that gives a different reply to each question, in order."""

    def __init__(self, replies: list[str], token_delay: float = 0.0) -> None:
        super().__init__(replies[0], token_delay)
        self.replies = list(replies)

    def stream_chat(
        self, messages: list[Message], max_tokens: int, temperature: float
    ) -> Iterator[str]:
        self.reply = self.replies[min(len(self.prompts), len(self.replies) - 1)]
        return super().stream_chat(messages, max_tokens, temperature)


class GatedTTS(FakeTTS):
    """A FakeTTS that holds every sentence after the first until `gate` is set."""

    def __init__(self, seconds_per_word: float) -> None:
        super().__init__(seconds_per_word)
        self.gate = threading.Event()
        self.holding = threading.Event()  # a sentence is waiting at the gate
        self.calls = 0

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        self.calls += 1
        if self.calls > 1:
            self.holding.set()
            self.gate.wait(TIMEOUT)
        return super().synthesize(text)


class SteppedLLM(FakeLLM):
    """Yields one token each time `step` is set, and sets `sent` once that token has been
    handed to the bus, so a test knows exactly when a token is in flight to the loop."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.step = threading.Event()
        self.sent = threading.Event()

    def stream_chat(
        self, messages: list[Message], max_tokens: int, temperature: float
    ) -> Iterator[str]:
        self.prompts.append(list(messages))
        for word in self.reply.split(" "):
            self.step.wait(TIMEOUT)
            self.step.clear()
            self.tokens_yielded += 1
            yield word + " "
            self.sent.set()  # the worker resumed us: the token was published


class Harness:
    """A Session on fake engines and the fake speaker, recording every bus event."""

    def __init__(
        self,
        settings: Settings,
        *,
        stt: Any = None,
        llm: Any = None,
        tts: Any = None,
        llm_error: str = "",
        tts_error: str = "",
        speed: float = 1.0,
        store: Any = None,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.bus = EventBus(self.loop)
        self.events: list[Event] = []
        self._tick = asyncio.Event()
        # Subscribed before the turn manager, like a subscriber present from the start.
        self.bus.subscribe(Event, self._record)
        self.stt = stt or FakeSTT()
        self.llm = llm or FakeLLM()
        self.tts = tts or FakeTTS(seconds_per_word=0.02)

        def make_llm(_s: Settings, _p: object) -> Any:
            if llm_error:
                raise ModelError(llm_error)
            return self.llm

        def make_tts(_s: Settings) -> Any:
            if tts_error:
                raise ModelError(tts_error)
            return self.tts

        self.engines = Engines(
            self.bus,
            settings,
            stt_factory=lambda _s: self.stt,
            llm_factory=make_llm,
            tts_factory=make_tts,
            warm_up=False,
        )
        self.backend = FakeAudioBackend(speed=speed)
        self.session = Session(
            settings, self.bus, engines=self.engines, backend=self.backend, store=store
        )
        self.turns = self.session.turns
        assert self.session.player is not None

    def _record(self, event: Event) -> None:
        self.events.append(event)
        self._tick.set()

    async def start(self) -> None:
        self.engines.start()
        await asyncio.wait_for(self.loop.run_in_executor(None, self.engines.wait), TIMEOUT)
        await self.until(
            lambda: (
                {e.engine for e in self.of(EngineStatus) if e.state in ("ready", "error")}
                >= {"stt", "llm", "tts"}
            ),
            "engine status",
        )

    async def until(self, cond: Callable[[], object], what: str = "condition") -> None:
        """Wait (event-driven, with a deadline) until `cond()` holds."""
        deadline = self.loop.time() + TIMEOUT
        while not cond():
            if self.loop.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            self._tick.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._tick.wait(), 0.01)  # also polls the fake speaker

    async def finished(self, turn_id: int) -> TurnFinished:
        await self.until(lambda: self.finish_of(turn_id) is not None, f"turn {turn_id} to finish")
        result = self.finish_of(turn_id)
        assert result is not None
        return result

    def of_user(self, n: int) -> int:
        """The turn id of the `n`-th question asked (0-based)."""
        return self.of(UserTurn)[n].turn_id

    def finish_of(self, turn_id: int) -> TurnFinished | None:
        return next((e for e in self.of(TurnFinished) if e.turn_id == turn_id), None)

    def of(self, kind: type, turn_id: int | None = None) -> list[Any]:
        return [
            e
            for e in self.events
            if isinstance(e, kind) and (turn_id is None or e.turn_id == turn_id)
        ]

    async def quiesce(self) -> None:
        """Let every job already queued on the workers run out and its events be delivered."""
        for name in ("llm", "tts", "stt"):
            await asyncio.wait_for(self.engines.worker(name).run(lambda: None), TIMEOUT)
        done = self.loop.create_future()
        self.loop.call_soon(done.set_result, None)  # behind the threadsafe callbacks queued
        await done
        await self.bus.drain()

    def close(self) -> None:
        for event in (getattr(self.tts, "gate", None), getattr(self.llm, "step", None)):
            if event is not None:
                event.set()
        self.session.close()


def run(test: Callable[..., Any], settings: Settings, **kwargs: Any) -> None:
    """Run `test(harness)` on a fresh loop with a started harness."""

    async def main() -> None:
        h = Harness(settings, **kwargs)
        try:
            await h.start()
            await test(h)
        finally:
            h.close()

    asyncio.run(main())


def sound_span(backend: FakeAudioBackend, threshold: float = 1e-4) -> int:
    """Samples from the first to the last audible sample the speaker was given."""
    audio = backend.played_audio()
    loud = np.flatnonzero(np.abs(audio) > threshold)
    return int(loud[-1] - loud[0] + 1) if loud.size else 0


# --- a typed question ----------------------------------------------------------------------


def test_typed_turn_streams_text_speaks_it_and_reports_timings(settings: Settings) -> None:
    reply = "The first sentence is right here. And the second one follows right now."
    llm = FakeLLM(reply)
    tts = FakeTTS(seconds_per_word=0.02)

    async def body(h: Harness) -> None:
        assert h.turns.ask("  Tell me two things.  ") is True
        assert h.turns.busy
        tid = h.of(UserTurn)[0].turn_id
        done = await h.finished(tid)
        await h.quiesce()

        mine = [e for e in h.events if e.turn_id == tid]
        kinds = [type(e).__name__ for e in mine]
        assert kinds[0] == "UserTurn" and mine[0].text == "Tell me two things."
        assert mine[0].spoken is False
        assert kinds[-1] == "TurnFinished"
        # Deltas carry the whole reply, in order.
        deltas = h.of(LlmDelta, tid)
        assert "".join(d.text for d in deltas).strip() == reply
        # Sentences come out in order while the reply is still streaming: the first one is
        # ready before the last token, so the voice can start early.
        sentences = h.of(LlmSentence, tid)
        assert [(s.index, s.text) for s in sentences] == [
            (0, "The first sentence is right here."),
            (1, "And the second one follows right now."),
        ]
        assert mine.index(sentences[0]) < mine.index(deltas[-1])
        assert mine.index(sentences[0]) > mine.index(deltas[0])
        # Every sentence was synthesised, in order, and reached the speaker.
        assert [c.index for c in h.of(TtsChunk, tid)] == [0, 1]
        assert tts.spoken == [s.text for s in sentences]
        order = [kinds.index(k) for k in ("UserTurn", "TtsChunk", "PlaybackStarted")]
        assert order == sorted(order)
        assert kinds.index("PlaybackFinished") < kinds.index("TurnFinished")
        expected = sum(len(c.samples) for c in h.of(TtsChunk, tid)) * 48000 // 16000
        assert abs(sound_span(h.backend) - expected) < 2 * 960  # all of it, within 2 blocks

        assert done.transcript == "Tell me two things."
        assert done.reply.strip() == reply
        assert done.spoken.strip() == reply
        assert done.interrupted is False
        assert set(done.timings) == set(TIMING_KEYS) | set(WATERFALL_KEYS)
        stages = [done.timings[k] for k in WATERFALL_KEYS[1:5]]  # first token .. first audio
        assert all(t is not None for t in stages) and stages == sorted(stages)
        assert done.timings["stt"] is None  # typed: no speech recognition
        for key in ("llm_first_token", "llm_total", "tts_first_audio", "first_audio"):
            assert done.timings[key] is not None and done.timings[key] >= 0, key
        assert done.timings["llm_first_token"] <= done.timings["llm_total"]
        assert not h.turns.busy
        assert h.turns.history.messages == [
            {"role": "user", "content": "Tell me two things."},
            {"role": "assistant", "content": reply},
        ]
        # The LLM's lazy stream was consumed on its worker thread, never on the loop.
        assert llm.threads and all(t.startswith("parley-llm") for t in llm.threads)

    run(body, settings, llm=llm, tts=tts, speed=20.0)


class TimedLLM(FakeLLM):
    """Records when each piece was generated (the generator resumed and produced it)."""

    def __init__(self, reply: str, token_delay: float) -> None:
        super().__init__(reply, token_delay)
        self.piece_times: list[float] = []

    def stream_chat(self, messages: list[Message], max_tokens: int, temperature: float):
        for piece in super().stream_chat(messages, max_tokens, temperature):
            self.piece_times.append(time.monotonic())
            yield piece


class TimedTTS(FakeTTS):
    def __init__(self, delay: float) -> None:
        super().__init__(seconds_per_word=0.02, delay=delay)
        self.first_started = 0.0
        self.first_ready = 0.0

    def synthesize(self, text: str) -> Iterator[np.ndarray]:
        started = time.monotonic()
        for chunk in super().synthesize(text):
            if not self.first_ready:
                self.first_started, self.first_ready = started, time.monotonic()
            yield chunk


SPIDER_REPLY = "Spiders have eight legs. They also have many eyes and spin silk for their webs."


async def ask_about_spiders(h: Harness) -> None:
    """Ask the timed engines' question and wait for the whole reply."""
    h.turns.ask("How many legs does a spider have?")
    done = await h.finished(h.of(UserTurn)[0].turn_id)
    assert done.reply.strip() == SPIDER_REPLY  # held back, maybe, but not cut short


def test_the_llm_waits_while_the_first_clause_is_synthesised(settings: Settings) -> None:
    """On two cores the LLM and piper slow each other down; the first clause is what the
    user is waiting to hear, so the LLM generates nothing while it is being rendered."""
    llm = TimedLLM(SPIDER_REPLY, token_delay=0.02)
    tts = TimedTTS(delay=0.3)

    async def body(h: Harness) -> None:
        await ask_about_spiders(h)
        first_clause_words = 4  # "Spiders have eight legs."
        after_clause = llm.piece_times[first_clause_words:]
        assert after_clause, llm.piece_times
        # Nothing generated between the first clause going to TTS and its audio being ready.
        assert all(not (tts.first_started < t < tts.first_ready) for t in llm.piece_times), (
            tts.first_started,
            tts.first_ready,
            llm.piece_times,
        )
        assert after_clause[0] >= tts.first_ready

    run(body, settings, llm=llm, tts=tts, speed=20.0)


def test_without_a_voice_the_llm_never_waits(settings: Settings) -> None:
    settings.speak_replies = False
    llm = TimedLLM(SPIDER_REPLY, token_delay=0.0)
    tts = TimedTTS(delay=5.0)

    async def body(h: Harness) -> None:
        await ask_about_spiders(h)
        assert llm.piece_times[-1] - llm.piece_times[0] < 2.0  # far less than a 5 s TTS hold
        assert tts.spoken == []

    run(body, settings, llm=llm, tts=tts, speed=20.0)


def test_text_only_turn_finishes_without_the_speaker(settings: Settings) -> None:
    settings.speak_replies = False
    tts = FakeTTS()

    async def body(h: Harness) -> None:
        h.turns.ask("hello")
        done = await h.finished(h.of(UserTurn)[0].turn_id)
        await h.quiesce()
        assert done.reply.strip() == "One. Two."
        assert tts.spoken == []
        assert h.of(TtsChunk) == [] and h.of(PlaybackStarted) == []
        assert sound_span(h.backend) == 0
        assert done.timings["llm_total"] is not None
        assert done.timings["first_audio"] is None

    run(body, settings, tts=tts)


def test_blank_typed_text_starts_no_turn(settings: Settings) -> None:
    async def body(h: Harness) -> None:
        assert h.turns.ask("   \n ") is False
        await h.quiesce()
        assert h.of(UserTurn) == [] and h.llm.prompts == []
        assert not h.turns.busy

    run(body, settings)


# --- a spoken question ---------------------------------------------------------------------


def test_spoken_turn_transcribes_then_answers(settings: Settings) -> None:
    stt = FakeSTT("what is the capital of peru")

    async def body(h: Harness) -> None:
        tid = h.turns.begin_listening()
        audio = np.full(16000, 0.1, np.float32)
        h.turns.submit_audio(tid, audio)
        done = await h.finished(tid)

        assert len(stt.calls) == 1 and np.array_equal(stt.calls[0], audio)
        assert [e.text for e in h.of(TranscriptReady, tid)] == ["what is the capital of peru"]
        user = h.of(UserTurn, tid)
        assert [(u.text, u.spoken) for u in user] == [("what is the capital of peru", True)]
        assert h.llm.prompts[0][-1] == {"role": "user", "content": "what is the capital of peru"}
        assert done.transcript == "what is the capital of peru"
        assert done.timings["stt"] is not None and done.timings["stt"] >= 0
        assert done.timings["first_audio"] is not None

    run(body, settings, stt=stt, speed=20.0)


@pytest.mark.parametrize("heard", ["", "   "])
def test_spoken_turn_with_nothing_heard_says_so_and_never_asks_the_llm(
    settings: Settings, heard: str
) -> None:
    async def body(h: Harness) -> None:
        tid = h.turns.begin_listening()
        h.turns.submit_audio(tid, np.zeros(8000, np.float32))
        done = await h.finished(tid)
        await h.quiesce()

        assert [n.message for n in h.of(Notice, tid)] == [NO_SPEECH]
        assert h.llm.prompts == []
        assert h.of(UserTurn) == [] and h.of(LlmDelta) == []
        assert h.turns.history.messages == []  # nothing to remember
        assert done.interrupted is False and done.reply == ""
        assert not h.turns.busy

    run(body, settings, stt=FakeSTT(heard))


# --- several questions ---------------------------------------------------------------------


def test_second_prompt_contains_the_first_exchange(settings: Settings) -> None:
    llm = ScriptedLLM(["Paris is the capital.", "About two million people live there."])

    async def body(h: Harness) -> None:
        h.turns.ask("What is the capital of France?")
        await h.finished(h.of(UserTurn)[0].turn_id)
        h.turns.ask("How many people live there?")
        await h.finished(h.of(UserTurn)[1].turn_id)

        assert len(llm.prompts) == 2
        second = llm.prompts[1]
        assert second[0]["role"] == "system"
        assert second[1:] == [
            {"role": "user", "content": "What is the capital of France?"},
            {"role": "assistant", "content": "Paris is the capital."},
            {"role": "user", "content": "How many people live there?"},
        ]

    run(body, settings, llm=llm, speed=20.0)


def test_question_typed_during_a_reply_is_queued_and_answered_after(settings: Settings) -> None:
    llm = ScriptedLLM(
        ["The first answer has several words in it.", "The second answer is short."],
        token_delay=0.01,
    )

    async def body(h: Harness) -> None:
        assert h.turns.ask("first question") is True
        assert h.turns.ask("second question") is False  # queued, not lost, not a barge-in
        assert any("as soon as" in n.message for n in h.of(Notice))
        await h.until(lambda: len(h.of(TurnFinished)) == 2, "both replies")
        await h.quiesce()

        first, second = h.of(TurnFinished)
        assert (first.transcript, second.transcript) == ("first question", "second question")
        assert first.interrupted is False and second.interrupted is False
        assert first.spoken.strip() == "The first answer has several words in it."
        assert second.spoken.strip() == "The second answer is short."
        assert h.of(TurnCancelled) == []
        # The second question was only asked once the first reply was over, and saw it.
        assert first.at <= h.of(UserTurn, second.turn_id)[0].at
        assert llm.prompts[1][-2] == {
            "role": "assistant",
            "content": "The first answer has several words in it.",
        }
        assert not h.turns.pending and not h.turns.busy

    run(body, settings, llm=llm, speed=20.0)


def test_new_chat_forgets_the_conversation(settings: Settings) -> None:
    llm = ScriptedLLM(["My name is Parley.", "Hello again."])

    async def body(h: Harness) -> None:
        h.turns.ask("What is your name?")
        await h.finished(h.of(UserTurn)[0].turn_id)
        h.turns.reset()
        h.turns.ask("Hi.")
        await h.finished(h.of(UserTurn)[1].turn_id)
        assert [m["role"] for m in llm.prompts[1]] == ["system", "user"]
        assert llm.prompts[1][-1]["content"] == "Hi."

    run(body, settings, llm=llm, speed=20.0)


def test_a_queued_question_survives_a_barge_in_and_comes_after_it(settings: Settings) -> None:
    llm = ScriptedLLM(
        ["A long first answer " * 10, "The spoken answer.", "The typed answer."],
        token_delay=0.005,
    )
    stt = FakeSTT("the spoken question")

    async def body(h: Harness) -> None:
        h.turns.ask("first")
        h.turns.ask("typed while busy")
        await h.until(lambda: h.of(LlmDelta), "the first reply to stream")
        spoken = h.turns.begin_listening()
        h.turns.submit_audio(spoken, np.full(4000, 0.1, np.float32))
        await h.until(lambda: len(h.of(TurnFinished)) == 3, "all three turns")
        assert [(f.transcript, f.interrupted) for f in h.of(TurnFinished)] == [
            ("first", True),
            ("the spoken question", False),
            ("typed while busy", False),
        ]
        assert h.of(TurnFinished)[2].reply.strip() == "The typed answer."

    run(body, settings, llm=llm, stt=stt, speed=20.0)


def test_stop_drops_queued_questions(settings: Settings) -> None:
    settings.speak_replies = False
    llm = FakeLLM("word " * 200, token_delay=0.005)

    async def body(h: Harness) -> None:
        h.turns.ask("first")
        h.turns.ask("second")
        await h.until(lambda: h.of(LlmDelta), "the first token")
        assert h.turns.interrupt("stopped", clear_pending=True) is True
        await h.quiesce()
        await h.quiesce()  # a queued question would have started by now
        assert [f.transcript for f in h.of(TurnFinished)] == ["first"]
        assert h.of(TurnFinished)[0].interrupted is True
        assert len(llm.prompts) == 1
        assert not h.turns.busy and not h.turns.pending

    run(body, settings, llm=llm)


# --- barge-in ------------------------------------------------------------------------------

LONG_REPLY = (
    "Once upon a time there lived a clever old fox in a deep green forest. "
    "Every morning the fox walked down to the river to drink the cold clear water. "
    "One day a hungry bear came out of the trees and asked the fox for some help. "
    "The fox thought about it for a long while and then agreed to show the way."
)


def test_barge_in_silences_the_reply_and_keeps_only_what_was_heard(settings: Settings) -> None:
    llm = ScriptedLLM([LONG_REPLY, "Sure, tomorrow then."], token_delay=0.03)
    stt = FakeSTT("wait, stop, tell me about tomorrow")
    tts = FakeTTS(seconds_per_word=0.15)  # the first sentence lasts about two seconds

    async def body(h: Harness) -> None:
        h.turns.ask("Tell me a long story.")
        old = h.of(UserTurn)[0].turn_id
        await h.until(lambda: h.of(PlaybackStarted, old), "the reply to start playing")
        await h.until(lambda: h.backend.sound_blocks_after(0.0) >= 20, "0.2 s of the reply")
        assert llm.tokens_yielded < len(LONG_REPLY.split()), "the LLM should still be talking"

        cut_at = time.monotonic()
        seen_before = len(h.events)
        new = h.turns.begin_listening()  # push-to-talk while Parley speaks

        # Playback stops at once: at most the block being filled at that moment is heard.
        pulled = len(h.backend.played)
        await h.until(lambda: len(h.backend.played) >= pulled + 10, "the speaker to go on")
        assert h.backend.sound_blocks_after(cut_at) <= 1
        # Measured: the last sound the speaker got ends within 50 ms of the key press (a
        # block pulled at t plays until t + 10 ms).
        speaker = [s for s in h.backend.streams if s.kind == "output"][-1]
        block = speaker.blocksize / h.backend.output_rate
        late = [t for t, b in h.backend.played if t > cut_at and np.abs(b).max() > 1e-4]
        silent_after = (late[-1] + block if late else cut_at) - cut_at
        assert silent_after <= 0.05, f"sound went on for {silent_after * 1000:.0f} ms"

        # The old turn ends as interrupted, keeping only the part the user heard.
        done = h.finish_of(old)
        assert done is not None and done.interrupted is True
        assert h.of(TurnCancelled, old)
        first_sentence = h.of(LlmSentence, old)[0].text
        heard = done.spoken.rstrip("…").split()
        assert 0 < len(heard) < len(first_sentence.split())
        assert heard == first_sentence.split()[: len(heard)]
        assert done.spoken.endswith("…")
        assert len(done.spoken) < len(done.reply)
        assert h.turns.history.messages[-1] == {"role": "assistant", "content": done.spoken}

        # Nothing of the old turn reaches the screen or the speaker after the interrupt, even
        # what the workers had in flight.
        await h.quiesce()
        late = [
            e
            for e in h.events[seen_before:]
            if e.turn_id == old and isinstance(e, LlmDelta | LlmSentence | TtsChunk)
        ]
        assert late == []
        assert llm.tokens_yielded < len(LONG_REPLY.split())  # generation stopped early
        assert h.backend.sound_blocks_after(cut_at) <= 1

        # The new spoken question is answered, and the model sees the clipped reply.
        h.turns.submit_audio(new, np.full(8000, 0.1, np.float32))
        second = await h.finished(new)
        assert second.interrupted is False
        assert second.spoken.strip() == "Sure, tomorrow then."
        assert llm.prompts[1][-2:] == [
            {"role": "assistant", "content": done.spoken},
            {"role": "user", "content": "wait, stop, tell me about tomorrow"},
        ]
        assert h.backend.sound_blocks_after(cut_at) > 1  # the new reply is heard

    run(body, settings, llm=llm, stt=stt, tts=tts, speed=1.0)


def test_barge_in_between_sentences_keeps_the_sentence_already_heard(
    settings: Settings,
) -> None:
    """Interrupted while the next sentence is still being synthesised: the first one was
    heard in full and must be what the history and the screen keep."""
    reply = "This first sentence is played in full. This second one is never heard at all."
    settings.tts_first_max_words = 0  # whole sentences here, not "This first sentence is…"
    tts = GatedTTS(seconds_per_word=0.02)

    async def body(h: Harness) -> None:
        h.turns.ask("Say two sentences.")
        tid = h.of(UserTurn)[0].turn_id
        player = h.session.player
        assert player is not None
        await h.until(lambda: player.heard(tid).get(0) == 1.0, "the first sentence to play")
        await h.until(tts.holding.is_set, "the second sentence to be in the TTS")
        assert len(h.of(TtsChunk, tid)) == 1

        h.turns.interrupt("stopped")
        tts.gate.set()
        done = await h.finished(tid)
        await h.quiesce()

        assert done.interrupted is True
        assert done.spoken == "This first sentence is played in full."
        assert h.turns.history.messages[-1]["content"] == done.spoken
        assert h.of(TtsChunk, tid) and all(c.index == 0 for c in h.of(TtsChunk, tid))

    run(body, settings, llm=FakeLLM(reply), tts=tts, speed=20.0)


def test_a_token_already_in_flight_at_stop_never_reaches_the_screen(settings: Settings) -> None:
    settings.speak_replies = False
    llm = SteppedLLM("first second third fourth")

    async def body(h: Harness) -> None:
        h.turns.ask("go")
        tid = h.of(UserTurn)[0].turn_id
        llm.step.set()
        await h.until(lambda: h.of(LlmDelta, tid), "the first token")
        llm.sent.clear()
        llm.step.set()
        # Block the loop on purpose: the second token is queued for it, not yet delivered.
        assert llm.sent.wait(TIMEOUT)
        h.turns.interrupt("stopped")
        llm.step.set()  # let the worker see the cancel
        await h.quiesce()

        assert [d.text for d in h.of(LlmDelta, tid)] == ["first "]
        done = h.finish_of(tid)
        assert done is not None and done.interrupted and done.reply == "first "
        assert llm.tokens_yielded <= 3  # stopped at the next token, not run to the end

    run(body, settings, llm=llm)


def test_stale_sentences_are_not_synthesised_after_a_barge_in(settings: Settings) -> None:
    """Sentences of the old reply waiting for the voice are skipped, so the voice is free at
    once for the new reply instead of rendering audio nobody will hear."""
    reply = (
        "The first sentence is spoken now. The second sentence is at the voice. "
        "The third sentence is waiting. The fourth sentence is waiting too."
    )
    tts = GatedTTS(seconds_per_word=0.02)

    async def body(h: Harness) -> None:
        h.turns.ask("four sentences please")
        tid = h.of(UserTurn)[0].turn_id
        await h.until(lambda: len(h.of(LlmSentence, tid)) == 4, "all four sentences")
        await h.until(tts.holding.is_set, "the second sentence at the voice")
        h.turns.begin_listening()
        tts.gate.set()
        await h.quiesce()
        assert tts.calls == 2, f"synthesised {tts.calls} sentences of a cancelled reply"
        assert all(c.index == 0 for c in h.of(TtsChunk, tid))

    run(body, settings, llm=FakeLLM(reply), tts=tts, speed=20.0)


def test_stop_while_text_only_keeps_the_reply_shown_so_far(settings: Settings) -> None:
    settings.speak_replies = False
    llm = FakeLLM("alpha beta gamma delta " * 50, token_delay=0.005)

    async def body(h: Harness) -> None:
        h.turns.ask("go")
        tid = h.of(UserTurn)[0].turn_id
        await h.until(lambda: len(h.of(LlmDelta, tid)) >= 3, "a few tokens")
        h.turns.interrupt("stopped")
        await h.quiesce()
        done = h.finish_of(tid)
        assert done is not None and done.interrupted
        shown = "".join(d.text for d in h.of(LlmDelta, tid))
        assert done.spoken == shown == done.reply  # no token appears after the stop
        assert 3 <= len(shown.split()) < 200

    run(body, settings, llm=llm)


def test_clip_to_heard_keeps_whole_sentences_then_the_heard_share() -> None:
    sentences = ["One two three four.", "Five six seven eight.", "Nine ten."]
    assert clip_to_heard(sentences, {0: 1.0, 1: 0.5}) == "One two three four. Five six…"
    assert clip_to_heard(sentences, {0: 1.0, 1: 1.0, 2: 1.0}) == " ".join(sentences)
    assert clip_to_heard(sentences, {0: 0.1}) == ""
    assert clip_to_heard(sentences, {}) == ""


# --- engines that failed to load -----------------------------------------------------------


def test_llm_load_error_is_reported_when_asking_and_the_turn_ends(settings: Settings) -> None:
    message = "The language model file is corrupt: delete it and restart."

    async def body(h: Harness) -> None:
        status = [e for e in h.of(EngineStatus) if e.engine == "llm" and e.state == "error"]
        assert status and status[0].detail == message

        for question in ("hello?", "anyone there?"):  # the second is not stuck behind the first
            h.turns.ask(question)
            tid = h.of(UserTurn)[-1].turn_id
            done = await h.finished(tid)
            errors = h.of(ErrorRaised, tid)
            assert len(errors) == 1 and errors[0].source == "llm"
            assert message in errors[0].message
            assert done.reply == "" and done.interrupted is False
            assert not h.turns.busy
        assert h.llm.prompts == []
        # Unanswered questions leave no half exchange for the model to trip over later.
        assert h.turns.history.messages == []

    run(body, settings, llm_error=message)


def test_tts_load_error_still_shows_the_reply_and_says_why_once(settings: Settings) -> None:
    message = "The voice file is missing."
    reply = "Here is the first sentence of it. And here is the second sentence."

    async def body(h: Harness) -> None:
        h.turns.ask("talk to me")
        tid = h.of(UserTurn)[0].turn_id
        done = await h.finished(tid)
        await h.quiesce()
        assert done.reply.strip() == reply
        errors = h.of(ErrorRaised, tid)
        assert len(errors) == 1 and errors[0].source == "tts"
        assert message in errors[0].message
        assert sound_span(h.backend) == 0

    run(body, settings, llm=FakeLLM(reply), tts_error=message, speed=20.0)


def test_stt_failure_on_a_spoken_turn_is_reported(settings: Settings) -> None:
    class BrokenSTT(FakeSTT):
        def transcribe(self, audio: np.ndarray) -> str:
            raise RuntimeError("decoder exploded")

    async def body(h: Harness) -> None:
        tid = h.turns.begin_listening()
        h.turns.submit_audio(tid, np.zeros(1600, np.float32))
        done = await h.finished(tid)
        errors = h.of(ErrorRaised, tid)
        assert len(errors) == 1 and "decoder exploded" in errors[0].message
        assert done.transcript == "" and h.llm.prompts == []
        assert not h.turns.busy

    run(body, settings, stt=BrokenSTT())


def test_a_question_asked_while_the_model_loads_is_answered_when_ready(
    settings: Settings,
) -> None:
    """Engines.start() returns at once; asking before the LLM is loaded waits for it."""
    loaded = threading.Event()
    llm = FakeLLM("Ready now.")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        bus = EventBus(loop)
        finished: asyncio.Future[TurnFinished] = loop.create_future()
        bus.subscribe(TurnFinished, lambda e: finished.done() or finished.set_result(e))

        def slow_llm(_s: Settings, _p: object) -> FakeLLM:
            loaded.wait(TIMEOUT)
            return llm

        engines = Engines(
            bus,
            settings,
            stt_factory=lambda _s: FakeSTT(),
            llm_factory=slow_llm,
            tts_factory=lambda _s: FakeTTS(),
            warm_up=False,
        )
        settings.speak_replies = False
        session = Session(settings, bus, engines=engines)
        try:
            session.start()
            session.turns.ask("are you there?")
            assert not engines.is_loaded("llm")
            loaded.set()
            done = await asyncio.wait_for(finished, TIMEOUT)
            assert done.reply.strip() == "Ready now."
        finally:
            loaded.set()
            session.close()

    asyncio.run(main())


def test_playback_finished_of_another_turn_does_not_end_this_one(settings: Settings) -> None:
    """A stray end-of-playback (e.g. of a sound cue, turn 0) must not cut the reply short."""
    llm = FakeLLM("A reply long enough to still be playing here.", token_delay=0.0)

    async def body(h: Harness) -> None:
        h.turns.ask("hi")
        tid = h.of(UserTurn)[0].turn_id
        await h.until(lambda: h.of(PlaybackStarted, tid), "playback")
        h.bus.publish(PlaybackFinished(turn_id=0))
        h.bus.publish(PlaybackFinished(turn_id=tid + 100))
        assert h.finish_of(tid) is None
        done = await h.finished(tid)
        assert done.interrupted is False and done.spoken.strip() == llm.reply

    run(body, settings, llm=llm, tts=FakeTTS(seconds_per_word=0.05), speed=2.0)


def hold_the_key_through_a_pause(h: Harness) -> tuple[int, Recorder]:
    """Press the key and say something (0.6 s of tone), then 1 s of quiet, key still held."""
    recorder = h.session.recorder
    assert recorder is not None
    turn_id = h.turns.begin_listening(recorder)
    recorder.start()
    t = np.arange(int(0.6 * 48000)) / 48000
    h.backend.feed((0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), 48000)
    h.backend.feed(np.zeros(48000, np.float32), 48000)
    return turn_id, recorder


def test_stop_while_a_speculative_reply_waits_frees_the_llm_at_once(settings: Settings) -> None:
    """A reply started at a pause (key still held) that nobody adopts must not keep the LLM
    worker: Stop (or closing the window) ends it, and the next question is answered."""
    from app.pipeline.speculation import AHEAD_PIECES

    llm = FakeLLM(" ".join(f"word{i}" for i in range(200)), token_delay=0.001)

    async def body(h: Harness) -> None:
        _turn_id, recorder = hold_the_key_through_a_pause(h)
        await h.until(lambda: llm.tokens_yielded >= AHEAD_PIECES, "the speculative reply")
        await asyncio.sleep(0.2)
        assert llm.tokens_yielded == AHEAD_PIECES  # it waits instead of generating on
        assert h.of(LlmDelta) == []  # and nothing of it was shown
        h.turns.interrupt("stop")
        recorder.stop()
        await asyncio.wait_for(h.engines.worker("llm").run(lambda: None), 1.0)
        assert llm.tokens_yielded <= AHEAD_PIECES + 1
        llm.reply = "Fine."
        h.turns.ask("Are you there?")
        done = await h.finished(h.of(UserTurn)[-1].turn_id)
        assert done.reply.strip() == "Fine."

    run(body, settings, llm=llm, speed=1.0)


@pytest.mark.parametrize("speculate", [True, False])
def test_speculative_replies_setting_decides_whether_a_pause_starts_the_reply(
    settings: Settings, speculate: bool
) -> None:
    """Off (Settings: "Start the answer at a pause"), a pause with the key held is still
    transcribed, but the LLM first hears the question at release."""
    settings.speculative_replies = speculate
    stt = FakeSTT("what time is it")
    llm = FakeLLM("It is noon.", token_delay=0.001)

    async def body(h: Harness) -> None:
        tid, recorder = hold_the_key_through_a_pause(h)
        await h.until(lambda: stt.calls, "the transcript at the pause")
        if speculate:
            await h.until(lambda: llm.tokens_yielded > 0, "the speculative reply")
        else:
            await asyncio.sleep(0.5)
            await h.quiesce()
            assert llm.prompts == [] and llm.tokens_yielded == 0
        h.turns.submit_audio(tid, recorder.stop())
        done = await h.finished(tid)
        assert done.transcript == "what time is it" and done.reply.strip() == "It is noon."
        assert len(llm.prompts) == 1  # adopted, or asked once at release

    run(body, settings, stt=stt, llm=llm, speed=1.0)


@pytest.mark.parametrize("adopted", [True, False])
def test_the_speculative_first_clause_is_voiced_while_the_key_is_held(
    settings: Settings, adopted: bool
) -> None:
    """While the key is held the TTS worker is idle: the speculative reply's first clause is
    synthesised then, so an adopted reply is heard as soon as the key goes up, with no
    second rendering. A reply that is not adopted never plays that audio."""
    stt = FakeSTT("what time is it")
    llm = FakeLLM("It is noon. The sun is high.", token_delay=0.001)
    tts = FakeTTS(seconds_per_word=0.05, delay=0.4)  # a slow voice: rendering is visible

    async def body(h: Harness) -> None:
        tid, recorder = hold_the_key_through_a_pause(h)
        await h.until(lambda: tts.spoken, "the first clause to be synthesised ahead")
        assert tts.spoken == ["It is noon."]
        await h.quiesce()  # ...and ready, key still held
        if not adopted:  # the speaker goes on and lets go mid-word: another question
            stt.text = "what time is it in Tokyo"
            llm.reply = "It is nine in Tokyo."
            t = np.arange(int(0.3 * 48000)) / 48000
            h.backend.feed((0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), 48000)
            await h.until(lambda: h.backend.pending_input_seconds() == 0, "more speech")
        released = time.monotonic()
        h.turns.submit_audio(tid, recorder.stop())
        done = await h.finished(tid)
        chunks = h.of(TtsChunk, tid)
        if adopted:
            assert tts.spoken == ["It is noon.", "The sun is high."]  # never rendered twice
            # Heard well before a rendering (0.4 s) could have finished.
            assert chunks[0].at - released < 0.2, chunks[0].at - released
            assert done.reply.strip() == "It is noon. The sun is high."
        else:
            assert tts.spoken[1:] == ["It is nine in Tokyo."]
            assert done.reply.strip() == "It is nine in Tokyo."
            assert len(chunks) == 1 and chunks[0].at - released >= 0.4

    run(body, settings, stt=stt, llm=llm, tts=tts, speed=1.0)
