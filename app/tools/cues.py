"""Whether a question asks for a calculation, a date or a clock time, by the user's own words
(never by text read from an attachment: the caller passes only what the user typed or said).
Then the first reply is constrained to a tool call (a grammar), since the 1.5B default model,
left to choose, answers word problems and percentages from memory (and wrongly) more often
than it calls the tool.

Spoken numbers count as numbers ("twelve times twelve" is 12 times 12). A number alone is no
calculation ("the 1969 moon landing", "a 5-year-old", "100% cotton"): an operation needs a
number on each side, a word problem two numbers, a percentage something to take it of."""

from __future__ import annotations

import re

from app.tools.calculator import CalculationError, calculate
from app.tools.registry import ToolCall
from app.tools.spoken import with_digits

_N = r"\d[\d,]*(?:\.\d+)?"
# "24/7", "80/20", "4x4", "2-3 days" are no sums: a slash, an x or a dash between numbers
# counts with spaces around it or after "what is" / "calculate".
_ASKED = r"\b(?:what is|what's|calculate|compute|how much is|equals?)\s+"
_OPERATION = re.compile(
    rf"{_N}\s*(?:times|×|\*|÷|divided by|multiplied by|plus|\+|minus|−|to the power of|"
    rf"over)\s*{_N}|{_N}\s+(?:x|/|-)\s+{_N}|{_ASKED}{_N}\s*(?:x|/|-)\s*{_N}|"
    rf"{_N}\s*(?:squared|cubed)\b|(?:square|cube) root of\s*{_N}|\bsqrt\b|"
    rf"{_N}\s*(?:%|percent)\s*(?:of|off)\s*{_N}|"
    rf"\bpercent(?:age)?\b.*{_N}.*{_N}|{_N}.*{_N}.*\bpercent(?:age)?\b",
    re.IGNORECASE,
)
# A word problem: two numbers and a question that asks for an amount.
_AMOUNT = (
    r"\b(?:how (?:much|many|far|long|old|fast)|total|cost|costs|left|remain|remaining|average|"
    r"sum|product|difference|altogether|in all|each|per)\b"
)
_WORD_PROBLEM = re.compile(
    rf"{_N}\b.*\b{_N}.*{_AMOUNT}|{_N}\b.*{_AMOUNT}.*\b{_N}|{_AMOUNT}.*{_N}\b.*\b{_N}",
    re.IGNORECASE,
)
# A conversion of one amount: "How many seconds are in 3 hours?", "12 miles in km".
_UNIT = (
    r"(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|mm|cm|km|m|metres?|meters?|"
    r"kilometres?|kilometers?|miles?|inches|inch|feet|foot|yards?|grams?|kg|kilos?|"
    r"kilograms?|pounds?|lbs?|ounces?|oz|litres?|liters?|ml|gallons?|celsius|fahrenheit|"
    r"kelvin|degrees)"
)
_CONVERSION = re.compile(
    rf"\bhow many {_UNIT}\b.*{_N}\s*{_UNIT}\b|{_N}\s*{_UNIT}\b.*\b(?:in|to|into)\s+{_UNIT}\b",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\b(?:what day|which day|weekday|day of the week|days (?:between|until|till|since|from|"
    r"after|before)|what date|what's the date|today's date|\d{4}-\d{2}-\d{2})\b",
    re.IGNORECASE,
)
# Times of day, durations from a time, time zones, "how long until".
_CLOCK = re.compile(
    r"\b\d{1,2}:\d{2}\b|\b\d{1,2}(?:\s*[:.]\s*\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.|o'?clock)(?!\w)|"
    r"\b(?:half|quarter|\d{1,2} minutes?) (?:past|to|after) (?:\d{1,2}|noon|midnight)\b|"
    r"\bwhat time\b|\btime is it\b|\bcurrent time\b|\btime (?:zone|difference)\b|"
    r"\bhow (?:long|much time|many (?:hours|minutes)) (?:until|till|to go until|before)\b|"
    r"\b(?:at|from|until|till) (?:noon|midnight)\b",
    re.IGNORECASE,
)


def needs_tool(question: str) -> bool:
    """Whether the user's words ask for a calculation, a date or a clock time."""
    text = with_digits(question)
    return any(p.search(text) for p in (_OPERATION, _WORD_PROBLEM, _CONVERSION, _DATE, _CLOCK))


# The arithmetic itself, when the question is nothing else: "What's 12 times 12?",
# "Calculate 17.5% of 2340", "square root of 1764". The tool is then called without a round
# of the model writing the call (a second or more before the first word on this machine).
_DIRECT = re.compile(
    r"^(?:(?:so |ok(?:ay)? |hey |please )*(?:what(?: is|'s| are)|calculate|compute|how much is|"
    r"tell me|work out|what do you get for|and)\s+)?(?:the\s+)?"
    r"(?P<expr>(?:(?:square|cube) root of\s*)?[-\d(][^?!]*?)\s*"
    r"(?:please)?\s*[?!.]*\s*$",
    re.IGNORECASE,
)
_EXPRESSION_WORDS = re.compile(
    r"^(?:[\d.,()\s+*/×÷−x%^-]|times|plus|minus|divided by|multiplied by|over|"
    r"to the power of|squared|cubed|percent|of|square root of|cube root of|and)+$",
    re.IGNORECASE,
)


def direct_call(question: str) -> ToolCall | None:
    """The calculator call a bare arithmetic question asks for, or None (the model decides)."""
    text = with_digits(question).strip()
    m = _DIRECT.match(text)
    if m is None:
        return None
    expression = m["expr"].strip()
    if not _EXPRESSION_WORDS.match(expression) or not _OPERATION.search(expression):
        return None
    expression = re.sub(r"\band\b", "", expression).strip()
    try:
        calculate(expression)
    except CalculationError:
        return None
    return ToolCall("calculator", {"expression": expression})


_CALL = r"""
root ::= {think}call
call ::= calc | cal
calc ::= "{\"name\": \"calculator\", \"arguments\": {\"expression\": \"" expr "\"}}"
cal ::= "{\"name\": \"calendar\", \"arguments\": {\"operation\": \"" calop "}}"
calop ::= "today\"" | "add\"" date? days | "between\"" date other? | "weekday\"" date
  | "now\"" zone? | "add_time\"" time hours minutes | "time_between\"" time othertime
  | "time_until\"" time | "convert_time\"" time? zone tozone
expr ::= [-0-9a-z.,+*/()%' ]{1,120}
date ::= ", \"date\": \"" [0-9]{4} "-" [0-9]{2} "-" [0-9]{2} "\""
days ::= ", \"days\": " "-"? [0-9]{1,6}
other ::= ", \"other\": \"" [0-9]{4} "-" [0-9]{2} "-" [0-9]{2} "\""
time ::= ", \"time\": \"" clock "\""
othertime ::= ", \"other\": \"" clock "\""
clock ::= [0-9a-z:.' ]{1,30}
hours ::= ", \"hours\": " [0-9]{1,4}
minutes ::= ", \"minutes\": " [0-9]{1,5}
zone ::= ", \"zone\": \"" place "\""
tozone ::= ", \"to_zone\": \"" place "\""
place ::= [A-Za-z_/ .+-]{1,40}
"""
# Think first, then call: a short scratchpad (which the ReasoningGate takes out of the reply).
_THINK = 'think ::= "<think>" [^<]{{1,{chars}}} "</think>" "\\n"?\n'


def call_grammar(think_chars: int = 0) -> str:
    """A call to one of the two built-in tools, nothing else (GBNF, llama.cpp's grammar
    format); with `think_chars`, up to that many characters of reasoning first."""
    if think_chars <= 0:
        return _CALL.replace("{think}", "")
    return _CALL.replace("{think}", "think ") + _THINK.format(chars=think_chars)


CALL_GRAMMAR = call_grammar()
