"""Devices that refuse mono (raw hardware often does): capture mixes down, playback fills
every channel. The fake device stands in for such hardware, which the virtual server is not."""

from __future__ import annotations

import threading

import numpy as np

from app.audio.capture import Recorder
from app.audio.fake import FakeAudioBackend
from app.audio.playback import Player


def test_stereo_only_devices_still_record_and_play():
    backend = FakeAudioBackend(min_channels=2, speed=4.0)
    rate = 16000
    t = np.arange(rate) / rate
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)

    recorder = Recorder(backend)
    recorder.start()
    backend.feed(tone, rate)
    while backend.pending_input_seconds() > 0:
        threading.Event().wait(0.01)
    audio = recorder.stop()
    assert [s.channels for s in backend.streams] == [2]
    # |0.5 sin| exceeds 0.1 for 87% of the time: about 0.87 s of the 1 s tone, at 16 kHz.
    loud = np.count_nonzero(np.abs(audio) > 0.1) / rate
    assert 0.8 < loud < 0.95, loud

    done = threading.Event()
    player = Player(backend, on_finished=lambda _t: done.set())
    player.open()
    player.enqueue(1, 0, tone, rate)
    player.finish(1)
    assert done.wait(5)
    player.close()
    assert backend.streams[-1].channels == 2
    played = backend.played_audio()
    assert np.abs(played).max() > 0.45  # both channels carried the tone (mono mix keeps level)


def test_a_chime_plays_over_the_reply_instead_of_ahead_of_it():
    """The release chime (0.18 s) and the reply's first clause start together: the reply is
    heard from the first block, with the chime mixed in, not after the chime."""
    backend = FakeAudioBackend(speed=1.0)
    rate = 16000
    t = np.arange(rate // 2) / rate
    chime = (0.2 * np.sin(2 * np.pi * 1000 * t[: int(0.18 * rate)])).astype(np.float32)
    reply = (0.4 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    done = threading.Event()
    started: list[int] = []
    player = Player(backend, on_started=started.append, on_finished=lambda _t: done.set())
    player.open()
    player.play_cue(chime, rate)
    player.enqueue(7, 0, reply, rate)
    player.finish(7)
    assert done.wait(5)
    player.close()
    played = backend.played_audio()
    out_rate = backend.output_rate
    head = played[: int(0.05 * out_rate)]  # the first 50 ms carry both sounds
    spectrum = np.abs(np.fft.rfft(head))
    freqs = np.fft.rfftfreq(head.size, 1 / out_rate)
    assert spectrum[np.argmin(np.abs(freqs - 200))] > 10 * np.median(spectrum)  # the reply
    assert spectrum[np.argmin(np.abs(freqs - 1000))] > 10 * np.median(spectrum)  # the chime
    assert started == [7]
    # The reply is not stretched by the chime: all of it played within about its own length.
    loud = np.flatnonzero(np.abs(played) > 0.05)
    assert (loud[-1] - loud[0]) / out_rate < 0.5 + 0.03
