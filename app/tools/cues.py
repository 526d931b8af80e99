"""Whether a question asks for a calculation or a date, by its words: then the first reply is
constrained to a tool call (a grammar), since the 1.5B default model, left to choose, answers
word problems and percentages from memory (and wrongly) more often than it calls the tool."""

from __future__ import annotations

import re

_MATH = re.compile(
    r"\d[\d,.]*\s*(?:%|percent|times|x|×|\*|/|÷|divided|plus|\+|minus|−|-|to the power|squared|"
    r"cubed)|(?:square|cube) root|\bsqrt\b|\bpercent(?:age)? of\b|"
    r"\d.*\b(?:how (?:much|many|far|long)|total|cost|costs|left|remain|average|sum|product)\b|"
    r"\b(?:how (?:much|many|far|long))\b.*\d",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\b(?:what day|which day|weekday|day of the week|days (?:between|until|since|from|after|"
    r"before)|what date|\d{4}-\d{2}-\d{2})\b",
    re.IGNORECASE,
)


def needs_tool(question: str) -> bool:
    return bool(_MATH.search(question) or _DATE.search(question))


# A call to one of the two built-in tools, nothing else (GBNF, llama.cpp's grammar format).
CALL_GRAMMAR = r"""
root ::= calc | cal
calc ::= "{\"name\": \"calculator\", \"arguments\": {\"expression\": \"" expr "\"}}"
cal ::= "{\"name\": \"calendar\", \"arguments\": {\"operation\": \"" op "\"" date? days? other? "}}"
expr ::= [-0-9a-z.,+*/()%' ]{1,120}
op ::= "today" | "add" | "between" | "weekday"
date ::= ", \"date\": \"" [0-9]{4} "-" [0-9]{2} "-" [0-9]{2} "\""
days ::= ", \"days\": " "-"? [0-9]{1,6}
other ::= ", \"other\": \"" [0-9]{4} "-" [0-9]{2} "-" [0-9]{2} "\""
"""
