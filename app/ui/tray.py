"""The tray icon, where the desktop has a tray: show or hide the window, a new chat, quit.

Closing the window still quits Parley (a voice assistant left listening in a corner would
surprise people); the tray is for getting back to it from another application, together with
the hold-to-talk shortcut that works there.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon, QWidget


class Tray:
    """`icon` is None where there is no tray (most Wayland desktops without an extension).
    `new_chat` starts one; `shortcut` says the hold-to-talk key that works from other apps
    (None where there is none)."""

    def __init__(
        self,
        window: QWidget,
        *,
        new_chat: Callable[[], None],
        shortcut: Callable[[], str | None],
    ) -> None:
        self.window = window
        self.new_chat = new_chat
        self.shortcut = shortcut
        self.icon: QSystemTrayIcon | None = None
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return
        icon = QSystemTrayIcon(window.windowIcon(), window)
        menu = QMenu(window)
        self.toggle = QAction("Hide Parley", menu)
        self.toggle.triggered.connect(self.toggle_window)
        new_chat = QAction("New chat", menu)
        new_chat.triggered.connect(self._new_chat)
        quit_ = QAction("Quit Parley", menu)
        quit_.triggered.connect(window.close)
        menu.addActions([self.toggle, new_chat])
        menu.addSeparator()
        menu.addAction(quit_)
        menu.aboutToShow.connect(self._name_toggle)
        icon.setContextMenu(menu)
        icon.activated.connect(self._activated)
        self.menu = menu
        self.icon = icon
        self.say("Parley")
        icon.show()

    def say(self, state: str) -> None:
        """The tooltip: what Parley is doing, and how to talk to it from here."""
        if self.icon is None:
            return
        key = self.shortcut()
        how = f" — hold {key} to talk" if key is not None else ""
        self.icon.setToolTip(f"{state}{how}")

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.toggle_window()
        elif reason == QSystemTrayIcon.ActivationReason.DoubleClick:
            self.show_window()  # its first click hid the window: a double click opens it

    def show_window(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    def toggle_window(self) -> None:
        w = self.window
        if w.isVisible() and not w.isMinimized():
            w.hide()
        else:
            self.show_window()

    def _name_toggle(self) -> None:
        shown = self.window.isVisible() and not self.window.isMinimized()
        self.toggle.setText("Hide Parley" if shown else "Show Parley")

    def _new_chat(self) -> None:
        self.new_chat()
        if not self.window.isVisible():
            self.toggle_window()

    def close(self) -> None:
        if self.icon is not None:
            self.icon.hide()
            QApplication.processEvents()
