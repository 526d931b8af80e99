"""A sound server that goes away mid-reply, mid-hold or between turns, and comes back: the real
window (offscreen) on the real models and the real sound path (sounddevice -> PortAudio ->
ALSA's pulse plugin -> PulseAudio), on a PulseAudio server of the test's own
(tests/private_pulse.py), so killing it leaves the shared virtual-audio server alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest

from app.audio.sounddevice_backend import SoundDeviceBackend
from app.bus import EventBus
from app.bus.events import (
    AudioLost,
    EngineStatus,
    LlmDelta,
    PlaybackFinished,
    PlaybackStarted,
    TurnFinished,
)
from app.pipeline.engines import Engines
from app.session import Session
from app.storage.export import to_markdown
from app.ui.app import build_window
from tests.private_pulse import PrivatePulse

pytestmark = pytest.mark.audio

# What the user must never read: PortAudio's own words and codes.
RAW = ("PortAudio", "PaErrorCode", "Illegal combination", "host error", "-999")


@pytest.fixture
def pulse(virtual_audio: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivatePulse]:
    """A private sound server, the one this test's PortAudio streams connect to."""
    server = PrivatePulse()
    server.start()
    monkeypatch.setenv("PULSE_SERVER", server.server)
    yield server
    server.close()


@pytest.fixture
def window(qtbot, qloop, settings, real_models, pulse):
    settings.sound_cues = False
    bus = EventBus(qloop)
    win = build_window(settings, bus, SoundDeviceBackend(), real_models.engines(bus, settings))
    qtbot.addWidget(win)
    win.show()
    win.session.start()
    qtbot.waitUntil(
        lambda: all(win.status.states.get(n) == "ready" for n in ("stt", "llm", "tts")),
        timeout=60_000,
    )
    win.events = []
    for kind in (TurnFinished, PlaybackStarted, PlaybackFinished, EngineStatus, LlmDelta):
        bus.subscribe(kind, win.events.append)
    yield win
    win.close()


def finished(win) -> list[TurnFinished]:
    return [e for e in win.events if isinstance(e, TurnFinished)]


def errors(win) -> list[str]:
    return [b.text for b in win.chat.bubbles if b.role == "error"]


def audio_status(win) -> str:
    return win.status.states.get("audio", "")


def assert_plain(texts: list[str]) -> None:
    for text in texts:
        assert not any(raw in text for raw in RAW), text


@pytest.mark.models
def test_speaker_lost_mid_reply_shows_it_whole_answers_the_queue_and_comes_back(
    window, qtbot, pulse
):
    win = window
    assert audio_status(win) == "ready"
    win.session.settings.llm_max_tokens = 40
    win.input.setText("Describe the planet Mars in three sentences.")
    win.send_typed()
    qtbot.waitUntil(
        lambda: any(isinstance(e, PlaybackStarted) and e.turn_id for e in win.events),
        timeout=180_000,  # this machine's two cores are shared: minutes, at the worst
    )
    first = next(e.turn_id for e in win.events if isinstance(e, PlaybackStarted) and e.turn_id)
    win.input.setText("What is four plus five?")
    win.send_typed()  # queued behind the reply being spoken
    queued = [b for b in win.chat.bubbles if b.role == "user"][-1]
    assert queued.property("dimmed") is True

    pulse.kill()  # the sound server goes away mid-reply
    win.session.settings.llm_max_tokens = 16  # the turns after it: short, to keep this quick
    # Said at once, in plain words, in the status and the conversation.
    qtbot.waitUntil(lambda: audio_status(win) == "error", timeout=5_000)
    assert any("speaker" in e for e in errors(win)), errors(win)
    tooltip = win.status.labels["audio"].toolTip()
    assert "speaker" in tooltip
    assert_plain([tooltip, *errors(win)])

    # The reply ends without its audio, and the queued question is answered, as text.
    qtbot.waitUntil(lambda: len(finished(win)) == 2, timeout=180_000)
    lost, answered = finished(win)
    assert lost.turn_id == first and not lost.interrupted and lost.unheard
    assert len(lost.reply.split()) > 8
    bubble = win.chat.find("assistant", first)
    assert bubble is not None and bubble.text == lost.reply.strip()  # shown whole
    assert "not spoken" in bubble.note.text()
    # The history keeps the text shown, not the part heard, and says it was not heard.
    said = [m for m in win.session.turns.history.messages if m["role"] == "assistant"]
    assert said[0]["content"] == lost.reply.strip()
    store = win.session.store
    stored = [m for m in store.messages(win.session.turns.chat.chat_id) if m.role == "assistant"]
    assert stored[0].text == lost.reply.strip() and stored[0].meta.get("unheard")
    assert "not spoken" in to_markdown(store, win.session.turns.chat.chat_id)
    assert "9" in answered.reply or "nine" in answered.reply.lower()
    assert queued.property("dimmed") is False
    assert win.chat.find("assistant", answered.turn_id).text == answered.reply.strip()
    assert sum("speaker" in e for e in errors(win)) == 1  # said once, not at every turn
    assert_plain(errors(win))

    # The server comes back: the next reply is heard, without restarting Parley.
    pulse.start()
    win.input.setText("Say hello to me.")
    win.send_typed()
    qtbot.waitUntil(lambda: len(finished(win)) == 3, timeout=120_000)
    back = finished(win)[2]
    assert not back.unheard
    assert any(isinstance(e, PlaybackFinished) and e.turn_id == back.turn_id for e in win.events)
    assert audio_status(win) == "ready"


