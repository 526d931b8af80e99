"""The window's talking part: hold to talk (the button, Space, a key held in any application),
the microphone's level while it listens, the cues, and Stop.

HoldToTalk (app/ui/push_to_talk.py) decides when a hold begins and ends; this part starts
and ends the listening turn it stands for.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QMimeData, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton, QWidget

from app.audio.backend import AudioUnavailable
from app.audio.wavfile import AudioFileError, read_audio
from app.pipeline.hands_free_switch import HandsFreeSwitch
from app.session import Session
from app.ui.attachments import AttachmentStrip
from app.ui.chat_guard import ChatGuard
from app.ui.chat_view import Bubble, ChatView
from app.ui.global_talk import GlobalTalkKey, ShortcutError
from app.ui.portal_talk import PortalTalkKey
from app.ui.push_to_talk import HoldToTalk
from app.ui.tray import Tray
from app.ui.widgets import LevelMeter, TalkButton
from app.ui.x11_keyboard import X11Keyboard

log = logging.getLogger(__name__)
ASSETS = Path(__file__).resolve().parent.parent.parent / "assets"


class TalkPart:
    """Mixed into MainWindow (a QMainWindow): `_build_talk()` makes the talk and Stop buttons,
    the level meter and the keys that talk; the rest are what they do."""

    # Made by the window's other parts:
    session: Session
    chat: ChatView
    guard: ChatGuard
    attachments: AttachmentStrip
    tray: Tray
    hands_free: HandsFreeSwitch
    _pending_bubbles: list[Bubble]
    attach_from_mime: Callable[[QMimeData], bool]

    def _build_talk(self) -> None:
        self.talk_button = TalkButton()
        self.keyboard = X11Keyboard(QApplication.instance())
        # PARLEY_X11_AUTOREPEAT=plain leaves the server's fake releases on (the key-state check
        # alone then tells them apart; tests cover both ways).
        plain = os.environ.get("PARLEY_X11_AUTOREPEAT") == "plain"
        if not plain and self.keyboard.detectable_autorepeat():
            log.info("X11: detectable autorepeat is on (no fake key releases)")
        self.hold = HoldToTalk(
            self,  # type: ignore[arg-type]  # the window
            self.start_talking,
            self.stop_talking,
            self.keyboard,
            self.session.settings.max_talk_seconds,
        )
        self.global_key: GlobalTalkKey | PortalTalkKey | None = None
        self.global_key_problem = ""
        self.set_global_key(self.session.settings.global_talk_key)
        self.talk_button.held.connect(self.hold.button_pressed)
        self.talk_button.let_go.connect(self.hold.button_released)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop speaking and generating (Esc)")
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        self.meter = LevelMeter()
        self._listening_turn = 0
        self._cues: dict[str, tuple[np.ndarray, int]] = {}
        self._level_timer = QTimer(self)  # type: ignore[call-overload]
        self._level_timer.setInterval(33)
        self._level_timer.timeout.connect(self._update_level)
        self._key_filter = PushToTalkKeys(self, self.hold, self.attach_from_mime)  # type: ignore[arg-type]
        QApplication.instance().installEventFilter(self._key_filter)

    def set_global_key(self, shortcut: str) -> bool:
        """Hold `shortcut` in any application to talk ("" turns it off); whether it took (on
        Wayland the portal answers later: a refusal then arrives as a notice). A shortcut that
        cannot be had is said in the welcome, and Parley works without it."""
        if self.global_key is not None:
            self.global_key.release_grab()
            self.global_key = None
        self.global_key_problem = ""
        if not shortcut:
            return True
        app = QApplication.instance()
        wayland = app.platformName().startswith("wayland")
        if wayland or os.environ.get("PARLEY_SHORTCUTS") == "portal":
            portal = PortalTalkKey(shortcut)
            portal.pressed.connect(self.hold.global_pressed)
            portal.released.connect(self.hold.global_released)
            portal.failed.connect(partial(self._portal_failed, portal))
            portal.start()
            self.global_key = portal
            return True
        key = GlobalTalkKey(app, shortcut, self.hold.global_pressed, self.hold.global_released)
        try:
            key.grab()
        except ShortcutError as exc:
            self._no_global_key(shortcut, str(exc))
            return False
        self.global_key = key
        return True

    def _portal_failed(self, portal: PortalTalkKey, reason: str) -> None:
        if self.global_key is not portal:
            return  # an older one, replaced meanwhile
        self.global_key = None
        self._no_global_key(portal.shortcut, reason)

    def _no_global_key(self, shortcut: str, reason: str) -> None:
        self.global_key_problem = f"Hold {shortcut} in any app to talk: not available ({reason})."
        log.info("%s", self.global_key_problem)

    def start_talking(self) -> bool:
        """Push-to-talk went down (HoldToTalk calls this once per hold); whether it listens."""
        if self._listening_turn:
            return True
        if self.guard.refuses():
            return False
        recorder = self.session.recorder
        if recorder is None:
            self.chat.add(
                "error",
                "No microphone is available"
                + (f": {self.session.audio_error}" if self.session.audio_error else ".")
                + " You can type instead.",
            )
            return False
        turn_id = self.session.turns.begin_listening(recorder)
        self.attachments.clear()  # the spoken turn has taken them
        try:
            recorder.start()
        except AudioUnavailable as exc:
            self.session.turns.interrupt("no microphone")
            self.session.microphone_failed(str(exc))
            self.chat.add("error", f"{exc} You can type instead.")
            return False
        self._listening_turn = turn_id
        self.hands_free.hold(True)  # the open microphone leaves this turn to the key
        self.tray.say("Listening… let go to send")
        self._cue("listen-start")
        self.talk_button.set_listening(True)
        self._level_timer.start()
        self._update_buttons()
        return True

    def stop_talking(self, reason: str = "released") -> None:
        """Push-to-talk came up (or the hold ended: focus lost, too long): send the audio."""
        turn_id, self._listening_turn = self._listening_turn, 0
        if not turn_id or self.session.recorder is None:
            return
        audio = self.session.recorder.stop()
        self.hands_free.hold(False)
        self._level_timer.stop()
        self.meter.set_level(0.0)
        self.talk_button.set_listening(False)
        self.tray.say("Parley")
        self._cue("listen-stop")
        if reason == "too long":
            seconds = self.session.settings.max_talk_seconds
            self.chat.add("notice", f"Stopped listening after {seconds:g} seconds.")
        elif reason == "focus lost":
            self.chat.add("notice", "Stopped listening: the window lost focus.")
        # "microphone lost": AudioLost has said why; what was heard until then is answered
        self.session.turns.submit_audio(turn_id, audio)

    def stop(self) -> None:
        self.hold.reset()
        if self._listening_turn and self.session.recorder is not None:
            self._listening_turn = 0
            self.session.recorder.stop()
            self.hands_free.hold(False)
            self._level_timer.stop()
            self.meter.set_level(0.0)
            self.talk_button.set_listening(False)
        self.session.turns.interrupt("stopped", clear_pending=True)
        for bubble in self._pending_bubbles:
            if bubble.property("dimmed"):
                bubble.append("  (not sent: stopped)")
        self._pending_bubbles = [b for b in self._pending_bubbles if not b.property("dimmed")]
        self._update_buttons()

    def _cue(self, name: str) -> None:
        if not self.session.settings.sound_cues or self.session.player is None:
            return
        sound = self._cues.get(name)
        if sound is None:
            try:
                sound = self._cues[name] = read_audio(ASSETS / "sounds" / f"{name}.wav")
            except AudioFileError:
                log.warning("sound %s is missing", name)
                return
        self.session.player.play_cue(*sound)

    def _update_level(self) -> None:
        if self.session.recorder is not None:
            self.meter.set_level(self.session.recorder.level)

    def _update_buttons(self) -> None:
        self.stop_button.setEnabled(bool(self._listening_turn) or self.session.turns.busy)


class PushToTalkKeys(QObject):
    """Hold Space to talk, anywhere in the window except while typing in the text box
    (HoldToTalk tells a real release from autorepeat); Ctrl+V there attaches what `paste`
    takes (images, files)."""

    def __init__(
        self, window: QWidget, hold: HoldToTalk, paste: Callable[[QMimeData], bool]
    ) -> None:
        super().__init__(window)
        self.window = window
        self.hold = hold
        self.paste = paste

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        key_event: QKeyEvent = event  # type: ignore[assignment]
        if (
            kind == QEvent.Type.KeyPress
            and key_event.matches(QKeySequence.StandardKey.Paste)
            and self.window.isActiveWindow()
        ):
            # Images (data or copied files) are attached; plain text pastes as usual.
            return self.paste(QApplication.clipboard().mimeData())
        if key_event.key() != Qt.Key.Key_Space or not self.window.isActiveWindow():
            return False
        hold = self.hold
        if kind == QEvent.Type.KeyRelease:
            if hold.held_by != "key":
                return False  # e.g. the end of a space typed in the text box
            hold.key_released(key_event)  # wherever the focus has moved meanwhile
            return True
        if isinstance(QApplication.focusWidget(), QLineEdit):
            return False
        hold.key_pressed(key_event)
        return True
