"""Images waiting in the composer: removable thumbnails, and turning dropped URLs, pasted
image data and chosen files into prepared images off the GUI thread."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"}
FILE_FILTER = (
    "Images and documents (*.png *.jpg *.jpeg *.webp *.gif *.bmp *.txt *.md *.pdf *.docx *.html "
    "*.htm *.py *.js *.ts *.c *.cpp *.h *.java *.go *.rs *.json *.csv);;"
    "Images (*.png *.jpg *.jpeg *.webp *.gif *.bmp);;"
    "Documents (*.txt *.md *.pdf *.docx *.html *.htm);;All files (*)"
)
THUMB = 72


def pixmap_from_png(data: bytes) -> QPixmap:
    pixmap = QPixmap()
    pixmap.loadFromData(data)
    return pixmap


def qimage_to_png(image: QImage) -> bytes:
    array = QByteArray()
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(array.data())


def sources_from_mime(mime: QMimeData) -> list[tuple[Path | bytes, str]]:
    """What can be attached from a drop or the clipboard: local files (by path) first, else
    raw image data. Remote URLs are ignored: Parley never fetches anything."""
    sources: list[tuple[Path | bytes, str]] = []
    if mime.hasUrls():
        for url in mime.urls():
            if url.isLocalFile():
                path = Path(url.toLocalFile())
                sources.append((path, path.name))
    if not sources and mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            sources.append((qimage_to_png(image), "pasted image"))
    return sources


class Thumbnail(QWidget):
    removed = Signal(object)

    def __init__(self, image: Any) -> None:
        super().__init__()
        self.image = image
        self.setObjectName("thumbnail")
        picture = QLabel()
        picture.setPixmap(pixmap_from_png(image.thumbnail(THUMB)))
        picture.setToolTip(f"{image.name} — {image.original_size[0]} x {image.original_size[1]}")
        close = QToolButton()
        close.setObjectName("removeImage")
        close.setText("×")
        close.setToolTip("Remove this image")
        close.clicked.connect(lambda: self.removed.emit(self.image))
        self.close_button = close
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(picture)


class AttachmentStrip(QWidget):
    """The images that go with the next turn; hidden while there are none."""

    def __init__(self, on_remove: Callable[[Any], None]) -> None:
        super().__init__()
        self.setObjectName("attachments")
        self._on_remove = on_remove
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.addStretch(1)
        self.thumbnails: list[Thumbnail] = []
        self.hide()

    def add(self, image: Any) -> Thumbnail:
        thumb = Thumbnail(image)
        thumb.removed.connect(self.remove)
        self._row.insertWidget(self._row.count() - 1, thumb)
        self.thumbnails.append(thumb)
        self.show()
        return thumb

    def remove(self, image: Any) -> None:
        for thumb in list(self.thumbnails):
            if thumb.image is image:
                self.thumbnails.remove(thumb)
                thumb.deleteLater()
                self._on_remove(image)
        self.setVisible(bool(self.thumbnails))

    def clear(self) -> None:
        for thumb in self.thumbnails:
            thumb.deleteLater()
        self.thumbnails.clear()
        self.hide()
