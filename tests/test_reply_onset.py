"""A reply is heard from its first word: the quiet the voice puts before every sentence (piper:
30-64 ms) is skipped where the reply starts, so the user does not wait through it, and kept
between sentences, where it is part of the pause. Real piper audio, played through the player
into the fake device, which keeps every sample it was given (exact, repeatable)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.audio.fake import FakeAudioBackend
from app.audio.playback import Player

LOUD = 0.01  # as bench/heard_latency.py: the first sample a person hears


def onset(samples: np.ndarray, level: float = LOUD) -> int:
    return int(np.flatnonzero(np.abs(samples) > level)[0])


@pytest.mark.models
def test_a_reply_starts_at_its_first_word_and_keeps_its_pauses(real_models):
    tts = real_models.tts
    rate = tts.sample_rate
    first = np.concatenate(list(tts.synthesize("Eight.")))
    second = np.concatenate(list(tts.synthesize("Why is the sky blue?")))
    # What the voice does, and so what a reply started with before: 45 ms or more of quiet.
    assert onset(first) / rate > 0.045 and onset(second) / rate > 0.045

    backend = FakeAudioBackend(output_rate=rate, speed=4.0)  # no resampling: samples compare
    started: dict[int, int] = {}  # turn -> index of the device block its first sound is in
    done = threading.Event()
    player = Player(
        backend,
        on_started=lambda t: started.setdefault(t, len(backend.played)),
        on_finished=lambda t: done.set(),
    )
    block = int(rate * 0.01)
    player.open()
    try:
        player.enqueue(1, 0, first, rate)
        player.enqueue(1, 1, second, rate)
        player.finish(1)
        assert done.wait(10)
        heard = player.heard(1)
        done.clear()
        player.enqueue(2, 0, second, rate)  # the next reply starts at once too
        player.finish(2)
        assert done.wait(10)
    finally:
        player.close()
    played = backend.played_audio()

    start = started[1] * block  # the player's first sample of the reply (a block starts there)
    waited = onset(played[start:]) / rate
    assert waited < 0.015, f"the first word came {waited * 1000:.0f} ms into the reply"
    assert onset(played[started[2] * block :]) / rate < 0.015

    # Only quiet was skipped, and only before the first sentence: the rest is played sample for
    # sample, so the pause between the sentences is the voice's own.
    reply = played[start:]
    quiet = onset(first, 0.003)  # where the voice's quiet opening ends
    skipped = next(
        (k for k in range(quiet + 1) if np.array_equal(reply[: len(first) - k], first[k:])), None
    )
    assert skipped, "the first sentence was not played whole from a point in its quiet opening"
    assert np.array_equal(reply[len(first) - skipped : len(first) - skipped + len(second)], second)
    assert heard == {0: 1.0, 1: 1.0}  # all of both sentences counts as heard
