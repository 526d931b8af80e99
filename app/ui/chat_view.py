"""The conversation: user and assistant bubbles, markdown rendered, the reply streaming in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.ui.style import set_style_property

Role = Literal["user", "assistant", "notice", "error"]


class Bubble(QFrame):
    def __init__(self, role: Role, text: str = "", turn_id: int = 0) -> None:
        super().__init__()
        self.role = role
        self.turn_id = turn_id
        self.setObjectName(f"bubble_{role}")
        self.setProperty("role", role)
        self.label = QLabel()
        self.label.setObjectName("bubbleText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setTextFormat(
            Qt.TextFormat.MarkdownText if role == "assistant" else Qt.TextFormat.PlainText
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.label)
        self._layout = layout
        self.images: list[QLabel] = []
        self._text = ""
        self.message_id = 0  # the stored reply this bubble shows (0: not stored)
        self.feedback: dict[str, QPushButton] = {}
        self.set_text(text)

    def enable_feedback(
        self,
        message_id: int,
        rating: int,
        on_rate: Callable[[Bubble, int], None],
        on_correct: Callable[[Bubble], None],
    ) -> None:
        """Thumbs up, down and a correction under a stored reply."""
        self.message_id = message_id
        if self.feedback:
            self.show_rating(rating)
            return
        row = QHBoxLayout()
        row.setContentsMargins(0, 2, 0, 0)
        row.setSpacing(2)
        for key, label, tip in (
            ("up", "Good", "A good reply (kept for fine-tuning: parley export-dataset)"),
            ("down", "Bad", "A bad reply"),
            ("correct", "Correct…", "Write what it should have said"),
        ):
            button = QPushButton(label)
            button.setObjectName(f"feedback_{key}")
            button.setToolTip(tip)
            button.setFlat(True)
            button.setCheckable(key != "correct")
            row.addWidget(button)
            self.feedback[key] = button
        row.addStretch(1)
        self.feedback["up"].clicked.connect(lambda: on_rate(self, 1))
        self.feedback["down"].clicked.connect(lambda: on_rate(self, -1))
        self.feedback["correct"].clicked.connect(lambda: on_correct(self))
        self._layout.addLayout(row)
        self.show_rating(rating)

    def add_note(self, text: str) -> QLabel:
        """A small line under the text (the sources a reply was given)."""
        note = QLabel(text)
        note.setObjectName("bubbleNote")
        note.setWordWrap(True)
        self._layout.insertWidget(self._layout.indexOf(self.label) + 1, note)
        self.note = note
        return note

    def add_reasoning(self, text: str) -> None:
        """The hidden reasoning, folded under the reply (Show reasoning unfolds it)."""
        toggle = QPushButton("Show reasoning")
        toggle.setObjectName("reasoningToggle")
        toggle.setFlat(True)
        toggle.setCheckable(True)
        notes = QLabel(text)
        notes.setObjectName("reasoning")
        notes.setWordWrap(True)
        notes.setTextFormat(Qt.TextFormat.PlainText)
        notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        notes.hide()

        def flip(shown: bool) -> None:
            notes.setVisible(shown)
            toggle.setText("Hide reasoning" if shown else "Show reasoning")

        toggle.toggled.connect(flip)
        at = self._layout.indexOf(self.label) + 1
        self._layout.insertWidget(at, toggle)
        self._layout.insertWidget(at + 1, notes)
        self.reasoning = notes
        self.reasoning_toggle = toggle

    def show_rating(self, rating: int) -> None:
        self.feedback["up"].setChecked(rating > 0)
        self.feedback["down"].setChecked(rating < 0)

    def add_images(self, thumbnails: list[bytes]) -> None:
        """Show the images that went with this message, above its text."""
        row = QHBoxLayout()
        for png in thumbnails:
            picture = QLabel()
            pixmap = QPixmap()
            pixmap.loadFromData(png)
            picture.setPixmap(pixmap)
            row.addWidget(picture)
            self.images.append(picture)
        row.addStretch(1)
        self._layout.insertLayout(0, row)

    @property
    def text(self) -> str:
        return self._text

    def set_text(self, text: str) -> None:
        self._text = text
        self.label.setText(text)

    def append(self, text: str) -> None:
        self.set_text(self._text + text)

    def set_dimmed(self, dimmed: bool) -> None:
        set_style_property(self, "dimmed", dimmed)


class ChatView(QScrollArea):
    """A scrolling column of bubbles that follows the newest one unless the user scrolled up."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("chatView")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        inner.setObjectName("chatInner")
        self._column = QVBoxLayout(inner)
        self._column.setContentsMargins(10, 10, 10, 10)
        self._column.setSpacing(8)
        self._column.addStretch(1)
        self.setWidget(inner)
        self.bubbles: list[Bubble] = []
        self._follow = True
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._on_range_changed)
        bar.valueChanged.connect(self._on_scrolled)

    def add(self, role: Role, text: str = "", turn_id: int = 0) -> Bubble:
        bubble = Bubble(role, text, turn_id)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        if role == "user":
            row.addStretch(1)
            row.addWidget(bubble, 4)
        elif role == "assistant":
            row.addWidget(bubble, 4)
            row.addStretch(1)
        else:
            row.addWidget(bubble, 1)
        self._column.insertLayout(self._column.count() - 1, row)
        self.bubbles.append(bubble)
        self._follow = True
        return bubble

    def remove(self, bubble: Bubble) -> None:
        if bubble in self.bubbles:
            self.bubbles.remove(bubble)
        bubble.hide()
        bubble.deleteLater()

    def clear(self) -> None:
        for bubble in list(self.bubbles):
            self.remove(bubble)

    def find(self, role: Role, turn_id: int) -> Bubble | None:
        for bubble in reversed(self.bubbles):
            if bubble.role == role and bubble.turn_id == turn_id:
                return bubble
        return None

    def _on_scrolled(self, value: int) -> None:
        self._follow = value >= self.verticalScrollBar().maximum() - 24

    def _on_range_changed(self, _min: int, maximum: int) -> None:
        if self._follow:
            QTimer.singleShot(0, lambda: self.verticalScrollBar().setValue(maximum))
