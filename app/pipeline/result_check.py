"""The answer after a calculation says the calculator's number. The default model, given
"(Calculator: 9 × 8 = 72) Answer in German, the number in digits.", once answered
"Sechszehn." (16) in a process that had answered other questions first: the user would hear
a wrong number the tool had got right. The answer's first sentence is held until it is
whole (a tool answer's first sentence is short: a few tokens), checked, and, when it names a
number the result is not, replaced by the result itself."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence

from app.stream_filter import close_stream
from app.tools.registry import ToolOutcome
from app.tools.spoken import language_of, with_digits

log = logging.getLogger(__name__)

# A sentence ends at . ! ? before a space; not at the end of what has come so far ("47."
# may be "47.80": cut there, "15% of 47." was checked alone and the answer became
# "7.17.80 is 7.17.").
_SENTENCE_END = re.compile(r"[.!?]\s")
_NUMBER = re.compile(r"-?\d[\d,. ]*\d|-?\d")


def _readings(raw: str) -> set[float]:
    """What a number as written can be: "31.622.400" and "22,5" as German writes them,
    "31,622,400" and "22.5" as English does (the answer's language may not be the
    question's)."""
    raw = raw.replace(" ", "")
    values = set()
    for thousands, decimal in ((",", "."), (".", ",")):
        text = raw.replace(thousands, "").replace(decimal, ".").rstrip(".")
        try:
            values.add(float(text))
        except ValueError:
            continue
    return values


def _numbers(text: str, lang: str) -> list[set[float]]:
    """The numbers a sentence says, in digits or words (in `lang`, the question's, or its
    own: the question may carry English notes), each as the values it can be."""
    found = []
    for language in dict.fromkeys((lang, language_of(text))):
        found += [_readings(raw) for raw in _NUMBER.findall(with_digits(text, language))]
    return [values for values in found if values]


def _result(outcome: ToolOutcome) -> float | None:
    if outcome.name != "calculator" or not outcome.ok:
        return None
    try:
        return float(outcome.result.replace(",", ""))
    except ValueError:
        return None


def _says(number: float, result: float) -> bool:
    return abs(number - result) <= max(0.01 * abs(result), 0.005)  # "22.22" for 22.2222…


def checked_result(
    stream: Iterator[str], outcomes: Sequence[ToolOutcome], question: str
) -> Iterator[str]:
    """`stream`, with its first sentence that names a number of its own (not one of the
    question's) replaced by the calculator's result when that number is not the result, or
    the result added when the answer names none; as it was with no calculator number."""
    results = [r for r in (_result(o) for o in outcomes) if r is not None]
    if not results:
        yield from stream
        return
    lang = language_of(question)
    asked = set().union(*_numbers(question, lang))
    shown = next(o.result for o in outcomes if _result(o) is not None)

    def verdict(sentence: str) -> bool | None:
        """True: names the result; False: names another number; None: neither."""
        said = _numbers(sentence, lang)
        if any(_says(n, r) for values in said for n in values for r in results):
            return True
        return False if any(not values & asked for values in said) else None

    held: str | None = ""
    last = ""  # the last text handed on (a result added after it needs a space)
    try:
        for piece in stream:
            if held is None:
                yield piece
                continue
            held += piece
            while held is not None and (end := _SENTENCE_END.search(held)):
                sentence, held = held[: end.end()], held[end.end() :]
                said = verdict(sentence)
                if said is None:
                    yield sentence  # "You multiply 9 by 8." says nothing yet
                    last = sentence
                    continue
                yield sentence if said else _instead(sentence, shown)
                yield held
                held = None
    finally:
        close_stream(stream)
    if held is None:
        return
    said = verdict(held)
    if said is False:
        yield _instead(held, shown)
        return
    yield held
    last = held or last
    if said is None:  # never named ("Sechszehn." is no number word text2num reads)
        log.warning("the answer named no number; the calculator's %s is added", shown)
        yield f"{'' if not last or last[-1:].isspace() else ' '}{shown}."


def _instead(sentence: str, shown: str) -> str:
    log.warning("the answer %r named another number than the calculator's %s", sentence, shown)
    return f"{shown}." + (" " if sentence[-1:].isspace() else "")
