"""Cut the streamed reply into sentences for text-to-speech, and clean them for speaking.

TTS starts as soon as the first sentence is complete instead of waiting for the whole reply. In
clause mode it starts even earlier: a chunk may also end at a comma, semicolon, colon or dash
once it has enough words (few for the first chunk, so the voice starts quickly; more later, so
the speech keeps a natural phrasing).
A fenced code block is kept whole (never split at its line breaks), so `speakable` can replace
it with a short remark instead of the voice reading the code line by line.
"""

from __future__ import annotations

import re

# A sentence ends at . ! ? or … (optionally followed by closing quotes/brackets) and then
# whitespace, or at a blank line / line break; a clause at , ; : or a dash then spaces (not a
# line break, which ends the chunk by itself); in clause mode the first chunk may also end
# before a conjunction, a natural phrase break ("The sky is blue | because of ...").
# Not "and"/"or"/"so": they join nouns and adverbs too often ("the capital and largest city").
_CONJUNCTIONS = "but|because|since|although|though|while|whereas|when|where|which|if|unless|until"
_END = re.compile(
    r"([.!?…]+[\"')\]]*)(\s+)|(\n+)|([,;:—–]|\s-)([ \t]+)"
    rf"|([ \t]+)(?=(?:{_CONJUNCTIONS})[ \t])"
)
_EAGER_END = re.compile(r"[^\W\d_][\"')\]]*[.!?]+[\"')\]]*$")
# The first chunk is cut before a conjunction only with at least this many words before it.
_CONJUNCTION_WORDS = 4
_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "sr",
    "jr",
    "st",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "approx",
    "no",
    "fig",
    "inc",
    "ltd",
    "co",
    "u.s",
    "a.m",
    "p.m",
}
_MIN_CHARS = 12  # don't speak "1." or "Yes." on its own when more text follows quickly
# ...except as the first chunk in clause mode: "Sure!" or "Yes." alone is natural speech and
# the quickest way to a voice. A word must end it (never "1." alone).
_FIRST_MIN_CHARS = 4


# Where the first chunk may be cut with no punctuation at all (first_max_words): before a
# word that starts a phrase, so the voice pauses where a speaker could.
_PHRASE_STARTS = frozenset(
    [
        "with",
        "in",
        "on",
        "at",
        "for",
        "from",
        "to",
        "of",
        "by",
        "about",
        "like",
        "and",
        "or",
        "that",
        "which",
        "who",
        "the",
        "a",
        "an",
        "is",
        "are",
        "was",
        "located",
        "including",
    ]
)


# A number of two characters or more ("38", "384,400", "$1.5"): a cut before it is worth it.
_LONG_NUMBER = re.compile(r"[$€£]?\d[\d,.]{1,}")
_NUMBER_CUT_WORDS = 3


