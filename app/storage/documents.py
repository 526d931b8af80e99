"""Documents kept with a chat or an assistant: the text Parley read out of a file (its
sections and where each is), stored as content-addressed JSON beside the image attachments.
The extracted text, not the original file: it is what the model is given, it is a fraction of
a PDF's size, and reopening a chat then needs no PDF parser, OCR or time limit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from app.knowledge.extract import Document, Section

MIME = "application/vnd.parley.document+json"


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A document's entry in a chat or an assistant: its name and where its text is."""

    name: str
    sha256: str  # of the stored JSON (see BlobStore)
    kind: str
    chars: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "kind": self.kind, "chars": self.chars}

    @classmethod
    def from_json(cls, data: Any) -> StoredFile | None:
        try:
            return cls(
                str(data["name"]), str(data["sha256"]), str(data["kind"]), int(data["chars"])
            )
        except (TypeError, KeyError, ValueError):
            return None


def to_json(doc: Document) -> dict[str, Any]:
    return {
        "name": doc.name,
        "kind": doc.kind,
        "source_sha256": doc.sha256,
        "notices": doc.notices,
        "sections": [{"where": s.where, "text": s.text} for s in doc.sections],
    }


def to_bytes(doc: Document) -> bytes:
    return json.dumps(to_json(doc), ensure_ascii=False).encode("utf-8")


def from_json(data: Any) -> Document:
    """Raises ValueError for anything that is not a stored document."""
    try:
        sections = [Section(str(s["text"]), str(s["where"])) for s in data["sections"]]
        return Document(
            str(data["name"]),
            str(data["kind"]),
            sections,
            str(data.get("source_sha256", "")),
            [str(n) for n in data.get("notices", [])],
        )
    except (TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"not a stored document ({exc})") from exc


def from_bytes(data: bytes) -> Document:
    """Raises ValueError for bytes that are not a stored document."""
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a stored document ({exc})") from exc
    return from_json(parsed)
