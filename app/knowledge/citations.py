"""Citations in a reply checked against the sources the model was actually given.

A small model copies the example in its instructions: "(report.pdf, page 4)" turned up in
answers about pasted text and long recordings, naming a file nobody attached. So a bracketed
span that reads like a citation (it names a file, or a page, line, section...) is checked as
the reply streams, before it is shown, spoken or saved: one that names a given file and a
place in the passages used stays as written; any other is rewritten to the source it can only
mean (the one file given, and its place when only one was used) or, when it could mean
several, taken out. Only an open bracket is held back, until it closes (or is clearly not a
citation): the rest of the reply streams as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from app.stream_filter import filtered

HOLD_CHARS = 160  # an open bracket left open longer than this is prose, not a citation
_PAIRS = {"(": ")", "[": "]"}

# A file name: a dotted name whose extension starts with a letter ("report.pdf", "a b.docx";
# not "e.g.", "3.5" or "U.S.").
_FILE = re.compile(r"(?<![\w.])[\w\-]+(?:[ _][\w\-]+){0,4}\.[A-Za-z][A-Za-z0-9]{1,4}(?![\w])")
# A place with numbers: "page 4", "pages 2-3", "p. 7", "lines 10–42", "section 3".
_PLACE = re.compile(
    r"\b(page|line|section|paragraph|chapter|slide|sheet|p|pp)s?\.?\s*(\d+)"
    r"(?:\s*(?:[-–—]|to)\s*(\d+))?",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"[“\"]([^”\"]{2,80})[”\"]")
_KIND = {"p": "page", "pp": "page"}


@dataclass(frozen=True)
class _Place:
    kind: str
    first: int
    last: int


def _places(text: str) -> list[_Place]:
    found = []
    for m in _PLACE.finditer(text):
        kind = _KIND.get(m.group(1).lower(), m.group(1).lower())
        first = int(m.group(2))
        last = int(m.group(3)) if m.group(3) else first
        found.append(_Place(kind, min(first, last), max(first, last)))
    return found


@dataclass
class Sources:
    """The (file, where) pairs of the passages the model was given, for checking."""

    pairs: Sequence[tuple[str, str]]
    files: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.files = list(dict.fromkeys(f for f, _ in self.pairs))

    def places(self, file: str | None) -> list[str]:
        return [w for f, w in self.pairs if file is None or f == file]

    def holds(self, file: str | None, place: _Place) -> bool:
        """Whether `place` lies within a passage of `file` (any file for None) that was used."""
        for where in self.places(file):
            for used in _places(where):
                same = used.kind == place.kind or {used.kind, place.kind} <= {"line", "paragraph"}
                if same and used.first <= place.first and place.last <= used.last:
                    return True
        return False

    def named(self, span: str) -> tuple[list[str], list[str]]:
        """The given files `span` names, and the file names in it that were not given."""
        low = span.lower()
        known = [f for f in self.files if f.lower() in low]
        unknown = [
            m.group(0)
            for m in _FILE.finditer(span)
            if not any(m.group(0).lower() in f.lower() or f.lower() in m.group(0).lower()
                       for f in self.files)
        ]  # fmt: skip
        return known, unknown


def check_citation(span: str, sources: Sources) -> str | None:
    """`span` (a bracketed text, brackets included) as it may be shown: itself, a corrected
    citation, or '' to take it out. None: it is not a citation."""
    inner = span[1:-1]
    known, unknown = sources.named(inner)
    places = _places(inner)
    quoted = [q.strip() for q in _QUOTED.findall(inner)]
    if not (known or unknown or places):
        return None
    file = known[0] if len(known) == 1 else None
    places_ok = all(sources.holds(file, p) for p in places)
    quotes_ok = all(any(q.lower() in w.lower() for w in sources.places(file)) for q in quoted)
    if not unknown and len(known) <= 1 and places_ok and quotes_ok:
        return span
    if file is None and len(sources.files) == 1:
        file = sources.files[0]
    if file is None:
        return ""
    used = list(dict.fromkeys(sources.places(file)))
    kept = [w for w in used if any(sources.holds(file, p) for p in places) and w in inner]
    place = kept[0] if kept else used[0] if len(used) == 1 else ""
    return f"{span[0]}{file}, {place}{span[-1]}" if place else f"{span[0]}{file}{span[-1]}"


class CitationCheck:
    """Streams a reply with its citations checked (see the module)."""

    def __init__(self, sources: Sequence[tuple[str, str]]) -> None:
        self.sources = Sources(sources)
        self._held = ""
        self.changed: list[tuple[str, str]] = []  # (as written, as shown)

    def feed(self, piece: str) -> str:
        """The part of the reply so far that can be shown now."""
        self._held += piece
        out: list[str] = []
        while True:
            start = _first_open(self._held)
            if start < 0:
                out.append(self._held)
                self._held = ""
                break
            close = self._held.find(_PAIRS[self._held[start]], start + 1)
            if close < 0:
                if len(self._held) - start <= HOLD_CHARS:
                    out.append(self._held[:start])
                    self._held = self._held[start:]
                    break
                out.append(self._held[: start + 1])  # prose in brackets: let it through
                self._held = self._held[start + 1 :]
                continue
            out.append(self._held[:start])
            out.append(self._checked(self._held[start : close + 1], out))
            self._held = self._held[close + 1 :]
        return "".join(out)

    def flush(self) -> str:
        """The rest, at the end of the reply: a bracket the reply left open (it ran out of
        tokens mid-citation) is checked as if closed."""
        rest, self._held = self._held, ""
        if rest[:1] in _PAIRS:
            shown = check_citation(rest + _PAIRS[rest[0]], self.sources)
            if shown is not None and shown != rest + _PAIRS[rest[0]]:
                self.changed.append((rest, shown))
                return shown
        return rest

    def _checked(self, span: str, before: list[str]) -> str:
        shown = check_citation(span, self.sources)
        if shown is None or shown == span:
            return span
        self.changed.append((span, shown))
        if not shown and before and before[-1].endswith(" "):
            before[-1] = before[-1][:-1]  # "the rent is 800 (x.pdf)." -> "the rent is 800."
        return shown


def _first_open(text: str) -> int:
    found = [i for i in (text.find("("), text.find("[")) if i >= 0]
    return min(found) if found else -1


def checked_citations(
    stream: Iterator[str],
    sources: Sequence[tuple[str, str]],
    changed: Callable[[list[tuple[str, str]]], None] | None = None,
) -> Iterator[str]:
    """`stream` with its citations checked against `sources`; `changed` hears what was
    corrected, at the end."""
    check = CitationCheck(sources)
    try:
        yield from filtered(stream, check)
    finally:
        if check.changed and changed is not None:
            changed(check.changed)


def check_text(text: str, sources: Sequence[tuple[str, str]]) -> str:
    """`text` whole, with its citations checked."""
    check = CitationCheck(sources)
    return check.feed(text) + check.flush()
