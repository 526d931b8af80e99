"""The assistants editor: add, change, remove, import and export personas, and the documents
each one knows.

Saving an edit makes a new revision (app/storage/assistants.py): chats already answered by
the old one go on with it. A document is read on a worker (`read_file`), never on the GUI
thread: a long PDF takes seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
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

from app.storage.assistants import Assistant, AssistantError, Assistants, read_export


class AssistantDialog(QDialog):
    file_read = Signal(str, object, object)  # assistant name, AttachedFile or None, error

    def __init__(
        self,
        assistants: Assistants,
        parent: QWidget | None = None,
        read_file: Callable[[Path], Future[Any]] | None = None,
    ) -> None:
        super().__init__(parent)
        self.read_file = read_file
        self.file_read.connect(self._file_read)
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
        self.knowledge = QListWidget()
        self.knowledge.setObjectName("knowledgeList")
        self.knowledge.setMaximumHeight(90)
        self.knowledge.setAccessibleName("Documents this assistant knows")
        self.add_file_button = QPushButton("Add file…")
        self.add_file_button.setToolTip("A document it answers from in every chat")
        self.add_file_button.clicked.connect(self.choose_files)
        self.remove_file_button = QPushButton("Remove file")
        self.remove_file_button.clicked.connect(self.remove_file)
        files = QWidget()
        files_box = QVBoxLayout(files)
        files_box.setContentsMargins(0, 0, 0, 0)
        files_box.addWidget(self.knowledge)
        file_buttons = QHBoxLayout()
        file_buttons.addWidget(self.add_file_button)
        file_buttons.addWidget(self.remove_file_button)
        file_buttons.addStretch(1)
        files_box.addLayout(file_buttons)
        form.addRow("Knows", files)
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
        self.knowledge.clear()
        for f in a.knowledge if a else ():
            self.knowledge.addItem(f"{f.name} — {f.chars:,} characters")
        can_learn = a is not None and not builtin and self.read_file is not None
        self.add_file_button.setEnabled(can_learn)
        self.remove_file_button.setEnabled(can_learn and bool(a and a.knowledge))
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
        self.knowledge.clear()
        self.add_file_button.setEnabled(False)  # documents come after the first Save
        self.remove_file_button.setEnabled(False)
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

    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Documents it should know")
        for path in paths:
            self.add_file(Path(path))

    def add_file(self, path: Path) -> None:
        """Read `path` on the worker; the assistant learns it when it is read."""
        current = self.current
        if current is None or self.read_file is None:
            return
        self.message.setText(f"Reading {path.name}…")
        name = current.name

        def done(future: Future[Any]) -> None:  # on the worker's thread
            exc = future.exception()
            self.file_read.emit(name, None if exc else future.result(), exc)

        self.read_file(path).add_done_callback(done)

    def _file_read(self, name: str, file: Any, error: Exception | None) -> None:
        if error is not None:
            self.message.setText(str(error))
            return
        try:
            saved = self.assistants.add_knowledge(name, file.doc)
        except (AssistantError, OSError) as exc:
            self.message.setText(str(exc))
            return
        self.reload(saved.name)
        self.message.setText(
            f"{saved.name} now knows {file.name} (revision {saved.revision}); new chats with it "
            "answer from it."
        )

    def remove_file(self) -> None:
        current, row = self.current, self.knowledge.currentRow()
        if current is None or not 0 <= row < len(current.knowledge):
            return
        gone = current.knowledge[row].name
        try:
            saved = self.assistants.remove_knowledge(current.name, gone)
        except AssistantError as exc:
            self.message.setText(str(exc))
            return
        self.reload(saved.name)
        self.message.setText(f"{saved.name} no longer knows {gone}.")

    def import_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import an assistant", "", "JSON (*.json)")
        if not path:
            return
        try:
            saved = self.assistants.import_json(read_export(Path(path)))
        except AssistantError as exc:
            self.message.setText(f"Could not import it: {exc}")
            return
        self.reload(saved.name)

    def export_file(self) -> None:
        current = self.current
        if current is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the assistant", f"{current.name}.json", "JSON (*.json)"
        )
        if not path:
            return
        try:
            data = self.assistants.export(current)
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2, ensure_ascii=False)
        except (OSError, AssistantError) as exc:
            self.message.setText(f"Could not export {current.name}: {exc}")
            return
        self.message.setText(f"Exported {current.name} to {path}.")
