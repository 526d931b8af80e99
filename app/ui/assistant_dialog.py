"""The assistants editor: add, change, remove, import and export personas.

Saving an edit makes a new revision (app/storage/assistants.py): chats already answered by
the old one go on with it.
"""

from __future__ import annotations

import json

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.storage.assistants import Assistant, AssistantError, Assistants


class AssistantDialog(QDialog):
    def __init__(self, assistants: Assistants, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Assistants")
        self.resize(640, 460)
        self.assistants = assistants
        self.list = QListWidget()
        self.list.setObjectName("assistantList")
        self.list.currentRowChanged.connect(self._show)
        self.name = QLineEdit()
        self.instructions = QPlainTextEdit()
        self.instructions.setPlaceholderText("Who it is and how it answers.")
        self.voice = QLineEdit()
        self.voice.setPlaceholderText("its own piper voice (.onnx); empty: your usual voice")
        self.model = QLineEdit()
        self.model.setPlaceholderText("its own model (.gguf); empty: your usual model")
        self.message = QLabel()
        self.message.setObjectName("assistantMessage")
        self.message.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Instructions", self.instructions)
        form.addRow("Voice", self._with_browse(self.voice, "Piper voice (*.onnx)"))
        form.addRow("Model", self._with_browse(self.model, "GGUF model (*.gguf)"))
        self.new_button = QPushButton("New")
        self.new_button.clicked.connect(self.new)
        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("saveAssistant")
        self.save_button.clicked.connect(self.save)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove)
        self.import_button = QPushButton("Import…")
        self.import_button.clicked.connect(self.import_file)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self.export_file)
        buttons = QHBoxLayout()
        for b in (self.new_button, self.save_button, self.remove_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.export_button)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        right = QVBoxLayout()
        right.addLayout(form, 1)
        right.addWidget(self.message)
        right.addLayout(buttons)
        body = QHBoxLayout()
        body.addWidget(self.list, 1)
        body.addLayout(right, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(body, 1)
        layout.addWidget(close)
        self._items: list[Assistant] = []
        self.reload()

    def _with_browse(self, field: QLineEdit, kind: str) -> QWidget:
        row = QWidget()
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(field, 1)
        browse = QPushButton("…")
        browse.setMaximumWidth(32)

        def choose() -> None:
            path, _ = QFileDialog.getOpenFileName(self, "Choose a file", "", kind)
            if path:
                field.setText(path)

        browse.clicked.connect(choose)
        box.addWidget(browse)
        return row

    @property
    def current(self) -> Assistant | None:
        row = self.list.currentRow()
        return self._items[row] if 0 <= row < len(self._items) else None

    def reload(self, select: str = "") -> None:
        self._items = self.assistants.list()
        self.list.blockSignals(True)
        self.list.clear()
        for a in self._items:
            self.list.addItem(a.name + ("  (built in)" if a.builtin else ""))
        self.list.blockSignals(False)
        names = [a.name for a in self._items]
        self.list.setCurrentRow(names.index(select) if select in names else 0)
        self._show(self.list.currentRow())

    def _show(self, row: int) -> None:
        a = self._items[row] if 0 <= row < len(self._items) else None
        self.name.setText(a.name if a else "")
        self.instructions.setPlainText(a.instructions if a else "")
        self.voice.setText(a.voice if a else "")
        self.model.setText(a.model if a else "")
        builtin = bool(a and a.builtin)
        self.name.setReadOnly(builtin)
        self.remove_button.setEnabled(a is not None and not builtin)
        self.message.setText(
            "Parley's instructions are the custom instructions in Settings." if builtin else ""
        )

    def new(self) -> None:
        self.list.clearSelection()
        self.list.setCurrentRow(-1)
        for field in (self.name, self.voice, self.model):
            field.clear()
        self.name.setReadOnly(False)
        self.instructions.clear()
        self.name.setFocus()
        self.message.setText("A new assistant: give it a name and instructions, then Save.")

    def save(self) -> Assistant | None:
        fields = {
            "name": self.name.text(),
            "instructions": self.instructions.toPlainText(),
            "voice": self.voice.text().strip(),
            "model": self.model.text().strip(),
        }
        try:
            current = self.current
            if current is None:
                saved = self.assistants.add(**fields)
            else:
                if current.builtin:
                    fields.pop("name")
                saved = self.assistants.edit(current.name, **fields)
        except AssistantError as exc:
            self.message.setText(str(exc))
            return None
        self.reload(saved.name)
        self.message.setText(f"Saved {saved.name} (revision {saved.revision}).")
        return saved

    def remove(self) -> None:
        current = self.current
        if current is None:
            return
        try:
            self.assistants.remove(current.name)
        except AssistantError as exc:
            self.message.setText(str(exc))
            return
        self.reload()
        self.message.setText(f"Removed {current.name}; its chats stay as they were.")

    def import_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import an assistant", "", "JSON (*.json)")
        if not path:
            return
        try:
            with open(path, encoding="utf-8") as fh:
                saved = self.assistants.import_json(json.load(fh))
        except (OSError, ValueError) as exc:  # AssistantError is a ValueError
            self.message.setText(f"Could not import {path}: {exc}")
            return
        self.reload(saved.name)

    def export_file(self) -> None:
        current = self.current
        if current is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the assistant", f"{current.name}.json", "JSON (*.json)"
        )
        if path:
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(current.to_json(), fh, indent=2, ensure_ascii=False)
