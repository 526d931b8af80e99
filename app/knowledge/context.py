"""The attached files as prompt text for one question: whole when they fit, else the chunks
that best answer it (BM25), in reading order, within a character budget. Always wrapped as
untrusted data like an image's OCR text (app/safety/untrusted/): what a file says is never
an instruction, and instructions found in it are reported to the user."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.knowledge.chunks import Chunk, chunk_document
from app.knowledge.extract import Document
from app.knowledge.index import ChunkIndex
from app.safety.untrusted import detect_instructions, instruction_notice, wrap_untrusted
from app.safety.untrusted.fence import Origin

TOP_K = 24  # candidates; the budget decides how many go in


@dataclass
class AttachedFile:
    """A file read, chunked and indexed (off the GUI thread: `prepare` can take seconds)."""

    doc: Document
    chunks: list[Chunk]
    index: ChunkIndex
    seconds: float

    @classmethod
    def prepare(cls, doc: Document) -> AttachedFile:
        started = time.monotonic()
        chunks = chunk_document(doc)
        return cls(doc, chunks, ChunkIndex(chunks), time.monotonic() - started)

    @property
    def name(self) -> str:
        return self.doc.name


@dataclass
class FileContext:
    block: str  # for the prompt, before the user's words
    sources: list[tuple[str, str]] = field(default_factory=list)  # (file, where), as used
    notices: list[str] = field(default_factory=list)
    retrieved: bool = False  # parts were chosen (the files did not fit whole)


def _label(chunk: Chunk) -> str:
    return f"[{chunk.file}, {chunk.where}]"


def file_budget_chars(settings: Any) -> int:
    """Room for file passages in one prompt: about 45 % of the context (a token is about
    3.5 characters of English), the rest for the instructions, the chat and the reply."""
    return int(max(1024, settings.llm_context) * 0.45 * 3.5)


def file_context(question: str, files: Sequence[AttachedFile], budget_chars: int) -> FileContext:
    all_chunks = [c for f in files for c in f.chunks]
    total = sum(len(c.text) + len(_label(c)) + 2 for c in all_chunks)
    if total <= budget_chars:
        chosen, retrieved = all_chunks, False
    elif wants_overview(question):
        # "Summarise this": passages from the whole length, not the few that share a word
        # with the request ("text", "above"), which BM25 would pick.
        retrieved = True
        chosen = spread(all_chunks, budget_chars)
    else:
        retrieved = True
        hits = [h for f in files for h in f.index.search(question, TOP_K)]
        hits.sort(key=lambda h: -h[1])
        chosen, used = [], 0
        for chunk, _score in hits:
            cost = len(chunk.text) + len(_label(chunk)) + 2
            if used + cost > budget_chars:
                continue
            chosen.append(chunk)
            used += cost
        if not chosen and all_chunks:  # no word in common: the start, so the model can say so
            chosen = [all_chunks[0]]
        rank = {f.name: i for i, f in enumerate(files)}
        chosen.sort(key=lambda c: (rank[c.file], c.order))
    content = "\n\n".join(f"{_label(c)}\n{c.text}" for c in chosen)
    names = ", ".join(f"“{f.name}”" for f in files)
    if retrieved:
        facts = (
            f"the passages of {names} that best match the user's question (the files are too "
            "long to include whole); each starts with [file, place]"
        )
    else:
        facts = f"the whole text of {names}; each passage starts with [file, place]"
    block = wrap_untrusted(
        content,
        Origin("document", "extracted from the user's files"),
        facts=facts,
        max_chars=budget_chars + 200,
    )
    found = detect_instructions(content)
    notices = [instruction_notice(found, "document")] if found else []
    sources = list(dict.fromkeys((c.file, c.where) for c in chosen))
    return FileContext(block, sources, notices, retrieved)


_OVERVIEW = re.compile(
    r"\b(?:summar|sum\s+up|overview|tl;?\s?dr|gist|main\s+points|key\s+points|outline|"
    r"what\s+is\s+(?:this|it)\s+about|zusammenfass|fass\w*\s.*\bzusammen|résum|synth[eè]s|"
    r"resum|riassun|sintesi|síntes)",
    re.IGNORECASE,
)


def wants_overview(question: str) -> bool:
    """Whether `question` asks about the whole text (a summary) rather than a fact in it."""
    return _OVERVIEW.search(question) is not None


def spread(chunks: Sequence[Chunk], budget_chars: int) -> list[Chunk]:
    """As many chunks as fit in `budget_chars`, evenly spaced from the first to the last."""
    if not chunks:
        return []
    cost = [len(c.text) + len(_label(c)) + 2 for c in chunks]
    n = max(1, min(len(chunks), budget_chars * len(chunks) // max(1, sum(cost))))
    while n > 1:
        picked = sorted({round(i * (len(chunks) - 1) / (n - 1)) for i in range(n)})
        if sum(cost[i] for i in picked) <= budget_chars:
            return [chunks[i] for i in picked]
        n -= 1
    return [chunks[0]]


def question_with_files(question: str, context: FileContext) -> str:
    """The user's turn: the data, then their words, then how to say where the answer is from."""
    # The example is a real source of this turn: a made-up one ("report.pdf, page 4") was
    # copied into answers about pasted text. Citations are checked after generation too
    # (app/knowledge/citations.py).
    # The answer is asked for first: told only to say where it comes from, the default model
    # answered "Which platform does the train leave from?" with "(ticket.txt, line 3)" alone.
    example = (
        f", e.g. “… ({context.sources[0][0]}, {context.sources[0][1]})”" if context.sources else ""
    )
    ask = (
        "[Answer from the document passages above: first the answer itself, in a sentence, "
        "then, in brackets, which file and place (page or section) it comes from, as written "
        f"at the start of its passage{example}. If they do not contain the answer, say so.]"
    )
    from app.tools.spoken import LANGUAGE_NAMES, language_of

    language = language_of(question)
    if language != "en":
        # A Spanish request to summarise a report with a planted note was answered in
        # English, about the note only: the English notes around it set the language.
        ask = ask[:-1] + f" Answer in {LANGUAGE_NAMES[language]}.]"
    return "\n\n".join([context.block, f"The user's message: {question.strip()}", ask])
