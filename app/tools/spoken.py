"""Numbers as people say them, as digits: spoken questions arrive from speech to text as words
("twelve times twelve", "a quarter past ten", "one hour forty-five minutes"), and the tool
cues, the calculator and the clock read digits. text2num does the conversion (English)."""

from __future__ import annotations

import re

_ARTICLE = re.compile(r"\b(?:a|an)\s+(?=\d)", re.IGNORECASE)  # "a hundred" -> "a 100" -> "100"


def with_digits(text: str) -> str:
    """`text` with its spelled numbers as digits: "twelve times twelve" -> "12 times 12",
    "three point five" -> "3.5", "a hundred and twenty" -> "120". Everything else as it was."""
    from text_to_num import alpha2digit

    try:
        converted = alpha2digit(text, "en", threshold=0)  # "one hour": 1 hour, as well
    except Exception:  # a library bug must not lose the question: the words stay words
        return text
    return _ARTICLE.sub("", converted)
