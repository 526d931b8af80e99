"""The real offline default models (whisper tiny.en, Qwen2.5 1.5B, piper joe), loaded once per
session, in-process: what they hear, say and answer, and the turn pipeline driving them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import jiwer
import numpy as np
import pytest

from app.audio.capture import STT_RATE
from app.audio.resample import resample
from app.audio.wavfile import read_audio
from app.bus import EventBus
from app.bus.events import LlmDelta, Notice, TurnFinished
from app.cli.say_output import WavSink
from app.config import Settings
from app.llm.base import Message
from app.pipeline.engines import Engines
from app.pipeline.hear import NO_SPEECH
from app.session import Session
from tests.realtools import load_16k, rms, similarity, words

pytestmark = pytest.mark.models


# --- the voice and the ear ---------------------------------------------------------------------

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please open the window and water the plants.",
    "Remind me to call my sister tomorrow morning.",
]


@pytest.mark.parametrize("sentence", SENTENCES)
def test_piper_speech_is_transcribed_back_nearly_word_for_word(real_models, sentence):
    """Piper draws random noise for every rendering (VITS), so the same sentence sounds a
    little different each time: tiny.en once heard "quick" as "quit" in a full run. One word may
    differ; a voice or an ear that is broken gets most of them wrong."""
    tts, stt = real_models.tts, real_models.stt
    chunks = list(tts.synthesize(sentence))
    audio = np.concatenate(chunks)
    assert audio.dtype == np.float32
    seconds = len(audio) / tts.sample_rate
    assert 1.0 < seconds < 8.0, seconds  # a sentence, not a click or a minute
    assert rms(audio) > 0.02

    heard = stt.transcribe(resample(audio, tts.sample_rate, STT_RATE))

    errors = jiwer.process_words(" ".join(words(sentence)), " ".join(words(heard)))
    assert errors.substitutions + errors.deletions + errors.insertions <= 1, heard


def test_whisper_understands_espeak_at_48k_stereo(real_models, speech):
    """The path `parley ask --audio` takes: a 48 kHz stereo file, mixed down and resampled."""
    samples, rate = read_audio(speech("What is the capital of France?"))
    assert rate == 48000
    heard = real_models.stt.transcribe(resample(samples, rate, STT_RATE))
    assert {"capital", "france"} <= set(words(heard)), heard
    assert similarity(heard, "What is the capital of France?") >= 0.85, heard


@pytest.mark.parametrize("kind", ["silence", "faint-noise"])
def test_whisper_hears_nothing_in_silence_or_faint_noise(real_models, kind):
    rng = np.random.default_rng(7)
    audio = np.zeros(2 * STT_RATE, np.float32)
    if kind == "faint-noise":
        audio = (0.01 * rng.standard_normal(2 * STT_RATE)).astype(np.float32)
    assert real_models.stt.transcribe(audio) == ""


# --- the language model ------------------------------------------------------------------------


def _ask(settings: Settings, text: str) -> list[Message]:
    return [
        {"role": "system", "content": settings.system_prompt},
        {"role": "user", "content": text},
    ]


def test_llm_streams_a_correct_answer(real_models, settings):
    pieces = list(
        real_models.llm.stream_chat(
            _ask(settings, "What is the capital of France?"), settings.llm_max_tokens, 0.0
        )
    )
    assert len(pieces) > 1  # streamed token by token, not in one block at the end
    assert "paris" in words("".join(pieces))


def test_llm_stops_at_max_tokens(real_models, settings):
    llm = real_models.llm
    prompt = _ask(settings, "Count from one to one hundred in words, separated by commas.")
    text = "".join(llm.stream_chat(prompt, 8, 0.0))
    assert text.strip()
    assert len(llm.llm.tokenize(text.encode(), add_bos=False, special=False)) <= 8, text


def test_llm_token_count_bounds_the_real_prompt(real_models, settings):
    """count_tokens is what keeps the history inside the context: it must not undercount
    what llama.cpp really puts in the prompt once the chat template is applied."""
    llm = real_models.llm
    messages = _ask(settings, "What is the capital of France?")
    messages += [
        {"role": "assistant", "content": "The capital of France is Paris."},
        {"role": "user", "content": "And of Italy? Answer with the city only, please."},
    ]
    done = llm.llm.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0)
    real = done["usage"]["prompt_tokens"]
    assert real > 60  # the system prompt alone is longer than that
    assert real <= llm.count_tokens(messages) <= real * 1.5


# --- whole turns through the real pipeline -----------------------------------------------------


class CountingLLM:
    """The real LLM, recording each request and the moment it produced each piece."""

    def __init__(self, real: object) -> None:
        self.real = real
        self.name = real.name
        self.context_size = real.context_size
        self.prompts: list[list[Message]] = []
        self.piece_times: list[list[float]] = []  # per request

    def count_tokens(self, messages: list[Message]) -> int:
        return self.real.count_tokens(messages)

    def stream_chat(
        self, messages: list[Message], max_tokens: int, temperature: float
    ) -> Iterator[str]:
        self.prompts.append(list(messages))
        times: list[float] = []
        self.piece_times.append(times)
        for piece in self.real.stream_chat(messages, max_tokens, temperature):
            times.append(time.monotonic())
            yield piece


class Turns:
    """A Session on the real engines, driven as the window drives it, inside asyncio.run."""

    def __init__(self, real_models, settings: Settings, sink_path: Path | None = None) -> None:
        self.bus = EventBus(asyncio.get_running_loop())
        self.llm = CountingLLM(real_models.llm)
        engines = Engines(
            self.bus,
            settings,
            stt_factory=lambda _s: real_models.stt,
            llm_factory=lambda _s, _p: self.llm,
            tts_factory=lambda _s: real_models.tts,
            warm_up=False,
        )
        settings.speak_replies = sink_path is not None
        sink = WavSink(self.bus, sink_path) if sink_path else None
        self.session = Session(settings, self.bus, engines=engines, sink=sink)
        self.finished: asyncio.Queue[TurnFinished] = asyncio.Queue()
        self.notices: list[Notice] = []
        self.deltas: list[LlmDelta] = []
        self.bus.subscribe(TurnFinished, self.finished.put_nowait)
        self.bus.subscribe(Notice, self.notices.append)
        self.bus.subscribe(LlmDelta, self.deltas.append)
        self.session.start()

    async def ready(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.session.engines.wait)

    async def spoken(self, audio: np.ndarray) -> TurnFinished:
        turn_id = self.session.turns.begin_listening()
        self.session.turns.submit_audio(turn_id, audio)
        return await asyncio.wait_for(self.finished.get(), 120)

    async def held(self, phrases: list[np.ndarray], gap: float, hold_after: float) -> TurnFinished:
        """Speak 16 kHz `phrases` into a fake microphone at real-time pace with the key held
        (`gap` seconds of quiet between them), let go `hold_after` seconds after the last."""
        from app.audio.capture import Recorder
        from app.audio.fake import FakeAudioBackend

        backend = FakeAudioBackend(input_rate=STT_RATE)
        recorder = Recorder(backend)
        turn_id = self.session.turns.begin_listening(recorder)
        recorder.start()
        for i, phrase in enumerate(phrases):
            backend.feed(phrase, STT_RATE)
            if i < len(phrases) - 1:
                backend.feed(np.zeros(int(gap * STT_RATE), np.float32), STT_RATE)
        while backend.pending_input_seconds() > 0:
            await asyncio.sleep(0.005)
        await asyncio.sleep(hold_after)
        self.released_at = time.monotonic()
        self.session.turns.submit_audio(turn_id, recorder.stop())
        return await asyncio.wait_for(self.finished.get(), 120)

    async def typed(self, text: str) -> TurnFinished:
        assert self.session.turns.ask(text)
        return await asyncio.wait_for(self.finished.get(), 120)

    async def close(self) -> None:
        await self.bus.drain()
        self.session.close()


def test_spoken_question_is_answered_and_the_reply_is_spoken(
    real_models, settings, speech, tmp_path
):
    out = tmp_path / "reply.wav"
    samples, rate = read_audio(speech("What is the capital of France?"))

    async def scenario() -> TurnFinished:
        turns = Turns(real_models, settings, sink_path=out)
        await turns.ready()
        result = await turns.spoken(resample(samples, rate, STT_RATE))
        await turns.close()
        return result

    result = asyncio.run(scenario())

    assert not result.interrupted
    assert "france" in words(result.transcript)
    assert "paris" in words(result.reply)
    assert result.spoken == result.reply
    # What the user hears is what the window shows.
    heard = real_models.stt.transcribe(load_16k(out))
    assert similarity(heard, result.reply) >= 0.85, (heard, result.reply)


def test_silence_never_reaches_the_language_model(real_models, settings):
    async def scenario() -> tuple[TurnFinished, Turns]:
        turns = Turns(real_models, settings)
        await turns.ready()
        result = await turns.spoken(np.zeros(2 * STT_RATE, np.float32))
        await turns.close()
        return result, turns

    result, turns = asyncio.run(scenario())

    assert result.transcript == "" and result.reply == ""
    assert [n.message for n in turns.notices] == [NO_SPEECH]
    assert turns.llm.prompts == []  # the model was never asked
    assert turns.deltas == []


def test_follow_up_question_uses_the_conversation(real_models, settings):
    async def scenario() -> list[TurnFinished]:
        turns = Turns(real_models, settings)
        await turns.ready()
        first = await turns.typed("Hello! My name is Alice.")
        second = await turns.typed("What is my name?")
        await turns.close()
        return [first, second]

    first, second = asyncio.run(scenario())
    assert first.reply.strip()
    assert "alice" in words(second.reply), second.reply


def test_interrupt_stops_the_real_model_at_once_and_the_next_question_is_answered(
    real_models, settings
):
    settings.llm_max_tokens = 200

    async def scenario() -> tuple[TurnFinished, TurnFinished, Turns, float]:
        turns = Turns(real_models, settings)
        await turns.ready()
        cut_at: list[float] = []

        def barge_in(ev: LlmDelta) -> None:
            if not cut_at and len(turns.deltas) >= 3:
                cut_at.append(time.monotonic())
                turns.session.turns.interrupt()

        turns.bus.subscribe(LlmDelta, barge_in)
        assert turns.session.turns.ask("Tell me a long story about a dragon who learns to fly.")
        cut = await asyncio.wait_for(turns.finished.get(), 120)
        after = await turns.typed("What is the capital of France?")
        await turns.close()
        return cut, after, turns, cut_at[0]

    cut, after, turns, cut_at = asyncio.run(scenario())

    assert cut.interrupted
    first, second = turns.llm.piece_times  # two requests: the story, then the question
    # The worker checks the cancel token between tokens: at most the token being computed
    # when the user barged in is still produced, not the rest of a 200-token story.
    assert sum(1 for t in first if t > cut_at) <= 1, len(first)
    assert len(first) < 40
    assert cut.reply and cut.reply in turns.llm.prompts[1][-2]["content"]  # kept what was shown
    assert "paris" in words(after.reply)
