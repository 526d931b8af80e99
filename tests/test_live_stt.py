"""Transcribing while the key is held: at pauses, in the background, so that at release only
the tail (often nothing) is left. Real whisper; the fake microphone gives exact pacing."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from app.audio.capture import Recorder
from app.audio.fake import FakeAudioBackend
from app.audio.wavfile import read_audio
from app.bus.worker import Worker
from app.stt.live import LiveTranscriber
from tests.realtools import words as normalise_words

pytestmark = pytest.mark.models


class CountingSTT:
    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: list[float] = []  # seconds of audio per call

    def transcribe(self, audio: np.ndarray) -> str:
        self.calls.append(audio.size / 16000)
        return self.inner.transcribe(audio)


def _say(backend: FakeAudioBackend, wav, pause: float = 0.0, cut: float = 0.0) -> None:
    samples, rate = read_audio(wav)
    loud = np.flatnonzero(np.abs(samples) > 0.02)
    # No trailing silence: the key goes up on the last word (`cut` seconds before its end).
    samples = samples[: loud[-1] + 1 - int(cut * rate)]
    backend.feed(samples, rate)
    if pause:
        backend.feed(np.zeros(int(rate * pause), np.float32), rate)


async def _hold_and_speak(stt, backend, phrases, hold_after: float, events=None, cut=0.0):
    recorder = Recorder(backend)
    worker = Worker("stt-test")
    live = LiveTranscriber(stt, worker, recorder)
    if events is not None:
        live.on_partial = lambda text: events.append(("partial", text))
        live.on_resumed = lambda: events.append(("resumed", ""))
    recorder.start()
    live.start()
    for i, wav in enumerate(phrases):
        last = i == len(phrases) - 1
        _say(backend, wav, pause=0.0 if last else 0.7, cut=cut if last else 0.0)
    while backend.pending_input_seconds() > 0:
        await asyncio.sleep(0.02)
    await asyncio.sleep(hold_after)
    audio = recorder.stop()
    calls_before_release = len(stt.calls)
    text = await live.finish(audio)
    worker.shutdown()
    return text, live, calls_before_release


def test_a_pause_is_transcribed_while_held_and_release_adds_only_the_tail(real_models, speech):
    stt = CountingSTT(real_models.stt)
    first = speech("I am going to Paris tomorrow.")
    second = speech("What should I wear outside today?")
    text, live, before = asyncio.run(  # let go while still saying "today"
        _hold_and_speak(stt, FakeAudioBackend(), [first, second], hold_after=0.0, cut=0.15)
    )
    words = normalise_words(text)
    for w in ("going", "paris", "tomorrow", "wear", "outside"):
        assert w in words, text
    assert live.partials >= 1 and before >= 1  # the first phrase was done while held
    # Speech after the last pause in a short utterance: decoded whole again for accuracy.
    assert len(stt.calls) == before + 1
    assert stt.calls[-1] >= 0.95 * max(stt.calls)


def test_letting_go_after_a_pause_leaves_nothing_to_decode(real_models, speech):
    stt = CountingSTT(real_models.stt)
    wav = speech("How many legs does a spider have?")
    text, live, before = asyncio.run(
        _hold_and_speak(stt, FakeAudioBackend(), [wav], hold_after=0.9)
    )
    assert "spider" in normalise_words(text)
    assert len(stt.calls) == before  # no decoding left at release


def test_each_pause_hears_the_whole_utterance_so_far_and_resumed_speech_is_reported(
    real_models, speech
):
    stt = CountingSTT(real_models.stt)
    first = speech("I am going to Paris tomorrow.")
    second = speech("What should I wear outside?")
    events: list[tuple[str, str]] = []
    text, live, before = asyncio.run(
        _hold_and_speak(stt, FakeAudioBackend(), [first, second], hold_after=0.9, events=events)
    )
    kinds = [kind for kind, _ in events]
    # What the speculative reply is started on: first the first phrase, then (after being
    # told the speaker went on) both phrases, decoded as one utterance, not as fragments.
    assert kinds == ["partial", "resumed", "partial"], events
    assert "paris" in normalise_words(events[0][1])
    assert "wear" not in normalise_words(events[0][1])
    assert {"paris", "wear", "outside"} <= set(normalise_words(events[2][1]))
    assert stt.calls[1] > stt.calls[0] + 1.0  # the second pass started at the beginning
    assert text == events[2][1]
    assert len(stt.calls) == before  # nothing left to decode at release
