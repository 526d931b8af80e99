"""The real window, offscreen, on the real default models, with the fake audio device (it
replays speech into the microphone callback and records what the speaker was given)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.audio.fake import FakeAudioBackend
from app.bus import EventBus
from app.bus.events import LlmDelta, PlaybackStarted, TtsChunk, TurnFinished
from app.ui.app import build_window

pytestmark = pytest.mark.models


def _finished(window) -> list[TurnFinished]:
    return [e for e in window.events if isinstance(e, TurnFinished)]


def test_push_to_talk_round_trip(gui, qtbot, speech):
    """Press, speak, release: transcript bubble, streamed reply bubble, reply audio played."""
    assert gui.isVisible() and gui.talk_button.isEnabled()
    wav = speech("What is the capital of France?")
    qtbot.mousePress(gui.talk_button, Qt.MouseButton.LeftButton)
    assert gui.talk_button.property("listening") is True
    gui.backend.feed(wav)
    # The level meter moves while speech arrives.
    qtbot.waitUntil(lambda: gui.meter.value() > 30, timeout=10_000)
    qtbot.waitUntil(lambda: gui.backend.pending_input_seconds() == 0, timeout=20_000)
    qtbot.wait(300)  # a little trailing silence, as a person releases the key after speaking
    qtbot.mouseRelease(gui.talk_button, Qt.MouseButton.LeftButton)
    assert gui.talk_button.property("listening") is False

    qtbot.waitUntil(lambda: bool(_finished(gui)), timeout=60_000)
    done = _finished(gui)[0]
    assert "france" in done.transcript.lower()
    users = [b for b in gui.chat.bubbles if b.role == "user"]
    assistants = [b for b in gui.chat.bubbles if b.role == "assistant"]
    assert users and "France" in users[-1].text
    assert assistants and "Paris" in assistants[-1].text
    # The reply streamed in: several deltas arrived before the turn finished.
    deltas = [e for e in gui.events if isinstance(e, LlmDelta)]
    assert len(deltas) >= 3
    # The fake speaker got the spoken reply (a second or so of non-silent audio).
    played = gui.backend.played_audio()
    assert np.count_nonzero(np.abs(played) > 0.01) > 0.3 * gui.backend.output_rate
    assert done.timings["first_audio"] and done.timings["first_audio"] > 0
    assert "first sound" in gui.status.timings.text()
    # The waterfall shows the stages in the order they happened.
    assert gui.waterfall.isVisible()
    bars = dict(gui.waterfall.bars())
    assert {"understood", "first word", "first clause", "first sound"} <= bars.keys()
    assert bars["understood"] <= bars["first word"] <= bars["first clause"] <= bars["first sound"]


def test_typed_question_and_barge_in(gui, qtbot):
    """Typing works; pressing talk while Parley speaks silences it at once, no token of the old
    turn arrives afterwards, and the bubble keeps only what was heard."""
    gui.session.settings.llm_max_tokens = 120
    gui.input.setText("Tell me a long story about a brave knight and a dragon.")
    qtbot.keyClick(gui.input, Qt.Key.Key_Return)
    assert gui.input.text() == ""
    qtbot.waitUntil(
        lambda: any(isinstance(e, PlaybackStarted) and e.turn_id for e in gui.events),
        timeout=60_000,
    )
    old_turn = next(e.turn_id for e in gui.events if isinstance(e, PlaybackStarted) and e.turn_id)
    qtbot.wait(400)  # let it speak a little
    assert gui.stop_button.isEnabled()
    pressed_at = time.monotonic()
    qtbot.mousePress(gui.talk_button, Qt.MouseButton.LeftButton)
    qtbot.wait(600)
    qtbot.mouseRelease(gui.talk_button, Qt.MouseButton.LeftButton)  # silence: nothing to answer

    # Within two device blocks (20 ms each) the speaker is silent.
    assert gui.backend.sound_blocks_after(pressed_at + 0.045) == 0
    late = [
        e
        for e in gui.events
        if isinstance(e, LlmDelta | TtsChunk) and e.turn_id == old_turn and e.at > pressed_at
    ]
    assert late == []
    finished = [f for f in _finished(gui) if f.turn_id == old_turn]
    assert finished and finished[0].interrupted
    heard = finished[0].spoken
    assert len(heard) < len(finished[0].reply)
    bubble = gui.chat.find("assistant", old_turn)
    assert bubble is not None and "interrupted" in bubble.text
    assert finished[0].reply.strip() not in bubble.text
    # The model's history holds only the heard part.
    assistant_msgs = [m for m in gui.session.turns.history.messages if m["role"] == "assistant"]
    assert assistant_msgs[-1]["content"] == (heard.strip() or "…")


def test_hold_space_to_talk_but_not_while_typing(gui, qtbot, speech):
    """Space held on the window records; Space typed in the text box is just a space."""
    gui.activateWindow()
    qtbot.waitUntil(gui.isActiveWindow, timeout=5_000)
    gui.talk_button.setFocus()
    qtbot.keyPress(gui, Qt.Key.Key_Space)
    assert gui.talk_button.property("listening") is True
    gui.backend.feed(speech("How many legs does a spider have?"))
    qtbot.waitUntil(lambda: gui.backend.pending_input_seconds() == 0, timeout=20_000)
    qtbot.wait(200)
    qtbot.keyRelease(gui, Qt.Key.Key_Space)
    assert gui.talk_button.property("listening") is False
    qtbot.waitUntil(lambda: bool(_finished(gui)), timeout=60_000)
    assert "spider" in _finished(gui)[0].transcript.lower()

    gui.input.setFocus()
    qtbot.keyClicks(gui.input, "a b")
    assert gui.input.text() == "a b"
    assert gui.talk_button.property("listening") is False


def test_question_typed_while_answering_is_queued_not_lost(gui, qtbot):
    gui.input.setText("What is the capital of France?")
    gui.send_typed()
    qtbot.waitUntil(lambda: any(isinstance(e, LlmDelta) for e in gui.events), timeout=60_000)
    gui.input.setText("What is the capital of Italy?")
    gui.send_typed()
    queued = [b for b in gui.chat.bubbles if b.role == "user"][-1]
    assert queued.property("dimmed") is True
    assert any(b.role == "notice" for b in gui.chat.bubbles)
    qtbot.waitUntil(lambda: len(_finished(gui)) == 2, timeout=90_000)
    first, second = _finished(gui)
    assert "France" in first.transcript and "Paris" in first.reply
    assert "Italy" in second.transcript and "Rome" in second.reply
    assert queued.property("dimmed") is False


@pytest.fixture
def gui_without_mic(qtbot, qloop, settings, real_models):
    backend = FakeAudioBackend(has_input=False)
    bus = EventBus(qloop)
    window = build_window(settings, bus, backend, real_models.engines(bus, settings))
    qtbot.addWidget(window)
    window.show()
    window.session.start()
    yield window
    window.close()


def test_no_microphone_window_opens_says_so_and_typing_works(gui_without_mic, qtbot):
    gui = gui_without_mic
    assert gui.isVisible()
    errors = [b.text for b in gui.chat.bubbles if b.role == "error"]
    assert any("No audio input device" in e for e in errors)
    assert not gui.talk_button.isEnabled()
    assert gui.status.states["audio"] == "error"
    done: list[TurnFinished] = []
    gui.bus.subscribe(TurnFinished, done.append)
    gui.input.setText("What is the capital of France?")
    gui.send_typed()
    qtbot.waitUntil(lambda: bool(done), timeout=60_000)
    assert "Paris" in done[0].reply
    assert "Paris" in gui.chat.find("assistant", done[0].turn_id).text


def test_no_portaudio_window_still_opens(qtbot, qloop, settings, real_models):
    from app.ui.app import _NoAudio

    reason = "The PortAudio library is not installed (test)."
    bus = EventBus(qloop)
    window = build_window(settings, bus, _NoAudio(reason), real_models.engines(bus, settings))
    qtbot.addWidget(window)
    window.show()
    assert window.isVisible()
    assert any(reason in b.text for b in window.chat.bubbles if b.role == "error")
    assert not window.talk_button.isEnabled()
    window.close()


def test_settings_choose_devices_and_silence_replies(gui, qtbot):
    from app.config import Settings
    from app.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(gui.session.settings, gui.backend, gui)
    names = [dialog.output_box.itemText(i) for i in range(dialog.output_box.count())]
    assert any("Fake Speaker" in n for n in names)
    dialog.output_box.setCurrentIndex(dialog.output_box.findData("Fake Speaker"))
    dialog.input_box.setCurrentIndex(dialog.input_box.findData("Fake Microphone"))
    dialog.speak.setChecked(False)
    assert dialog.speculate.isChecked()  # on by default
    dialog.speculate.setChecked(False)
    gui.apply_settings(dialog)
    saved = Settings.load()
    assert saved.output_device == "Fake Speaker" and saved.input_device == "Fake Microphone"
    assert saved.speak_replies is False and saved.speculative_replies is False
    assert gui.session.turns.settings.speculative_replies is False  # the next turn obeys
    assert gui.session.player is not None and gui.session.player.device.name == "Fake Speaker"

    before = len(gui.backend.played_audio())
    gui.input.setText("What is the capital of France?")
    gui.send_typed()
    qtbot.waitUntil(lambda: bool(_finished(gui)), timeout=60_000)
    assert "Paris" in _finished(gui)[0].reply
    played_since = gui.backend.played_audio()[before:]
    assert np.abs(played_since).max(initial=0.0) < 1e-4  # nothing spoken


def test_the_window_fits_the_screen_with_every_button_on_it(gui_without_mic):
    """On an 800 x 600 screen (the offscreen default) the window, asked for 820 px, fits, and
    Settings, Send, Stop and the rest are inside it, not cut off at the right edge."""
    from PySide6.QtCore import QPoint

    gui = gui_without_mic
    area = gui.screen().availableGeometry()
    assert gui.width() <= area.width() and gui.height() <= area.height()
    for button in (gui.settings_button, gui.send_button, gui.stop_button, gui.models_button,
                   gui.attach_button, gui.new_chat_button, gui.chats_button):  # fmt: skip
        right = button.mapTo(gui, QPoint(button.width(), 0)).x()
        assert button.isVisible() and 0 < right <= gui.width(), button.text()


def test_every_control_has_a_name_and_a_description_for_screen_readers(gui_without_mic):
    """Read through Qt's accessibility interface, as Orca or NVDA would read it."""
    from PySide6.QtGui import QAccessible
    from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QComboBox, QLineEdit

    gui = gui_without_mic
    kinds = (QAbstractButton, QLineEdit, QComboBox, QAbstractItemView)
    controls = [w for kind in kinds for w in gui.findChildren(kind) if w.isVisibleTo(gui)]
    assert len(controls) >= 10
    for widget in controls:
        said = QAccessible.queryAccessibleInterface(widget)
        name, description = (
            said.text(QAccessible.Text.Name),
            said.text(QAccessible.Text.Description),
        )
        assert name.strip() and description.strip(), (widget.objectName(), name, description)


def test_ctrl_n_starts_a_new_chat(gui_without_mic, qtbot):
    from PySide6.QtTest import QTest

    gui = gui_without_mic
    done: list[TurnFinished] = []
    gui.bus.subscribe(TurnFinished, done.append)
    gui.input.setText("Say hello.")
    gui.send_typed()
    qtbot.waitUntil(lambda: bool(done), timeout=60_000)
    assert any(b.role == "assistant" for b in gui.chat.bubbles)
    QTest.keyClick(gui, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not any(b.role == "assistant" for b in gui.chat.bubbles), timeout=5000)
