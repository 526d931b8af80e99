"""Hold to talk: one press, hold and release of Space or of the talk button is one turn.

What a platform reports while a key is held differs: Wayland, Windows and macOS send repeated
presses flagged as autorepeat; X11 sends fake release/press pairs that Qt flags only
sometimes (see x11_keyboard.py). So:

- the first press starts the turn and every later press is ignored until a real release;
- a release flagged as autorepeat is ignored;
- on X11 an unflagged release is checked against the server's key state before it ends the
  turn (a repeat leaves the key down), which costs one round trip, not a delay;
- where that cannot be asked, a release ends the turn only if no press follows within
  RELEASE_GRACE_MS (a repeat's press follows at once);
- the turn also ends when the window loses focus (the release would go to another window)
  and after `max_seconds` (a key stuck down, or a forgotten mouse press).

The mouse follows the same rule: pressing the button starts the turn and releasing it
(wherever the pointer is by then) ends it; sliding off the button does not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QKeyEvent

from app.ui.x11_keyboard import X11Keyboard

log = logging.getLogger(__name__)

RELEASE_GRACE_MS = 60  # a repeat's press follows its fake release within a millisecond or two


class HoldToTalk(QObject):
    """Turns key and button presses into `start()` and `stop(reason)` calls, exactly once per
    hold. `start` returns whether listening began (it may not: no microphone)."""

    def __init__(
        self,
        parent: QObject,
        start: Callable[[], bool],
        stop: Callable[[str], None],
        keyboard: X11Keyboard | None = None,
        max_seconds: float = 120.0,
    ) -> None:
        super().__init__(parent)
        self._start = start
        self._stop = stop
        self.keyboard = keyboard
        self.held_by = ""  # "key", "button", "global" or "" (nothing held)
        self.listening = False
        self.repeats_ignored = 0  # fake releases told apart from real ones (diagnostics)
        self._keycode = 0
        self._grace = QTimer(self)
        self._grace.setSingleShot(True)
        self._grace.setInterval(RELEASE_GRACE_MS)
        self._grace.timeout.connect(lambda: self._end("released"))
        self._limit = QTimer(self)
        self._limit.setSingleShot(True)
        self.set_max_seconds(max_seconds)
        self._limit.timeout.connect(lambda: self._end("too long"))

    def set_max_seconds(self, seconds: float) -> None:
        self._limit.setInterval(int(max(1.0, seconds) * 1000))

    # --- the key -----------------------------------------------------------------------------

    def key_pressed(self, event: QKeyEvent) -> None:
        if self._grace.isActive():  # the release just before was a repeat's
            self._grace.stop()
            self.repeats_ignored += 1
            return
        if self.held_by:
            return  # a repeat (flagged or not), or the key pressed while the button is held
        self._keycode = event.nativeScanCode()
        self._begin("key")

    def key_released(self, event: QKeyEvent) -> None:
        if self.held_by != "key" or event.isAutoRepeat():
            return
        down = self._key_down(event)
        if down is None:
            self._grace.start()  # X11, but the server could not be asked: wait for a press
        elif down:
            self.repeats_ignored += 1
        else:
            self._end("released")

    def _key_down(self, event: QKeyEvent) -> bool | None:
        """Whether the key is still down after this release: X11 asks the server (None if it
        cannot); elsewhere Qt flags every repeat, so an unflagged release is real."""
        if self.keyboard is None or not self.keyboard.available:
            return False
        return self.keyboard.is_down(event.nativeScanCode() or self._keycode)

    # --- the button --------------------------------------------------------------------------

    def button_pressed(self) -> None:
        if not self.held_by:
            self._begin("button")

    def button_released(self) -> None:
        if self.held_by == "button":
            self._end("released")

    # --- the shortcut held in any application (global_talk.py) -----------------------------

    def global_pressed(self) -> None:
        if not self.held_by:
            self._begin("global")

    def global_released(self) -> None:
        if self.held_by == "global":
            self._end("released")

    # --- everything else ---------------------------------------------------------------------

    def focus_lost(self) -> None:
        # A desktop-wide hold goes on in other windows: its release still comes to Parley.
        if self.held_by and self.held_by != "global":
            self._end("focus lost")

    def reset(self) -> None:
        """Forget the hold without ending a turn (Stop, or the turn was ended elsewhere)."""
        self.held_by = ""
        self.listening = False
        self._grace.stop()
        self._limit.stop()

    def _begin(self, source: str) -> None:
        self.held_by = source
        self.listening = self._start()
        if self.listening:
            self._limit.start()

    def _end(self, reason: str) -> None:
        listening = self.listening
        self.reset()
        if listening:
            log.debug("push-to-talk ended: %s", reason)
            self._stop(reason)
