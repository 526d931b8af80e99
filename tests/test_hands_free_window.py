"""Hands-free in the window: the switch, the mute and the state it shows, on the same core as
`parley listen` (app/pipeline/hands_free_switch.py, app/ui/hands_free_part.py).

The real window (offscreen) on the real default models; the questions in piper's voice. One
test on a fake microphone (the widgets' states and the streams they open and close), one on
the real sound stack: a private PulseAudio whose speaker leaks into its microphone like a
laptop's (room at -6 dB after 60 ms), where a spoken question is answered with no key, the
talk key still works, and a question said while muted is not heard."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from app.audio.sounddevice_backend import SoundDeviceBackend
from app.bus import EventBus
from app.bus.events import HandsFreeState, PlaybackStarted, TurnFinished, UserTurn
from app.cli.main import build_parser
from app.ui.app import build_window
from tests.private_pulse import PrivatePulse
from tests.realtools import words
from tests.test_hands_free import wav_of

models = pytest.mark.models


def piper(real_models, text: str) -> tuple[np.ndarray, int]:  # noqa: ANN001
    voice = real_models.tts
    audio = np.concatenate(list(voice.synthesize(text)))
    return np.concatenate([audio, np.zeros(voice.sample_rate // 2, np.float32)]), voice.sample_rate


class Shown:
    """Each hands-free state as the window drew it: (state, the label's words, its colour)."""

    def __init__(self, window) -> None:  # noqa: ANN001
        self.window = window
        self.seen: list[tuple[str, str, str]] = []
        self.turns: list[TurnFinished] = []
        self.heard: list[str] = []
        window.bus.subscribe(HandsFreeState, self._state)  # after the window's own handler
        window.bus.subscribe(TurnFinished, self.turns.append)
        window.bus.subscribe(UserTurn, lambda e: self.heard.append(e.text))

    def _state(self, ev: HandsFreeState) -> None:
        label = self.window.hands_free_state
        shown = label.text() if label.isVisibleTo(self.window) else ""
        self.seen.append((ev.state, shown, str(label.property("mode"))))

    def states(self) -> list[str]:
        return [state for state, _, _ in self.seen]

    def label(self) -> str:
        return self.window.hands_free_state.text()


def back_to(qtbot, shown: Shown, state: str) -> None:  # noqa: ANN001
    try:
        qtbot.waitUntil(lambda: shown.states()[-1] == state, timeout=5_000)
    except qtbot.TimeoutError as exc:
        raise AssertionError(f"not back to {state}: {shown.seen}") from exc


def open_inputs(backend) -> list:  # noqa: ANN001
    return [s for s in backend.streams if s.kind == "input" and not s.closed]


@models
def test_the_switch_listens_without_a_key_shows_each_state_and_mute_closes_the_microphone(
    gui, qtbot, real_models
):
    shown = Shown(gui)
    assert not gui.hands_free_state.isVisible() and not gui.mute_button.isVisible()
    assert gui.hands_free_button.accessibleName() == "Hands-free"
    gui.hands_free_button.click()
    qtbot.waitUntil(lambda: "Listening" in shown.label(), timeout=20_000)
    assert gui.mute_button.isVisible() and len(open_inputs(gui.backend)) == 1
    assert gui.hands_free_state.property("mode") == "listening"
    # Parley has not spoken yet: the canceller has still to learn the room.
    assert "learning the room" in shown.label()
    assert gui.hands_free_state.accessibleName().startswith("Hands-free: Listening")

    gui.backend.feed(*piper(real_models, "What is the capital of France?"))
    qtbot.waitUntil(lambda: bool(shown.turns), timeout=30_000)
    back_to(qtbot, shown, "listening")
    turn = shown.turns[0]
    assert "france" in words(turn.transcript) and "paris" in words(turn.reply), turn
    assert not turn.interrupted
    states = shown.states()
    order = [states.index(s) for s in ("listening", "hearing", "thinking", "speaking")]
    assert order == sorted(order), shown.seen
    drawn = {state: (text, mode) for state, text, mode in shown.seen}
    assert "Hearing you" in drawn["hearing"][0] and drawn["hearing"][1] == "hearing"
    assert "Thinking" in drawn["thinking"][0] and drawn["thinking"][1] == "thinking"
    assert "Speaking" in drawn["speaking"][0] and drawn["speaking"][1] == "speaking"
    assert any(b.role == "assistant" and "Paris" in b.text for b in gui.chat.bubbles)

    gui.mute_button.click()
    qtbot.waitUntil(lambda: "Muted" in shown.label(), timeout=5_000)
    assert open_inputs(gui.backend) == [] and gui.mute_button.text() == "Unmute"
    assert gui.hands_free_state.property("mode") == "muted"
    gui.mute_button.click()
    qtbot.waitUntil(lambda: "Listening" in shown.label(), timeout=20_000)
    assert len(open_inputs(gui.backend)) == 1

    gui.hands_free_button.click()  # off: the open microphone closes
    qtbot.waitUntil(lambda: not gui.hands_free_state.isVisible(), timeout=5_000)
    assert open_inputs(gui.backend) == [] and not gui.mute_button.isVisible()


def scripted(settings, loop):  # noqa: ANN001, ANN201
    """The window on engines that load nothing and a fake microphone: the switch is the point."""
    from app.audio.fake import FakeAudioBackend
    from app.pipeline.engines import Engines
    from tests.fakes import FakeSTT, FakeTTS
    from tests.test_turns import ScriptedLLM

    bus = EventBus(loop)
    engines = Engines(
        bus,
        settings,
        stt_factory=lambda _s: FakeSTT(),
        llm_factory=lambda _s, _p: ScriptedLLM(["Fine."]),
        tts_factory=lambda _s: FakeTTS(0.01),
        warm_up=False,
    )
    backend = FakeAudioBackend()
    return build_window(settings, bus, backend, engines), backend


def test_parley_hands_free_and_the_setting_open_the_window_in_hands_free_mode(
    qtbot, qloop, settings
):
    from app.config import Settings
    from app.ui.settings_dialog import SettingsDialog

    assert build_parser().parse_args(["--hands-free"]).hands_free
    assert build_parser().parse_args(["gui", "--hands-free"]).hands_free
    assert not build_parser().parse_args([]).hands_free
    settings.sound_cues = False
    window, backend = scripted(settings, qloop)
    qtbot.addWidget(window)
    window.show()
    qtbot.wait(200)
    assert not window.hands_free_button.isChecked() and open_inputs(backend) == []  # the default
    dialog = SettingsDialog(window.session.settings, backend, window)
    assert not dialog.hands_free.isChecked()
    dialog.hands_free.setChecked(True)
    window.apply_settings(dialog)
    window.close()
    saved = Settings.load()
    assert saved.hands_free is True

    window, backend = scripted(saved, qloop)  # the next start
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: "Listening" in window.hands_free_state.text(), timeout=20_000)
    assert window.hands_free_button.isChecked() and len(open_inputs(backend)) == 1
    window.close()
    assert open_inputs(backend) == []  # closing the window closes the open microphone