@pytest.mark.models
def test_microphone_lost_mid_hold_ends_the_hold_and_comes_back(window, qtbot, pulse):
    win = window
    recorder = win.session.recorder
    assert recorder is not None
    assert win.start_talking()
    qtbot.waitUntil(lambda: bool(recorder.block_levels()), timeout=10_000)

    pulse.kill()  # the sound server goes away while the key is held
    qtbot.waitUntil(lambda: not win._listening_turn, timeout=5_000)
    assert win.talk_button.property("listening") is False
    assert audio_status(win) == "error"
    assert any("microphone" in e for e in errors(win)), errors(win)
    assert_plain(errors(win))
    # The turn is over (nothing was said before the loss: nothing to answer).
    qtbot.waitUntil(lambda: bool(finished(win)), timeout=30_000)
    assert not win.session.turns.busy

    # Pressing again while it is gone says why, plainly, and listens to nothing.
    assert not win.start_talking()
    assert "microphone" in errors(win)[-1]
    assert_plain(errors(win))

    # Back: the next hold records again, and the status says so.
    pulse.start()
    assert win.start_talking()
    qtbot.waitUntil(lambda: audio_status(win) == "ready", timeout=10_000)
    win.stop()


def test_a_hung_sound_server_is_given_up_and_taken_back_headless(settings, pulse):
    """The sound server stops answering without closing anything (frozen), between turns, in
    the session with no window: it is said, the loop is never held up by the hung server
    (PortAudio's abort waited 8 s for it, an open 30 s), and once it answers again the
    speaker is taken back by itself."""

    async def run() -> tuple[list[object], float]:
        loop = asyncio.get_running_loop()
        bus = EventBus(loop)
        seen: list[object] = []
        bus.subscribe(AudioLost, seen.append)
        bus.subscribe(EngineStatus, seen.append)
        session = Session(
            settings, bus, engines=Engines(bus, settings), backend=SoundDeviceBackend()
        )
        assert session.player is not None and session.player.is_open
        worst = 0.0  # the loop's longest stall

        async def until(condition: Callable[[], bool], seconds: float) -> None:
            nonlocal worst
            deadline = time.monotonic() + seconds
            while not condition():
                assert time.monotonic() < deadline, seen
                before = time.monotonic()
                await asyncio.sleep(0.02)
                worst = max(worst, time.monotonic() - before)

        try:
            pulse.freeze()
            await until(lambda: any(isinstance(e, AudioLost) for e in seen), 15)
            pulse.freeze(False)
            ready = lambda: isinstance(seen[-1], EngineStatus) and seen[-1].state == "ready"  # noqa: E731
            await until(ready, 15)
        finally:
            session.close()
        return seen, worst

    seen, worst = asyncio.run(run())
    lost = [e for e in seen if isinstance(e, AudioLost)]
    assert [e.kind for e in lost] == ["output"]
    assert "speaker" in lost[0].message
    assert_plain([lost[0].message])
    assert worst < 1.0  # the hung server never held the loop (it would have for 8-30 s)
