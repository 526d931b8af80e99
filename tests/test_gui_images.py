"""Images in the real window (offscreen): dropped as files, pasted as image data, shown as
removable thumbnails, and sent with the next turn to the default (text-only) model, which
gets what the offline image reader found."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage
from PySide6.QtWidgets import QApplication

from app.bus.events import Notice, TurnFinished, UserTurn
from tests import image_factory

pytestmark = pytest.mark.models


def _drop(window, mime: QMimeData) -> None:
    event = QDropEvent(
        QPointF(QPoint(50, 50)),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)


def _events(window, kind):
    return [e for e in window.events if isinstance(e, kind)]


def test_drop_a_receipt_then_ask_about_it(gui, qtbot, tmp_path):
    notices: list[Notice] = []
    users: list[UserTurn] = []
    gui.bus.subscribe(Notice, notices.append)
    gui.bus.subscribe(UserTurn, users.append)
    path = image_factory.receipt(tmp_path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    _drop(gui, mime)
    qtbot.waitUntil(lambda: len(gui.attachments.thumbnails) == 1, timeout=10_000)
    assert gui.attachments.isVisible()
    assert gui.session.turns.attachments[0].name == "receipt.png"

    gui.input.setText("What is the total on this receipt?")
    gui.send_typed()
    assert not gui.attachments.isVisible()  # the turn took the image
    bubble = [b for b in gui.chat.bubbles if b.role == "user"][-1]
    assert len(bubble.images) == 1  # the thumbnail stays in the conversation
    qtbot.waitUntil(lambda: bool(_events(gui, TurnFinished)), timeout=90_000)
    done = _events(gui, TurnFinished)[0]
    assert users[-1].images and users[-1].images[0].name == "receipt.png"
    # The text-only model says so, and answers from what the reader found.
    assert any("can't see images" in n.message for n in notices)
    total = image_factory.RECEIPT_TOTAL
    assert total in done.reply, done.reply
    assert any(b.role == "notice" and "can't see images" in b.text for b in gui.chat.bubbles)


def test_paste_image_data_shows_a_thumbnail_that_can_be_removed(gui, qtbot, tmp_path):
    image = QImage(str(image_factory.dialog(tmp_path)))
    assert not image.isNull()
    QApplication.clipboard().setImage(image)
    gui.activateWindow()
    qtbot.waitUntil(gui.isActiveWindow, timeout=5_000)
    gui.input.setFocus()
    qtbot.keyClick(gui.input, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(gui.attachments.thumbnails) == 1, timeout=10_000)
    assert gui.input.text() == ""  # the image was attached, not pasted as text
    assert gui.session.turns.attachments[0].name == "pasted image"

    gui.attachments.thumbnails[0].close_button.click()
    assert gui.session.turns.attachments == []
    assert not gui.attachments.isVisible()


def test_a_broken_image_is_refused_with_a_message_and_nothing_attached(gui, qtbot, tmp_path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(image_factory.truncated_png(tmp_path)))])
    _drop(gui, mime)
    qtbot.waitUntil(
        lambda: any(b.role == "error" and "cut.png" in b.text for b in gui.chat.bubbles),
        timeout=10_000,
    )
    assert gui.session.turns.attachments == []
    assert not gui.attachments.thumbnails
