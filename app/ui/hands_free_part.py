"""The window's hands-free part: the switch beside the talk button, the mute, and the state
the open microphone is in (listening / hearing you / thinking / speaking), in words and
colour, while it is on.

The switch drives the same HandsFree core as `parley listen`
(app/pipeline/hands_free_switch.py); this part only draws the HandsFreeState events it
publishes. Holding the talk key still works while hands-free is on.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QPushButton

from app.bus.events import HandsFreeState
from app.pipeline.hands_free_switch import HandsFreeSwitch
from app.session import Session
from app.ui.chat_view import ChatView
from app.ui.style import set_style_property

# What each state says; `mode` is the colour the stylesheet gives it (app/ui/style.py).
STATES: dict[str, tuple[str, str]] = {
    "starting": ("Starting hands-free…", "muted"),
    "listening": ("Listening — just talk", "listening"),
    "hearing": ("Hearing you…", "hearing"),
    "thinking": ("Thinking…", "thinking"),
    "speaking": ("Speaking — talk to interrupt", "speaking"),
    "paused": ("Paused — listening to you", "hearing"),
    "muted": ("Muted — Parley can't hear you", "muted"),
}
LEARNING = "learning the room"
DEAF = "not listening while it speaks"


class HandsFreePart:
    """Mixed into MainWindow: `_build_hands_free()` makes the switch, the mute and the state
    label; `set_hands_free` and `set_muted` are what they do."""

    # Made by the window's other parts:
    session: Session
    chat: ChatView

    def _build_hands_free(self) -> None:
        session = self.session
        self.hands_free = HandsFreeSwitch(session.turns, session.backend, lambda: session.speaker)
        self.hands_free_button = QPushButton("Hands-free")
        self.hands_free_button.setObjectName("handsFreeButton")
        self.hands_free_button.setCheckable(True)
        self.hands_free_button.setToolTip(
            "Talk without holding a key: Parley answers when you stop, and stops when you "
            "talk over it"
        )
        self.hands_free_button.toggled.connect(self.set_hands_free)
        self.mute_button = QPushButton("Mute")
        self.mute_button.setObjectName("muteButton")
        self.mute_button.setCheckable(True)
        self.mute_button.setToolTip("Close the microphone; hands-free stays on")
        self.mute_button.toggled.connect(self.set_muted)
        self.mute_button.hide()
        self.hands_free_state = QLabel("")
        self.hands_free_state.setObjectName("handsFreeState")
        self.hands_free_state.setWordWrap(True)  # whole at 400 px wide, on two lines
        self.hands_free_state.hide()
        self._hands_free_mode = "off"
        self._room_learnt = False  # the echo canceller's `learnt` since the microphone opened
        self._deaf_why = ""  # half-duplex: why Parley does not listen while it speaks

    def set_hands_free(self, on: bool) -> None:
        """The switch (also `parley --hands-free` and the hands_free setting at start)."""
        if self.hands_free_button.isChecked() != on:
            self.hands_free_button.setChecked(on)  # toggled calls this again
            return
        if not on:
            self.mute_button.setChecked(False)
        self.mute_button.setVisible(on)
        self.hands_free.switch(on)

    def set_muted(self, muted: bool) -> None:
        if self.mute_button.isChecked() != muted:
            self.mute_button.setChecked(muted)
            return
        self.mute_button.setText("Unmute" if muted else "Mute")
        self.mute_button.setAccessibleName("Unmute" if muted else "Mute")
        self.hands_free.mute(muted)

    def _on_hands_free_state(self, ev: HandsFreeState) -> None:
        if ev.state == "learnt":
            self._room_learnt = True
        elif ev.state == "half_duplex":
            self._deaf_why = ev.message
        elif ev.state == "off":
            self._hands_free_mode = "off"
            if ev.message:  # it could not start: said once, and the switch goes back off
                self.chat.add("error", ev.message)
                self.hands_free_button.setChecked(False)
        else:
            if ev.state == "starting":
                self._room_learnt, self._deaf_why = False, ""  # a new microphone, a new room
            self._hands_free_mode = ev.state
        self._show_hands_free()

    def _show_hands_free(self) -> None:
        label, mode = self.hands_free_state, self._hands_free_mode
        if mode not in STATES:  # off
            label.hide()
            return
        text, colour = STATES[mode]
        deaf, learning = bool(self._deaf_why), not self._deaf_why and not self._room_learnt
        if mode == "speaking" and (deaf or learning):
            text = "Speaking — not listening until it's done"  # talking over it won't stop it
        if mode not in ("starting", "muted") and deaf and mode != "speaking":
            text = f"{text} · {DEAF}"
        elif mode not in ("starting", "muted") and learning:
            text = f"{text} · {LEARNING}"
        label.setText(f"●  {text}")
        label.setToolTip(
            self._deaf_why or ("Parley is " + LEARNING if not self._room_learnt else "")
        )
        label.setAccessibleName(f"Hands-free: {text}")
        set_style_property(label, "mode", colour)
        label.show()
