"""A document the user attaches, read and indexed (on a worker thread: a big PDF takes
seconds), with the offline OCR for pages that are only pictures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.knowledge.context import AttachedFile
from app.knowledge.extract import read_document


def read_attached(path: Path) -> AttachedFile:
    """Raises app.knowledge.extract.FileError with the reason."""
    reader: list[Any] = []

    def ocr(data: bytes) -> str:
        from app.vision.images import ImageError, prepare_image
        from app.vision.ocr import ImageReader

        if not reader:
            reader.append(ImageReader())
        try:
            return reader[0].read(prepare_image(data, name="page")).text
        except ImageError:
            return ""

    return AttachedFile.prepare(read_document(path, ocr))
