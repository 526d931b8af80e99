"""How the real window looks and handles, offscreen: it follows the desktop's dark or light
palette and its font size, stays usable from 400 px wide, and works from the keyboard alone.
What is checked is what is drawn (grabbed pixels) and where focus goes (real key events)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QFont, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QComboBox, QLineEdit, QWidget

from app.audio.fake import FakeAudioBackend
from app.bus import EventBus
from app.ui.style import dark_palette


@pytest.fixture
def window(qtbot, qloop, settings) -> Iterator:
    """The window as a user first sees it, with a conversation on screen; the models are not
    needed to look at it, so none are loaded."""
    from app.ui.app import build_window

    w = build_window(settings, EventBus(qloop), FakeAudioBackend())
    qtbot.addWidget(w)
    w.resize(760, 640)
    w.show()
    w.chat.add("user", "What is the capital of France?")
    w.chat.add("assistant", "The capital of France is Paris, on the Seine.")
    qtbot.waitExposed(w)
    yield w
    w.close()


@pytest.fixture
def desktop(qapp) -> Iterator[QApplication]:
    """The application, with its palette and font put back afterwards (they are global)."""
    palette, font = qapp.palette(), qapp.font()
    yield qapp
    qapp.setPalette(palette)
    qapp.setFont(font)


def luminance(c: QColor) -> float:
    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())


def contrast(a: QColor, b: QColor) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def drawn(widget: QWidget) -> QImage:
    return widget.grab().toImage()


def text_contrast(label: QWidget) -> tuple[QColor, float]:
    """A label as drawn: its background (the corner) and the contrast of its text, taken as the
    pixel that differs most from that background."""
    image = drawn(label)
    background = image.pixelColor(1, 1)
    best = 1.0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            best = max(best, contrast(background, image.pixelColor(x, y)))
    return background, best


def settle(qtbot) -> None:
    qtbot.wait(50)  # the window restyles itself on the next turn of the event loop


def test_a_dark_desktop_gets_a_dark_window_with_readable_text(window, desktop, qtbot):
    reply = window.chat.bubbles[-1]
    light_bg, light_contrast = text_contrast(reply.label)
    assert luminance(drawn(window.chat).pixelColor(4, 4)) > 0.8  # light desktop: light window
    assert light_contrast >= 4.5

    desktop.setPalette(dark_palette())  # the desktop switches to a dark theme
    settle(qtbot)
    chat_bg = drawn(window.chat).pixelColor(4, 4)
    dark_bg, dark_contrast = text_contrast(reply.label)
    assert luminance(chat_bg) < 0.05, chat_bg.name()
    assert luminance(dark_bg) < 0.05, dark_bg.name()
    assert dark_contrast >= 4.5  # WCAG AA for body text
    user_bg, user_contrast = text_contrast(window.chat.bubbles[0].label)
    assert user_contrast >= 4.5
    composer = drawn(window.input).pixelColor(window.input.width() // 2, 3)
    assert luminance(composer) < 0.1, composer.name()  # no white box left in a dark window

    from app.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(window.session.settings, window.session.backend, window)
    qtbot.addWidget(dialog)
    dialog.show()
    assert luminance(drawn(dialog).pixelColor(3, 3)) < 0.1  # dialogs follow, too

    desktop.setPalette(desktop.style().standardPalette())  # and back to light
    settle(qtbot)
    assert luminance(drawn(window.chat).pixelColor(4, 4)) > 0.8


def test_the_desktop_s_colour_scheme_hint_is_followed(window, desktop, qtbot):
    hints = desktop.styleHints()
    if not hasattr(hints, "setColorScheme"):
        pytest.skip("this Qt cannot ask for a colour scheme (Qt 6.8 can)")
    before = hints.colorScheme()
    hints.setColorScheme(Qt.ColorScheme.Dark)
    try:
        if hints.colorScheme() != Qt.ColorScheme.Dark:
            pytest.skip("this platform plugin keeps its own colour scheme")
        settle(qtbot)
        assert luminance(drawn(window.chat).pixelColor(4, 4)) < 0.05
        assert desktop.palette().color(desktop.palette().ColorRole.Window).lightnessF() < 0.5
    finally:
        hints.setColorScheme(before)
        settle(qtbot)
    assert luminance(drawn(window.chat).pixelColor(4, 4)) > 0.8


def test_a_larger_system_font_makes_the_words_larger(window, desktop, qtbot):
    reply = window.chat.bubbles[-1]
    small_text = reply.label.fontInfo().pixelSize()
    small_button = window.talk_button.sizeHint().height()
    font = QFont(desktop.font())
    font.setPointSizeF(font.pointSizeF() * 1.6)  # the desktop's text scaling at 160 %
    desktop.setFont(font)
    settle(qtbot)
    assert reply.label.fontInfo().pixelSize() >= small_text * 1.45
    assert window.talk_button.sizeHint().height() > small_button
    assert window.input.fontInfo().pixelSize() >= small_text * 1.45


def _right_edge(widget: QWidget, window: QWidget) -> int:
    return widget.mapTo(window, QPoint(widget.width(), 0)).x()


def test_at_400_px_wide_every_control_is_on_screen_and_the_chat_fits(window, qtbot):
    window.resize(400, 700)
    settle(qtbot)
    assert window.width() <= 410  # the window lets itself be made this narrow
    assert not window.sidebar.isVisible()  # the conversation list folds away
    controls = [w for kind in (QAbstractButton, QLineEdit, QComboBox)
                for w in window.findChildren(kind) if w.isVisibleTo(window)]  # fmt: skip
    assert len(controls) >= 8
    for w in controls:
        left = w.mapTo(window, QPoint(0, 0)).x()
        assert left >= 0 and _right_edge(w, window) <= window.width(), w.objectName()
        assert w.width() >= min(w.minimumSizeHint().width(), 40), w.objectName()
    assert window.input.width() >= 150  # room to type
    assert not window.chat.horizontalScrollBar().isVisible()  # bubbles wrap, no sideways scroll
    for bubble in window.chat.bubbles:
        assert _right_edge(bubble, window) <= window.width()
    window.showMaximized()
    settle(qtbot)
    assert window.sidebar.isVisible()  # wide again: the list comes back


def _tab_through(window, start: QWidget, presses: int) -> list[QWidget]:
    start.setFocus()
    seen = [QApplication.focusWidget()]
    for _ in range(presses):
        QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
    return seen


def test_tab_goes_through_the_controls_in_reading_order_and_comes_back(window, qtbot):
    window.activateWindow()
    seen = _tab_through(window, window.input, 14)
    order = [window.input, window.send_button, window.attach_button, window.chats_button,
             window.new_chat_button, window.assistant_box, window.models_button,
             window.settings_button, window.sidebar.search]  # fmt: skip
    if window.sidebar.list.isVisible():  # (hidden while there are no saved chats)
        order.append(window.sidebar.list)
    names = [w.objectName() or type(w).__name__ for w in seen]
    assert all(w in seen for w in order), " ".join(names)
    positions = [seen.index(w) for w in order]  # each reached with Tab alone...
    assert positions == sorted(positions)  # ...in the order they are read
    assert window.input in seen[1:]  # and round again to the message box: no trap
    assert window.talk_button not in seen  # Space talks anywhere; the button takes no focus


def test_the_keyboard_shortcuts_a_user_looks_for(window, qtbot):
    window.activateWindow()
    window.input.setFocus()
    QTest.keyClick(window.input, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is window.sidebar.search  # search the conversations
    QTest.keyClick(window, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: window.welcome is not None and window.welcome.isVisible())
    window.welcome.close()
    for widget, keys in ((window.new_chat_button, "Ctrl+N"), (window.settings_button, "Ctrl+,"),
                         (window.attach_button, "Ctrl+O"), (window.stop_button, "Esc"),
                         (window.sidebar.search, "Ctrl+K")):  # fmt: skip
        assert keys in widget.accessibleDescription() or keys in widget.toolTip()
