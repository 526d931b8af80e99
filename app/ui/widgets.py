"""Small widgets: the talk button, the input level meter, the engine status line."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.style import set_style_property

ENGINE_LABELS = {"stt": "Ears", "llm": "Brain", "tts": "Voice", "audio": "Audio"}
_STATE_TEXT = {"loading": "loading…", "ready": "ready", "error": "error", "unavailable": "off"}


class TalkButton(QPushButton):
    """The big push-to-talk button: hold it while you speak."""

    IDLE = "Hold to talk  (Space)"

    def __init__(self) -> None:
        super().__init__(self.IDLE)
        self.setObjectName("talkButton")
        self.setMinimumHeight(64)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space must reach the window, not "click"

    def set_listening(self, listening: bool) -> None:
        self.setText("Listening… release to send" if listening else self.IDLE)
        set_style_property(self, "listening", listening)


class LevelMeter(QProgressBar):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("levelMeter")
        self.setRange(0, 100)
        self.setTextVisible(False)
        self.setFixedHeight(8)
        self.setToolTip("Microphone level")

    def set_level(self, level: float) -> None:
        self.setValue(int(max(0.0, min(1.0, level)) * 100))


class StatusLine(QWidget):
    """One label per engine (loading / ready / error) and the last turn's timings."""

    def __init__(self) -> None:
        super().__init__()
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 0, 6, 0)
        column.setSpacing(2)
        layout = QHBoxLayout()
        layout.setSpacing(12)
        column.addLayout(layout)
        self.labels: dict[str, QLabel] = {}
        self.states: dict[str, str] = {}
        for name, title in ENGINE_LABELS.items():
            label = QLabel(f"{title}: …")
            label.setObjectName(f"status_{name}")
            self.labels[name] = label
            layout.addWidget(label)
        layout.addStretch(1)
        self.timings = QLabel("")
        self.timings.setObjectName("timings")
        self.timings.setWordWrap(True)
        column.addWidget(self.timings)

    def set_state(
        self, engine: str, state: str, detail: str = "", progress: float | None = None
    ) -> None:
        label = self.labels.get(engine)
        if label is None:
            return
        self.states[engine] = state
        text = _STATE_TEXT.get(state, state)
        if state == "loading" and progress is not None:
            text = f"{detail or 'loading'} {progress:.0%}"
        label.setText(f"{ENGINE_LABELS[engine]}: {text}")
        label.setToolTip(detail)
        set_style_property(label, "state", state)

    def set_timings(self, timings: dict[str, float | None]) -> None:
        names = (
            ("stt", "speech→text"),
            ("llm_first_token", "first word"),
            ("first_audio", "first sound"),
            ("llm_total", "reply"),
        )
        parts = [f"{title} {timings[key]:.2f}s" for key, title in names if timings.get(key)]
        self.timings.setText("Last turn: " + " · ".join(parts) if parts else "")