# --- the real sound stack -------------------------------------------------------------------


@pytest.fixture
def pulse(private_pulse: PrivatePulse) -> PrivatePulse:
    """In a room: the speaker leaks back into the microphone like a laptop's."""
    private_pulse.room(-6, 60)
    return private_pulse


@models
@pytest.mark.audio
def test_on_the_real_sound_stack_a_spoken_question_is_answered_without_a_key(
    qtbot, qloop, settings, real_models, pulse, tmp_path: Path
):
    settings.sound_cues = False
    bus = EventBus(qloop)
    window = build_window(settings, bus, SoundDeviceBackend(), real_models.engines(bus, settings))
    qtbot.addWidget(window)
    window.show()
    window.session.start()
    qtbot.waitUntil(
        lambda: all(window.status.states.get(n) == "ready" for n in ("stt", "llm", "tts", "audio")),
        timeout=60_000,
    )
    shown = Shown(window)
    sounds: list[float] = []
    bus.subscribe(PlaybackStarted, lambda _e: sounds.append(time.monotonic()))
    last_words: list[float] = []
    bus.subscribe(
        HandsFreeState, lambda e: last_words.append(e.last_word_at) if e.last_word_at else None
    )
    question, _ = wav_of(real_models.tts, "What is the capital of France?", tmp_path / "q.wav")
    held, _ = wav_of(real_models.tts, "What is two plus two?", tmp_path / "k.wav")
    muted, _ = wav_of(real_models.tts, "What colour is the sky?", tmp_path / "m.wav")
    try:
        window.set_hands_free(True)
        qtbot.waitUntil(lambda: "Listening" in shown.label(), timeout=20_000)
        assert window.hands_free.hands is not None and window.hands_free.hands.mic.canceller

        # 1. Said into the microphone, no key: heard, thought about, spoken.
        pulse.say(question)
        qtbot.waitUntil(lambda: len(shown.turns) == 1, timeout=30_000)
        back_to(qtbot, shown, "listening")
        turn = shown.turns[0]
        assert "france" in words(turn.transcript) and "paris" in words(turn.reply), turn
        states = shown.states()
        order = [states.index(s, states.index("hearing")) for s in ("thinking", "speaking")]
        assert order == sorted(order), shown.seen
        # Parley's own reply, leaking back from the speaker, opened no turn of its own.
        assert shown.heard == [turn.transcript], shown.heard
        first_sound = sounds[-1] - last_words[-1]

        # 2. The talk key still works: held for the question, released, answered once.
        qtbot.mousePress(window.talk_button, qt_left())
        player = pulse.say(held)
        qtbot.waitUntil(lambda: player.poll() is not None, timeout=20_000)  # the loop runs
        qtbot.wait(300)
        qtbot.mouseRelease(window.talk_button, qt_left())
        qtbot.waitUntil(lambda: len(shown.turns) == 2, timeout=30_000)
        errors = [b.text for b in window.chat.bubbles if b.role in ("error", "notice")]
        assert "plus" in words(shown.turns[1].transcript), (shown.turns[1], errors, shown.seen)
        assert len(shown.heard) == 2, shown.heard  # the open microphone opened no turn too
        back_to(qtbot, shown, "listening")

        # 3. Muted: a question said now is not heard.
        window.set_muted(True)
        qtbot.waitUntil(lambda: "Muted" in shown.label(), timeout=5_000)
        player = pulse.say(muted)
        qtbot.waitUntil(lambda: player.poll() is not None, timeout=20_000)
        qtbot.wait(1500)  # longer than the end of a turn takes to be decided
        assert len(shown.heard) == 2 and shown.states()[-1] == "muted", shown.seen
        # Saved as today: both exchanges in the conversation's history.
        store = window.session.store
        said = [m.text for m in store.messages(store.latest_chat())]
        assert any("France" in t for t in said) and any("Paris" in t for t in said), said
    finally:
        window.close()
    print(f"hands-free in the window: first reply sound {first_sound:.2f} s after the last word")


def qt_left():  # noqa: ANN201
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton
