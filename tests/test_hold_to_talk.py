"""Hold to talk in the real window (offscreen, default models, the fake audio device): one
press, hold and release is one turn, for the mouse as for the key, and a hold also ends when
the window loses focus or runs past its time limit. (Real X11 autorepeat:
test_x11_push_to_talk.py.)"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QWidget

from app.bus.events import RecordingStarted, TurnFinished

pytestmark = pytest.mark.models


def _started(window) -> list[RecordingStarted]:
    return [e for e in window.events if isinstance(e, RecordingStarted)]


@pytest.fixture
def counted(gui):
    gui.bus.subscribe(RecordingStarted, gui.events.append)
    return gui


def test_sliding_off_the_held_button_does_not_cut_the_question(counted, qtbot, speech):
    gui = counted
    button = gui.talk_button
    qtbot.mousePress(button, Qt.MouseButton.LeftButton)
    gui.backend.feed(speech("What is the capital of France?"))
    # The pointer wanders off the button and back while the button is held.
    for point in (QPoint(-40, -40), QPoint(10, 10), QPoint(button.width() + 30, 5)):
        qtbot.mouseMove(button, point)
        qtbot.wait(50)
    assert button.property("listening") is True
    qtbot.waitUntil(lambda: gui.backend.pending_input_seconds() == 0, timeout=20_000)
    qtbot.wait(300)
    qtbot.mouseRelease(button, Qt.MouseButton.LeftButton, pos=QPoint(button.width() + 30, 5))
    assert button.property("listening") is False
    qtbot.waitUntil(lambda: any(isinstance(e, TurnFinished) for e in gui.events), timeout=60_000)
    done = [e for e in gui.events if isinstance(e, TurnFinished)]
    assert len(_started(gui)) == 1
    assert "france" in done[0].transcript.lower() and "Paris" in done[0].reply


def test_losing_focus_while_holding_space_sends_what_was_said(counted, qtbot, speech):
    gui = counted
    gui.session.settings.llm_max_tokens = 8  # the reply is not the point: a short one
    gui.activateWindow()
    qtbot.waitUntil(gui.isActiveWindow, timeout=5_000)
    qtbot.keyPress(gui, Qt.Key.Key_Space)
    assert gui.talk_button.property("listening") is True
    gui.backend.feed(speech("How many legs does a spider have?"))
    qtbot.waitUntil(lambda: gui.backend.pending_input_seconds() == 0, timeout=20_000)
    other = QWidget()  # another window takes the focus; Space's release goes there
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitUntil(lambda: not gui.isActiveWindow(), timeout=5_000)
    assert gui.talk_button.property("listening") is False
    qtbot.waitUntil(lambda: any(isinstance(e, TurnFinished) for e in gui.events), timeout=60_000)
    done = [e for e in gui.events if isinstance(e, TurnFinished)]
    assert "spider" in done[0].transcript.lower()
    assert any("lost focus" in b.text for b in gui.chat.bubbles if b.role == "notice")
    # The release that follows elsewhere starts and ends nothing.
    qtbot.keyRelease(other, Qt.Key.Key_Space)
    assert len(_started(gui)) == 1


def test_a_hold_past_the_time_limit_ends_by_itself(counted, qtbot, speech):
    gui = counted
    gui.session.settings.llm_max_tokens = 8  # the reply is not the point: a short one
    gui.hold.set_max_seconds(1.5)
    gui.session.settings.max_talk_seconds = 1.5
    qtbot.mousePress(gui.talk_button, Qt.MouseButton.LeftButton)
    gui.backend.feed(speech("Why is the sky blue?"))
    qtbot.waitUntil(lambda: gui.talk_button.property("listening") is False, timeout=5_000)
    notices = [b.text for b in gui.chat.bubbles if b.role == "notice"]
    assert any("after 1.5 seconds" in text for text in notices), notices
    # Letting go of the button at last ends nothing more.
    qtbot.mouseRelease(gui.talk_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(isinstance(e, TurnFinished) for e in gui.events), timeout=60_000)
    assert len(_started(gui)) == 1
