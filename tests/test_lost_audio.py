"""A sound server that goes away mid-reply, mid-hold or between turns, and comes back: the real
window (offscreen) on the real models and the real sound path (sounddevice -> PortAudio ->
ALSA's pulse plugin -> PulseAudio), on a PulseAudio server of the test's own
(tests/private_pulse.py), so killing it leaves the shared virtual-audio server alone."""

from __future__ import annotations

import asyncio
import json
import queue
import subprocess
import sys
import threading
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
from tests.realtools import REPO

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
    # The audio devices open on a thread of their own: wait for them too, not only the models.
    qtbot.waitUntil(
        lambda: all(win.status.states.get(n) == "ready" for n in ("stt", "llm", "tts", "audio")),
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


# --- a sound system that hangs or is missing, with the window ---------------------------------


def test_a_sound_server_that_hangs_never_freezes_the_window(qtbot, qloop, pulse):
    """Frozen while the window runs, its speaker closed (idle): holding the talk key, asking
    a typed question and saving new devices in Settings each opened a device on the window's
    thread, which PortAudio held 30 s. Now the window goes on: the hold ends by itself, the
    reply is shown as text, the status says the sound system is not answering, and once it
    answers again the microphone and speaker are used again."""
    from PySide6.QtCore import QTimer

    from tests.sound_window import scripted_window

    win = scripted_window(qloop)
    qtbot.addWidget(win)
    win.show()
    win.session.start()
    qtbot.waitUntil(lambda: win.status.states.get("llm") == "ready", timeout=30_000)
    win.events = []
    win.bus.subscribe(TurnFinished, win.events.append)
    session = win.session
    assert audio_status(win) == "ready"
    session.speaker_idle_seconds = 0.2
    session._speaker_idle_later(None)
    qtbot.waitUntil(lambda: not session.player.is_open, timeout=5_000)
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)

    pulse.freeze()
    began = time.monotonic()
    assert win.start_talking()  # the hold begins at once
    assert time.monotonic() - began < 0.5
    qtbot.waitUntil(lambda: not win._listening_turn, timeout=10_000)  # and ends by itself
    assert "not answering" in errors(win)[-1] and "microphone" in errors(win)[-1]

    qtbot.waitUntil(lambda: not session.turns.busy, timeout=10_000)  # nothing was said
    before = len(finished(win))
    win.input.setText("How are you?")
    win.send_typed()
    qtbot.waitUntil(lambda: len(finished(win)) > before, timeout=15_000)
    reply = finished(win)[-1]
    assert reply.unheard and win.chat.find("assistant", reply.turn_id).text == reply.reply.strip()
    assert any("not answering" in e and "speaker" in e for e in errors(win)), errors(win)
    assert audio_status(win) == "error"
    assert "not answering" in win.status.labels["audio"].toolTip()

    began = time.monotonic()
    session.reopen_audio()  # Settings saved with new devices
    assert time.monotonic() - began < 0.5
    qtbot.wait(1_000)
    timer.stop()
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert max(gaps) < 0.5, max(gaps)  # it had stalled 30 s at each
    assert_plain(errors(win))

    pulse.freeze(False)  # it answers again: the next hold records, the status says so
    qtbot.waitUntil(lambda: session.player is not None, timeout=40_000)
    assert win.start_talking()
    qtbot.waitUntil(lambda: audio_status(win) == "ready", timeout=40_000)
    win.stop()
    win.close()


class SoundWindow:
    """`python -m tests.sound_window`: Parley's window started in a process of its own (so
    PortAudio starts afresh, against the private server); its status lines, read by a
    thread."""

    def __init__(self, pulse: PrivatePulse) -> None:
        env = {**pulse.env, "QT_QPA_PLATFORM": "offscreen"}
        cmd = [sys.executable, "-m", "tests.sound_window"]
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)  # fmt: skip
        self.lines: queue.Queue[dict] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def until(self, condition: Callable[[dict], bool], seconds: float) -> dict:
        """The first status line that meets `condition`, and when it came (`at`)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if condition(line):
                return {**line, "at": time.monotonic()}
        raise AssertionError(f"no such status in {seconds} s")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def private_pulse(virtual_audio: str) -> Iterator[PrivatePulse]:
    server = PrivatePulse()  # not started: each test starts (or freezes) it
    yield server
    server.close()


def test_a_sound_system_missing_at_launch_is_used_once_it_starts(private_pulse):
    """Parley started before the sound server (at login, say): the window says there is no
    microphone or speaker; once the server starts, it finds both by itself (it had needed the
    devices reopened in Settings) and says so in its status."""
    window = SoundWindow(private_pulse)
    try:
        shown = window.until(lambda line: line.get("shown"), 30)
        assert shown["audio"] == "error"
        time.sleep(1.0)
        private_pulse.start()
        started = time.monotonic()
        back = window.until(lambda line: line.get("audio") == "ready" and line["talk"], 20)
        assert back["at"] - started < 8  # looked for every 3 s
    finally:
        window.close()


@pytest.mark.timeout(120)
def test_parley_started_while_the_sound_server_hangs_opens_at_once_and_says_so(private_pulse):
    """The sound server hangs when Parley starts: the window had waited 150 s for PortAudio
    (listing the devices, then opening the speaker) before it showed. Now it shows at once,
    says the sound system is not answering, and uses it once it answers."""
    private_pulse.start()
    private_pulse.freeze()
    window = SoundWindow(private_pulse)
    try:
        shown = window.until(lambda line: line.get("shown"), 20)
        assert shown["t"] < 5
        stuck = window.until(lambda line: line.get("audio") == "error", 15)
        assert "not answering" in stuck["detail"]
        assert_plain([stuck["detail"]])
        private_pulse.freeze(False)
        window.until(lambda line: line.get("audio") == "ready" and line["talk"], 60)
    finally:
        window.close()
