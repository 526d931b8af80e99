"""The window's composer part: the typed message and what goes with it, images for the next
question and documents for the chat (Attach…, drag and drop, paste, files a reopened chat
brings back). Images and documents are read on a worker thread, never on this one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QLineEdit, QPushButton

from app.bus.events import FilesRestored
from app.knowledge.context import AttachedFile
from app.knowledge.extract import FileError, kind_of
from app.pipeline.attachments import load_attachment
from app.session import Session
from app.text import visible
from app.ui.attachments import FILE_FILTER, THUMB, AttachmentStrip, sources_from_mime
from app.ui.chat_guard import ChatGuard
from app.ui.chat_view import Bubble, ChatView
from app.ui.file_chips import FileChips
from app.ui.model_panel import ModelPanel, is_model_file
from app.vision.images import ImageError


class ComposerPart:
    """Mixed into MainWindow (a QMainWindow): `_build_composer()` makes the text box, Attach…,
    Send, the image thumbnails and the file chips; the rest send and attach."""

    # Made by the window's other parts:
    session: Session
    chat: ChatView
    guard: ChatGuard
    _pending_bubbles: list[Bubble]
    _update_buttons: Callable[[], None]
    open_models: Callable[[], ModelPanel]

    def _build_composer(self) -> None:
        self.input = QLineEdit()
        self.input.setObjectName("composer")
        self.input.setPlaceholderText("Type a message and press Enter — or hold Space to talk")
        self.input.returnPressed.connect(self.send_typed)
        self.attach_button = QPushButton("Attach…")
        self.attach_button.setObjectName("attachButton")
        self.attach_button.setToolTip(
            "Attach images or documents (Ctrl+O; or drop them on the window, or paste)"
        )
        self.attach_button.clicked.connect(self.choose_images)
        self.attachments = AttachmentStrip(self.session.turns.detach)
        self.file_chips = FileChips(self.session.turns.detach_file)
        self.send_button = QPushButton("Send")
        self.send_button.setObjectName("sendButton")
        self.send_button.clicked.connect(self.send_typed)
        QShortcut(QKeySequence("Ctrl+O"), self, activated=self.choose_images)  # type: ignore[call-overload]
        self.setAcceptDrops(True)  # type: ignore[attr-defined]
        self._image_loads: set[asyncio.Future[None]] = set()

    def send_typed(self) -> None:
        text = visible(self.input.text())  # zero-width spaces alone are no question
        images = list(self.session.turns.attachments)
        if not text and images:
            text = "What is in this image?" if len(images) == 1 else "What is in these images?"
        if not text or self.guard.refuses():
            return
        self.input.clear()
        bubble = self.chat.add("user", text)
        if images:
            bubble.add_images([img.thumbnail(THUMB * 2) for img in images])
        # Pending until its UserTurn claims it (at once, or when a queued question's turn
        # comes).
        self._pending_bubbles.append(bubble)
        started = self.session.turns.ask(text)
        self.attachments.clear()  # the turn (or the queue) has taken them
        if not started:
            bubble.set_dimmed(True)  # queued: shown at once, answered after the current reply
        self._update_buttons()

    def choose_images(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Attach", "", FILE_FILTER)  # type: ignore[call-overload]
        for path in paths:
            self.add_source(Path(path))

    def add_source(self, path: Path) -> None:
        """A document (text, PDF, ...) for the chat, or an image for the next question."""
        if kind_of(path) is not None:
            self.add_file(path)
        else:
            self.add_image(path, path.name)

    def add_file(self, path: Path) -> None:
        """Read and index the document on a worker thread; attach it or say why not."""
        if self.guard.refuses():  # kept with the chat: written to it
            return
        future = asyncio.ensure_future(self._load_file(path))
        self._image_loads.add(future)
        future.add_done_callback(self._image_loads.discard)

    async def _load_file(self, path: Path) -> None:
        from app.pipeline.file_reader import read_attached

        reading = self.chat.add("notice", f"Reading {path.name}…")
        try:
            file = await self.session.engines.worker("vision").run(read_attached, path)
        except FileError as exc:
            self.chat.remove(reading)
            self.chat.add("error", str(exc))
            return
        self.chat.remove(reading)
        self.session.turns.attach_file(file)
        self._show_file(file)
        for notice in file.doc.notices:
            self.chat.add("notice", notice)

    def _show_file(self, file: AttachedFile) -> None:
        self.file_chips.add(
            file.name, f"{len(file.chunks)} passages, {file.doc.chars:,} characters"
        )

    def _on_files_restored(self, ev: FilesRestored) -> None:
        for file in ev.files:
            self._show_file(file)

    def add_image(self, source: Path | bytes, name: str) -> None:
        """Decode and check the image on a worker thread; attach it or say why not."""
        future = asyncio.ensure_future(self._load_image(source, name))
        self._image_loads.add(future)
        future.add_done_callback(self._image_loads.discard)

    async def _load_image(self, source: Path | bytes, name: str) -> None:
        # A plain worker thread, not qasync's default executor (its QThreads abort the process
        # if still alive at exit).
        worker = self.session.engines.worker("vision")
        try:
            image = await worker.run(partial(load_attachment, source, name))
        except ImageError as exc:
            self.chat.add("error", str(exc))
            return
        self.session.turns.attach(image)
        self.attachments.add(image)

    def attach_from_mime(self, mime: QMimeData) -> bool:
        """Images are attached; .gguf model files go to the model panel to be loaded."""
        sources = sources_from_mime(mime)
        models = [s for s, _ in sources if isinstance(s, Path) and is_model_file(s)]
        for source, name in sources:
            if isinstance(source, Path) and kind_of(source) is not None:
                self.add_file(source)
            elif not (isinstance(source, Path) and is_model_file(source)):
                self.add_image(source, name)
        if models:
            self.open_models().load_files(models)
        return bool(sources)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        mime = event.mimeData()
        if mime.hasImage() or any(u.isLocalFile() for u in mime.urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt API)
        if self.attach_from_mime(event.mimeData()):
            event.acceptProposedAction()
