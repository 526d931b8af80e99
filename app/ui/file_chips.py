"""The documents attached to the conversation, as chips above the text box (× removes one).
Unlike images, which go with the next question, documents stay for the whole chat."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget


class FileChips(QWidget):
    def __init__(self, on_remove: Callable[[str], None]) -> None:
        super().__init__()
        self.setObjectName("fileChips")
        self._on_remove = on_remove
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.addStretch(1)
        self.chips: dict[str, QWidget] = {}
        self.hide()

    def add(self, name: str, detail: str) -> None:
        self.remove(name)
        chip = QWidget()
        chip.setObjectName("fileChip")
        box = QHBoxLayout(chip)
        box.setContentsMargins(8, 2, 2, 2)
        label = QLabel(name)
        label.setToolTip(detail)
        close = QToolButton()
        close.setObjectName("removeFile")
        close.setText("×")
        close.setToolTip("Stop using this file in this chat")
        close.clicked.connect(lambda: self._removed(name))
        box.addWidget(label)
        box.addWidget(close)
        self._row.insertWidget(self._row.count() - 1, chip)
        self.chips[name] = chip
        self.show()

    def remove(self, name: str) -> None:
        chip = self.chips.pop(name, None)
        if chip is not None:
            chip.hide()
            chip.deleteLater()
        self.setVisible(bool(self.chips))

    def clear(self) -> None:
        for name in list(self.chips):
            self.remove(name)

    def _removed(self, name: str) -> None:
        self.remove(name)
        self._on_remove(name)
