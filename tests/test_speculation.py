"""The reply starts at the pause before the key goes up, and only if the question is over.

Real whisper and the real LLM; the fake microphone gives real-time pacing with the key held.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import numpy as np
import pytest

from app.audio.capture import STT_RATE
from app.audio.resample import resample
from app.audio.wavfile import read_audio
from app.pipeline.speculation import AHEAD_PIECES, Speculation
from tests.realtools import words
from tests.test_real_models import Turns

pytestmark = pytest.mark.models


def _phrase(wav) -> np.ndarray:
    samples, rate = read_audio(wav)
    audio = resample(samples, rate, STT_RATE)
    loud = np.flatnonzero(np.abs(audio) > 0.02)
    return audio[: loud[-1] + 1]  # ends on the last word


def test_a_question_followed_by_a_pause_is_answered_from_the_reply_started_while_held(
    real_models, settings, speech
):
    question = _phrase(speech("What is the capital of France?"))

    real_models.llm.warm_up(settings.system_prompt)  # as the app does at start

    async def scenario():
        turns = Turns(real_models, settings)
        await turns.ready()
        result = await turns.held([question], gap=0.0, hold_after=2.0)
        await turns.close()
        return result, turns

    result, turns = asyncio.run(scenario())

    assert "paris" in words(result.reply)
    # One request, made while the key was still down, and the one the reply came from.
    assert len(turns.llm.prompts) == 1
    assert turns.llm.prompts[0][-1]["content"] == result.transcript
    assert turns.llm.piece_times[0][0] < turns.released_at
    # The user sees the first words as soon as the transcript is final, not a prompt later.
    assert result.timings["t_first_token"] <= result.timings["t_transcript"] + 0.05


def test_speech_after_the_pause_replaces_the_early_reply_with_one_to_the_whole_question(
    real_models, settings, speech
):
    first = _phrase(speech("I am going to Paris tomorrow."))
    second = _phrase(speech("What is the capital of Italy?"))

    async def scenario():
        turns = Turns(real_models, settings)
        await turns.ready()
        result = await turns.held([first, second], gap=1.0, hold_after=0.1)
        await turns.close()
        return result, turns

    result, turns = asyncio.run(scenario())

    assert {"paris", "italy"} <= set(words(result.transcript))
    assert "rome" in words(result.reply), result.reply
    # The early reply (to the first sentence alone) was started, then dropped unseen.
    assert len(turns.llm.prompts) == 2
    assert "italy" not in words(turns.llm.prompts[0][-1]["content"])
    assert turns.llm.prompts[1][-1]["content"] == result.transcript
    assert all(d.at >= turns.released_at for d in turns.deltas)
    assert "".join(d.text for d in turns.deltas) == result.reply
    history = turns.session.turns.history.messages
    assert [m["content"] for m in history if m["role"] == "user"] == [result.transcript]


def _counting_stream(pulled: list[str], closed: threading.Event) -> Iterator[str]:
    try:
        for i in range(200):
            pulled.append(f"w{i} ")
            yield f"w{i} "
    finally:
        closed.set()


def _run_speculation() -> tuple[Speculation, threading.Thread, list[str], threading.Event]:
    """A speculation generating on its own thread, given half a second to run ahead."""
    pulled: list[str] = []
    closed = threading.Event()
    spec = Speculation("hello", [{"role": "user", "content": "hello"}])
    worker = threading.Thread(target=spec.run, args=(_counting_stream(pulled, closed),))
    worker.start()
    worker.join(0.5)
    return spec, worker, pulled, closed


def test_an_undecided_speculation_stops_early_and_a_cancelled_one_stops_for_good():
    spec, worker, pulled, closed = _run_speculation()
    # A long hold does not keep the CPU busy on a reply nobody may want.
    assert worker.is_alive() and len(pulled) == AHEAD_PIECES
    spec.cancel()
    worker.join(5)
    assert not worker.is_alive() and closed.is_set()
    assert len(pulled) <= AHEAD_PIECES + 1


def test_an_adopted_speculation_hands_over_its_pieces_in_order_then_streams():
    spec, worker, _pulled, _closed = _run_speculation()
    got: list[str] = []
    spec.adopt(got.append)
    worker.join(5)
    assert not worker.is_alive()
    assert got == [f"w{i} " for i in range(200)]
