"""A document's sections cut into retrieval-sized chunks, on the document's own boundaries:
sections (pages, headings, definitions) first, then paragraphs, then sentences."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.knowledge.extract import Document

CHUNK_CHARS = 1000  # about 250 tokens: several fit the context beside the chat


@dataclass(frozen=True)
class Chunk:
    file: str
    where: str
    text: str
    order: int  # position in the document, to put retrieved chunks back in reading order


def _pieces(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at paragraphs, then sentences, then
    words."""
    if len(text) <= limit:
        return [text]
    for splitter in (r"\n\s*\n", r"(?<=[.!?])\s+", r"\s+"):
        parts = [p for p in re.split(splitter, text) if p.strip()]
        if len(parts) > 1:
            out, current = [], ""
            for part in parts:
                if current and len(current) + 1 + len(part) > limit:
                    out.append(current)
                    current = ""
                current = f"{current}\n{part}" if current else part
            out.append(current)
            return [q for p in out for q in _pieces(p, limit)]
    return [text[i : i + limit] for i in range(0, len(text), limit)]


def chunk_document(doc: Document, limit: int = CHUNK_CHARS) -> list[Chunk]:
    chunks: list[Chunk] = []
    pending, pending_where = "", ""
    for section in doc.sections:
        # Short neighbours from the same place (paragraphs under one heading) travel together.
        if pending and section.where == pending_where and len(pending) + len(section.text) < limit:
            pending += "\n\n" + section.text
            continue
        if pending:
            chunks += [Chunk(doc.name, pending_where, p, 0) for p in _pieces(pending, limit)]
        pending, pending_where = section.text, section.where
    if pending:
        chunks += [Chunk(doc.name, pending_where, p, 0) for p in _pieces(pending, limit)]
    return [Chunk(c.file, c.where, c.text.strip(), i) for i, c in enumerate(chunks)]
