"""Hold Space to talk in the real window on a real X server, with key autorepeat on as on every
desktop: X11 then sends a fake KeyRelease/KeyPress pair 30 times a second while the key is
held, and Qt flags them as autorepeat only when the next press is already queued. Driven from
outside: Xvfb, `xset r on`, `xdotool keydown/keyup` as separate processes, the question spoken
into the virtual microphone in real time, the answer recorded from the virtual speaker. The GUI
thread is kept busy meanwhile (150 ms of every 200 ms), as on a loaded machine."""

from __future__ import annotations

import time

import numpy as np
import pytest

from app.audio.resample import resample
from app.pipeline.turns import NO_SPEECH
from tests.realtools import SpeakerRecording, say_into_mic, similarity, words
from tests.x11 import Window, XServer

QUESTION = "How many legs does a spider have?"


@pytest.fixture
def xserver():
    with XServer() as server:
        yield server


def hold_space_and_ask(xserver: XServer, window: Window, question_wav) -> float:  # noqa: ANN001
    """Press Space, speak, let go 0.4 s after the last word; the release time."""
    xserver.key("keydown")
    window.wait_for("listening", timeout=10)
    say_into_mic(question_wav)  # real time: the key stays down meanwhile, autorepeating
    time.sleep(0.4)
    return xserver.key("keyup")


@pytest.mark.models
@pytest.mark.audio
@pytest.mark.parametrize(
    ("busy", "autorepeat"),
    [
        ("", ""),  # an idle window: Qt reads each fake release before its press arrives
        ("150/200", ""),  # a busy GUI thread
        ("", "plain"),  # the server's fake releases left on: the key-state check alone
    ],
    ids=["idle", "busy-gui", "fake-releases"],
)
def test_holding_space_with_autorepeat_is_one_turn_and_an_answer(
    virtual_audio, xserver, speech, tmp_path, real_models, busy, autorepeat
):
    """On the code before this test, an idle window made 6 turns of 2 holds (3 of them "I
    didn't hear anything"): Qt flagged only 243 of 249 fake releases as autorepeat."""
    question = speech(QUESTION)
    env = {"PARLEY_X11_AUTOREPEAT": autorepeat}
    settings = {"sound_cues": False}
    with Window(xserver, tmp_path, busy=busy, settings=settings, env=env) as window:
        window.wait_ready()
        xserver.autorepeat(250, 30)  # while the window is connected (Xvfb resets it otherwise)
        recording = SpeakerRecording(tmp_path / "speaker.wav", max_seconds=90)
        recording.wait_started()
        try:
            hold_space_and_ask(xserver, window, question)
            finished = window.wait_for("turn_finished", timeout=90)
            time.sleep(1.0)  # a second extra turn would have started by now
        finally:
            heard, rate = recording.stop()
        events = window.events()

    turns = [e for e in events if e["kind"] == "listening"]
    notices = [e["message"] for e in events if e["kind"] == "notice"]
    said = [e["text"] for e in events if e["kind"] == "user_turn"]
    releases = [
        e for e in events if e["kind"] == "key" and e["action"] == "release" and not e["autorepeat"]
    ]
    assert len(turns) == 1, f"{len(turns)} turns for one hold of Space; notices: {notices}"
    if autorepeat == "plain":  # the case is real: Qt let fake releases through unflagged
        assert len(releases) >= 2, releases
    assert NO_SPEECH not in notices, notices
    assert len(said) == 1 and similarity(said[0], QUESTION) >= 0.85, said
    reply = finished[0]["reply"]
    assert "eight" in words(reply) or "8" in words(reply), reply
    # And it was said out loud: the speaker carried the reply, which whisper hears back.
    loud = np.flatnonzero(np.abs(heard) > 0.02)
    assert loud.size, "the speaker stayed silent"
    spoken = heard[max(0, loud[0] - rate // 4) : loud[-1] + rate // 2]
    back = real_models.stt.transcribe(resample(spoken, rate, 16000))
    assert similarity(back, reply) >= 0.6, (back, reply)