class SentenceSplitter:
    """Feed streamed text with `push`; complete sentences come out, the rest waits."""

    def __init__(
        self,
        min_chars: int = _MIN_CHARS,
        clause_words: int | None = None,
        first_clause_words: int | None = None,
        first_max_words: int | None = None,
    ) -> None:
        """`clause_words`: end a chunk at a clause mark once it has this many words (None:
        whole sentences only); `first_clause_words`: the same for the first chunk;
        `first_max_words`: the first chunk ends after at most this many words even without a
        mark (before a phrase-starting word from two words earlier on), so a long first
        sentence ("The moon is approximately 384,400 kilometers away from Earth.") does not
        keep the voice waiting for its end."""
        self._first_max = first_max_words
        self._buf = ""
        self._min = min_chars
        self._clause = clause_words
        self._first_clause = first_clause_words or clause_words
        clause_mode = clause_words is not None or first_clause_words is not None
        self._first_min = min(_FIRST_MIN_CHARS, min_chars) if clause_mode else min_chars
        self._emitted = 0

    def push(self, text: str) -> list[str]:
        self._buf += text
        out: list[str] = []
        start = 0
        for m in _END.finditer(self._buf):
            if self._buf.count("```", start, m.start()) % 2:
                continue  # inside a fenced code block: it goes out whole, as one "sentence"
            end = m.end()
            candidate = self._buf[start:end]
            if not self._ends_chunk(m, candidate, first=not (self._emitted or out)):
                continue
            out.append(candidate)
            start = end
        if self._clause is not None or self._first_clause is not None:
            start = self._eager_end(start, out)
        if self._first_max and not (self._emitted or out):
            start = self._capped_first(start, out)
        self._buf = self._buf[start:]
        self._emitted += len(out)
        return [s for s in (clean for clean in map(str.strip, out)) if s]

    def _eager_end(self, start: int, out: list[str]) -> int:
        """Clause mode: a sentence that ends the text so far goes out now, without waiting for
        the next token's space (the last sentence would otherwise wait for the end of the
        reply). Only after a word, never "3." (maybe 3.5) or an abbreviation."""
        rest = self._buf[start:]
        first = not (self._emitted or out)
        if (
            _EAGER_END.search(rest)
            and len(rest.strip()) >= (self._first_min if first else self._min)
            and self._buf.count("```", start) % 2 == 0
            and not self._is_abbreviation(rest.rstrip("!?.…\"')]"))
        ):
            out.append(rest)
            return len(self._buf)
        return start

    def _capped_first(self, start: int, out: list[str]) -> int:
        """The first chunk, once it has first_max words, cut before the next word that starts
        a phrase ("with", "in", "is", ...), or before the fourth word after that at the latest;
        never inside a code block. A long number is a cut from three words on: the model
        writes it a digit per token and piper speaks it as several words ("384,400"), so the
        words before it are the quickest clause to voice ("The moon is approximately")."""
        rest = self._buf[start:]
        limit = self._first_max or 0
        if "```" in rest:
            return start
        spans = [m.span() for m in re.finditer(r"\S+", rest)]
        for n in range(min(_NUMBER_CUT_WORDS, limit), min(limit, len(spans))):
            if _LONG_NUMBER.match(rest, spans[n][0]):
                out.append(rest[: spans[n][0]])
                return start + spans[n][0]
        for n in range(limit, len(spans)):
            begun, end = spans[n]
            if _LONG_NUMBER.match(rest, begun):
                out.append(rest[:begun])
                return start + begun
            complete = rest[end:].startswith((" ", "\t"))
            phrase = complete and rest[begun:end].lower().strip("\"'(") in _PHRASE_STARTS
            if phrase or n >= limit + 3:
                out.append(rest[:begun])
                return start + begun
            if not complete:
                break
        return start

    def flush(self) -> list[str]:
        rest, self._buf = self._buf.strip(), ""
        return [rest] if rest else []

    def _ends_chunk(self, m: re.Match[str], candidate: str, first: bool) -> bool:
        if m.group(3) is not None:  # a line break always ends a chunk
            return True
        if m.group(4) is not None:  # a clause mark: only once the chunk is long enough
            wanted = self._first_clause if first else self._clause
            return wanted is not None and len(candidate.split()) >= wanted
        if m.group(6) is not None:  # before a conjunction: the first chunk only
            wanted = self._first_clause
            return (
                first
                and wanted is not None
                and len(candidate.split()) >= max(wanted, _CONJUNCTION_WORDS)
            )
        if self._is_abbreviation(self._buf[: m.start(1)]):
            return False
        text = candidate.strip()
        if len(text) >= self._min:
            return True
        return first and len(text) >= self._first_min and bool(_EAGER_END.search(text))

    @staticmethod
    def _is_abbreviation(before: str) -> bool:
        word = re.split(r"\s", before)[-1].lower().rstrip(".")
        if word in _ABBREVIATIONS:
            return True
        return len(word) == 1 and word.isalpha() and word.isupper()  # initials: "J. Smith"


_CODE_BLOCK = re.compile(r"```.*?(```|$)", re.S)
_INLINE = re.compile(r"[*_`#>|]+")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_LIST_MARK = re.compile(r"^\s*(?:[-+*]|\d+[.)])\s+", re.M)
# A document's name as replies cite it ("lease.pdf", "q3_report.docx"): said as its words
# (source files keep their extension: "main.py" is not "main").
_DOC_EXT = r"(?:pdf|docx|md|markdown|txt|text|html?|rst)"
_FILE_NAME = re.compile(r"\b([\w][\w\- ]*?)\.(" + _DOC_EXT + r")\b", re.I)
# "(lease.pdf, page 2)" after an answer: said as ", from lease, page 2".
_CITATION = re.compile(r"\s*[(\[]\s*([^()\[\]]*?\." + _DOC_EXT + r"\b[^()\[\]]*)[)\]]", re.I)


def _spoken_citation(match: re.Match[str]) -> str:
    before = match.string[: match.start()].rstrip()
    if not before or before[-1] in ".!?:":
        return f" From {match.group(1).strip()}."  # a citation of its own, after the answer
    return f", from {match.group(1).strip()}"


def speakable(text: str) -> str:
    """Markdown -> what a voice should say: no symbols, no code read out character by character."""
    text = _CODE_BLOCK.sub(" (see the code on screen) ", text)
    text = _LINK.sub(r"\1", text)
    text = _CITATION.sub(_spoken_citation, text)
    text = _FILE_NAME.sub(lambda m: re.sub(r"[_\-]+", " ", m.group(1)), text)
    text = _LIST_MARK.sub("", text)
    text = _INLINE.sub("", text)
    return re.sub(r"\s+", " ", text).strip()
