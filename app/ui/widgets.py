"""Small widgets: the talk button, the input level meter, the engine status line."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPalette
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
    """The big push-to-talk button: hold it while you speak.

    `held` and `let_go` come once per press of the left button. QPushButton's own pressed
    and released also fire when the pointer slides off and back on while held, which would
    cut one question into several turns."""

    IDLE = "Hold to talk  (Space)"
    held = Signal()
    let_go = Signal()

    def __init__(self) -> None:
        super().__init__(self.IDLE)
        self.setObjectName("talkButton")
        self.setMinimumHeight(64)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space must reach the window, not "click"
        self._holding = False

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and not self._holding:
            self._holding = True
            self.held.emit()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and self._holding:
            self._holding = False
            self.let_go.emit()

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


class Waterfall(QWidget):
    """The last turn's stages as bars from the end of the user's input: when the words were
    understood, the first word thought, the first clause ready, the first sound heard."""

    ROWS = (
        ("t_transcript", "understood", "#8250df"),
        ("t_first_token", "first word", "#2f6fde"),
        ("t_first_clause", "first clause", "#1a7f37"),
        ("t_first_audio", "first sound", "#d64541"),
        ("t_reply_done", "reply written", "#6e7781"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("waterfall")
        self.timings: dict[str, float | None] = {}
        self._row = 14
        self.hide()

    def set_timings(self, timings: dict[str, float | None]) -> None:
        self.timings = dict(timings)
        self._row = max(14, self.fontMetrics().height() + 2)  # follows the desktop's font size
        self.setFixedHeight(len(self.ROWS) * self._row + 4)
        self.setVisible(any(timings.get(key) for key, _, _ in self.ROWS))
        self.update()

    def bars(self) -> list[tuple[str, float]]:
        return [(label, t) for key, label, _ in self.ROWS if (t := self.timings.get(key))]

    def paintEvent(self, event: object) -> None:  # noqa: N802 (Qt API)
        shown = [(k, lab, col) for k, lab, col in self.ROWS if self.timings.get(k)]
        if not shown:
            return
        longest = max(self.timings[k] or 0.0 for k, _, _ in shown)
        painter = QPainter(self)
        row_h = self._row
        label_w = self.fontMetrics().horizontalAdvance("reply written") + 8
        value_w = self.fontMetrics().horizontalAdvance("00.00 s") + 4
        width = max(10, self.width() - label_w - value_w)
        for row, (key, label, colour) in enumerate(shown):
            seconds = self.timings[key] or 0.0
            y = 2 + row * row_h
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(0, y, label_w - 4, row_h - 2, Qt.AlignmentFlag.AlignRight, label)
            bar = max(2, int(width * seconds / longest))
            painter.fillRect(label_w, y + 2, bar, row_h - 5, QColor(colour))
            painter.drawText(label_w + bar + 4, y, value_w, row_h - 2, 0, f"{seconds:.2f} s")
        painter.end()
