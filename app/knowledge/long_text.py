"""A message too long to send whole (a big paste, a long recording's transcript) read as a
document, with the user's question found in it.

People put the question where they stop typing or talking: at the end, often in the same
paragraph as the text ("... was approved in May. What changed in May?"), sometimes with a
"Thanks!" after it, or first ("Summarise this: ..."). So the question is the last sentence or
sentences when they ask something (a question, or a request such as "Summarise the above in
two sentences."), else the first ones, else a separate short last paragraph; with none of
those the message is summarised, and the user is told which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.knowledge.extract import Document, paragraphs

LONG_TEXT_CHARS = 6000  # a typed or pasted message longer than this is read as a document
QUESTION_CHARS = 600  # the most of a message taken as its question
SUMMARY = "Summarise this text."  # when it asks nothing

# Where a sentence ends: after . ! ? … (and CJK ones), or at a line break.
_BREAK = re.compile(r"(?<=[.!?…。！？])[\"”’»)\]]*[ \t]+|[ \t]*\n\s*")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")

# Verbs that open a request about a text, in English, German, French, Spanish, Portuguese and
# Italian ("Summarise the above.", "Fasse das zusammen.", "Résume ce texte.").
_ASK_VERBS = set(
    [
        "summarise",
        "summarize",
        "sum",
        "explain",
        "translate",
        "list",
        "describe",
        "compare",
        "extract",
        "rewrite",
        "outline",
        "proofread",
        "paraphrase",
        "simplify",
        "condense",
        "shorten",
        "analyse",
        "analyze",
        "evaluate",
        "assess",
        "review",
        "tldr",
        "tl",
        "fasse",
        "fass",
        "erkläre",
        "erklär",
        "übersetze",
        "übersetz",
        "nenne",
        "nenn",
        "beschreibe",
        "vergleiche",
        "liste",
        "résume",
        "résumez",
        "explique",
        "expliquez",
        "traduis",
        "traduisez",
        "décris",
        "décrivez",
        "resume",
        "resuma",
        "resumí",
        "explica",
        "traduce",
        "traduzca",
        "enumera",
        "describe",
        "traduza",
        "descreva",
        "riassumi",
        "spiega",
        "traduci",
        "elenca",
        "descrivi",
        "confronta",
        "dimmi",
        "dame",
        "diga",
    ]
)
# Verbs that ask only when about the text or the asker: "Write a reply to this email." (but
# not a manual's last line, "Check the oil level monthly.").
_WEAK_VERBS = set(
    [
        "write",
        "draft",
        "find",
        "identify",
        "check",
        "answer",
        "give",
        "tell",
        "show",
        "help",
        "point",
        "pick",
        "spot",
        "quote",
        "calculate",
        "compute",
        "estimate",
        "convert",
        "highlight",
        "suggest",
        "recommend",
        "classify",
        "name",
        "count",
        "correct",
        "fix",
        "make",
        "create",
        "gib",
        "finde",
        "prüfe",
        "schreibe",
        "donne",
        "donnez",
        "trouve",
        "écris",
        "dime",
        "escribe",
        "encuentra",
        "encontre",
        "escreva",
        "trova",
        "scrivi",
    ]
)
_ABOUT = re.compile(
    r"\b(?:this|these|that|above|following|below|it|me|us|text|document|article|email|"
    r"e-mail|message|paste|passage|transcript|recording|dies(?:e[nrs]?)?|mir|ce|cette|moi|"
    r"este|esta|esto|me|isto|questo|questa)\b",
    re.IGNORECASE,
)
# An English question without its question mark: "what is the deadline", "is it legal".
_QUESTION_WORDS = {"what", "which", "who", "whom", "whose", "when", "where", "why", "how"}
_QUESTION_NEXT = {
    "is", "are", "was", "were", "do", "does", "did", "can", "could", "should", "will", "would",
    "much", "many", "long", "often", "far", "old", "big", "has", "have", "had", "must",
}  # fmt: skip
_AUX = {"is", "are", "do", "does", "did", "can", "could", "would", "will", "has"}
_PLEASE = {"please", "pls", "kindly", "bitte", "svp", "por", "favor", "per", "now", "then",
           "also", "and", "so", "ok", "okay", "just"}  # fmt: skip
# A request anywhere in a sentence: "can you ...", "I'd like you to ...", "in two sentences".
_REQUEST = re.compile(
    r"\b(?:can|could|would|will)\s+you\b|\bi(?:'d|\s+would)\s+like\b|\bi\s+(?:want|need)\s+"
    r"(?:you|to\s+know)\b|\bi\s+wonder\b|\btell\s+me\b|"
    r"\b(?:in|into|as)\s+(?:one|two|three|four|five|a\s+few|\d+)\s+(?:short\s+)?"
    r"(?:sentences?|words?|bullets?|points|lines|paragraphs?)\b|\bbullet\s+points\b|"
    r"\btl;?\s?dr\b",
    re.IGNORECASE,
)
# "Thanks!", "Thank you in advance." after the question.
_THANKS = re.compile(
    r"^(?:thanks?|thank\s+you|many\s+thanks|cheers|thx|ty|danke|merci|gracias|obrigad[oa]|"
    r"grazie)\b[^.!?]{0,40}[.!?]*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class LongText:
    question: str
    document: Document
    found: str  # where the question was: "end", "start", "last paragraph" or "" (none)


def is_request(sentence: str) -> bool:
    """Whether `sentence` asks something: a question, or a request to do something."""
    text = sentence.strip().strip("\"“”'‘’*_>-– ")
    if not text or len(text) > QUESTION_CHARS:
        return False
    if text.endswith(("?", "？")) or text.startswith("¿"):
        return True
    words = [w.lower() for w in _WORD.findall(text)]
    while words and words[0] in _PLEASE:
        words = words[1:]
    first, second = (words + ["", ""])[:2]
    if second in ("of", "von", "de", "di"):  # "List of attendees": a heading, not a request
        return False
    if first in _ASK_VERBS or (first in _WEAK_VERBS and _ABOUT.search(text)):
        return True
    if (first in _AUX and second != "not") or (
        first in _QUESTION_WORDS and second in _QUESTION_NEXT
    ):
        return True
    return _REQUEST.search(text) is not None


def _sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`."""
    spans, start = [], 0
    for m in _BREAK.finditer(text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


# A word with a capital after a word without: where a sentence starts with no end before it.
_CAPITAL_START = re.compile(r"(?<=[^\W\d_])\s+(?=[¿¡]?[^\W\d_])")


def _glued_question(text: str) -> int | None:
    """The start of a question glued to a long text with no sentence end ("… amet How many
    words is that?"): the longest stretch of the last QUESTION_CHARS from a capital on."""
    window = len(text) - QUESTION_CHARS
    for m in _CAPITAL_START.finditer(text, max(0, window - 1)):
        first = text[m.end()]
        if (first.isupper() or first in "¿¡") and is_request(text[m.end() :]):
            return m.end()
    return None


def find_question(text: str) -> tuple[int, int, str]:
    """(start, end, where) of the question in `text`: its last sentences when they ask
    something (short thanks after them included), else its first ones, else a separate short
    last paragraph; (0, 0, '') when it asks nothing."""
    tail_from = max(0, len(text) - 4 * QUESTION_CHARS)
    tail = [(a + tail_from, b + tail_from) for a, b in _sentences(text[tail_from:])]
    if tail_from and len(tail) == 1:  # no sentence ends in the tail: it was lost with it
        glued = _glued_question(text)
        if glued is not None:
            return glued, len(text), "end"
    if tail_from:
        tail = tail[1:]  # the first may be cut
    while tail and _THANKS.match(text[tail[-1][0] : tail[-1][1]].strip()):
        tail.pop()
    if tail and is_request(text[tail[-1][0] : tail[-1][1]]):
        start = tail[-1][0]
        for a, b in reversed(tail[:-1]):  # "Read this. Then list the dates." : both
            if len(text) - a > QUESTION_CHARS or not is_request(text[a:b]):
                break
            start = a
        return start, len(text), "end"
    head = _sentences(text[: 2 * QUESTION_CHARS])[:3]
    if head and is_request(text[head[0][0] : head[0][1]]):
        stop = head[0][1]
        for a, b in head[1:]:
            if b > QUESTION_CHARS or not is_request(text[a:b]):
                break
            stop = b
        return head[0][0], stop, "start"
    parts = text.rstrip().rsplit("\n\n", 1)
    if len(parts) == 2 and parts[0].strip() and 0 < len(parts[1].strip()) <= QUESTION_CHARS:
        return len(parts[0]), len(text), "last paragraph"
    return 0, 0, ""


def split_long_text(text: str, name: str = "pasted text", force: bool = False) -> LongText | None:
    """A message too long to send whole (or any, with `force`): its question and the rest as
    a document named `name`; None when it is short enough to send as it is."""
    if len(text) <= LONG_TEXT_CHARS and not force:
        return None
    text = text.strip()
    start, end, where = find_question(text)
    if where:
        question = " ".join(text[start:end].split())
        body = (text[:start] + "\n\n" + text[end:]).strip()
    else:
        question, body = SUMMARY, text
    return LongText(question, Document(name, "text", paragraphs(body), ""), where)
