"""Whether a question asks for a calculation, a date or a clock time, by the user's own words
(never by text read from an attachment: the caller passes only what the user typed or said).
Then the first reply is constrained to a tool call (a grammar), since the 1.5B default model,
left to choose, answers word problems and percentages from memory (and wrongly) more often
than it calls the tool.

Spoken numbers count ("twelve times twelve" is 12 times 12), in the languages
app/tools/spoken.py reads ("sieben plus fünf" is 7 plus 5), and percentages of amounts as
people say them ("a 20% tip on 45" is 20% of 45). A number alone is no calculation ("the
1969 moon landing", "a 5-year-old", "100% cotton"): an operation needs a number on each
side, a word problem two numbers, a percentage something to take it of."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from app.tools.calculator import CalculationError, calculate
from app.tools.clock_words import clock_in_english
from app.tools.dates import dates_in, durations_in, with_clock_colons
from app.tools.direct import calendar_call
from app.tools.percent import percent_phrases
from app.tools.rates import is_rate, minutes_paid_for
from app.tools.registry import ToolCall
from app.tools.spoken import in_english, language_of
from app.tools.units import with_conversions

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
    rf"\bhow many {_UNIT}\b.*{_N}(?: and a half)?\s*{_UNIT}\b|"
    rf"{_N}\s*{_UNIT}\b.*\b(?:in|to|into)\s+{_UNIT}\b",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"\b(?:what day|which day|weekday|day of the week|days (?:between|until|till|since|from|"
    r"after|before)|what date|what(?:'s| is| was| will be) the date|today's date|\d{4}-\d{2}-\d{2}|"
    r"\d+ (?:days?|weeks?) (?:after|before|from|later|ago|since|until)|"
    r"(?:plus|minus|add|subtract) \d+ (?:days?|weeks?))\b",
    re.IGNORECASE,
)
# "at 20 to 7", "by 10 past 9": minutes to or past an hour, as people say them (after a word
# that puts a time there: "from 9 to 5" is a working day, not 4:51).
_SPOKEN_CLOCK = (
    r"(?:(?<=\bat )|(?<=\bby )|(?<=\bis )|(?<=\bs )|(?<=until )|(?<=\btill )|(?<=before )|"
    r"(?<=after ))[1-5]?\d (?:past|to|after) \d{1,2}\b"
)
# Times of day, durations from a time, time zones, "how long until".
_CLOCK = re.compile(
    r"\b\d{1,2}:\d{2}\b|\b\d{1,2}(?:\s*[:.]\s*\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.|o'?clock)(?!\w)|"
    r"\b(?:half|quarter|\d{1,2} minutes?) (?:past|to|after) (?:\d{1,2}|noon|midnight)\b|"
    rf"{_SPOKEN_CLOCK}|"
    r"\bwhat time (?:is|was|will|would) it\b|\btime is it\b|\bcurrent time\b|"
    r"\bwhat(?:'s| is) the time(?: now| right now)?(?: (?:in|at|for) [\w .'-]+)?\s*[?.!]*$|"
    r"\btime (?:zone|difference)\b|"
    r"\bhow (?:long|much time|many (?:hours|minutes)) (?:until|till|to go until|before)\b|"
    r"\b(?:at|from|until|till) (?:noon|midnight)\b|"
    r"\btime\b.*\b(?:in|after) \d+(?:\.\d+)? (?:hours?|minutes?|mins?)\b|"
    r"\b\d+(?:\.\d+)? (?:hours?|minutes?|mins?) (?:from now|ago)\b",
    re.IGNORECASE,
)


_TIME_OF_DAY = re.compile(
    r"\b\d{1,2}:\d{2}\b|\b\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.|o'?clock)(?!\w)|"
    r"\b(?:half|quarter|\d{1,2} minutes?) (?:past|to|after) (?:\d{1,2}|noon|midnight)\b|"
    rf"{_SPOKEN_CLOCK}|"
    r"\b(?:noon|midnight)\b",
    re.IGNORECASE,
)
_ZONE = re.compile(
    r"\b(?:in|at|for) (?:the )?[A-Z][a-z]+|\btime (?:zone|difference)\b|"
    r"\bthe time (?:in|at|for) (?!\d|an? (?:hour|minute)|half)|"
    r"\b(?:UTC|GMT|EST|EDT|CST|PST|PDT|CET|CEST|BST|IST|JST|AEST)\b"
)
# A duration from now: "in 3 hours", "45 minutes from now", "2 hours ago".
_FROM_NOW = re.compile(
    r"\bin (?:\d+(?:\.\d+)? (?:hours?|minutes?|mins?)|an hour|half an hour)\b|"
    r"\b(?:hours?|minutes?|mins?) (?:from now|ago|later)\b",
    re.IGNORECASE,
)
# "to go" only at a clause's end ("how long to go?"), not "to go for a run".
_UNTIL = re.compile(r"\b(?:until|till|to go(?=\s*[?.!,]|\s*$)|from now)\b", re.IGNORECASE)
_NOW = re.compile(
    r"\b(?:what time is it|time is it|current time|time now|what(?:'s| is) the time)\b",
    re.IGNORECASE,
)
_WEEKDAY = re.compile(r"\b(?:day of the week|weekday|what day (?:is|was|will))\b", re.IGNORECASE)
_SPAN = re.compile(r"\b(?:between|until|till|since|how many days|how long)\b", re.IGNORECASE)
_SHIFT = re.compile(
    r"\b(?:after|before|from now|from today|later|ago|in \d+ (?:days|weeks)|plus|minus)\b",
    re.IGNORECASE,
)
_TODAY = re.compile(
    r"\b(?:today's date|what date is it|what's the date|what is the date|what day is it)\b",
    re.IGNORECASE,
)
# A time the answer is compared with, not one to count from ("finish before midnight").
_BEFORE_A_TIME = re.compile(
    r"\b(?:before|by|in time for|later than|earlier than|past)\s+(?:\d{1,2}(?::\d{2})?\s*"
    r"(?:am|pm)?|noon|midnight)",
    re.IGNORECASE,
)
_ASKS_CLOCK = re.compile(
    r"\b(?:what time|when|how long|how many (?:hours|minutes)|time zone|time difference|"
    r"o'?clock|24-hour|12-hour)\b",
    re.IGNORECASE,
)
CLOCK_OPERATIONS = ("now", "add_time", "time_between", "time_until", "convert_time")
DATE_OPERATIONS = ("today", "add", "between", "weekday")


@dataclass(frozen=True)
class Cue:
    """What the user's words ask for: the calculator, and which calendar operations. The
    call's grammar offers only these (left to choose among all, the 1.5B model answered a
    clock question with a date calculation on an invented date)."""

    calculator: bool = False
    operations: tuple[str, ...] = ()
    at_time: bool = False  # a time of day in the words: convert_time must be given it
    # The one duration in the words, in minutes: add_time's hours and minutes are fixed to
    # it, forward or back (the model had written 95 minutes as 1 h 55).
    minutes: int | None = None

    def __bool__(self) -> bool:
        return self.calculator or bool(self.operations)


def _clock_operations(text: str) -> tuple[str, ...]:
    times = len(_TIME_OF_DAY.findall(text))
    if _ZONE.search(text) and (times or _NOW.search(text)):
        return ("convert_time",) if times else ("now", "convert_time")
    if times == 2 and durations_in(text) and _BEFORE_A_TIME.search(text):
        return ("add_time",)  # "2 h 28 min from 21:50: does it finish before midnight?"
    if times and _UNTIL.search(text):
        return ("time_until",)
    if times >= 2:
        return ("time_between",)
    if times == 1 and durations_in(text):
        return ("add_time",)
    if not times and _FROM_NOW.search(text):  # from the time now (the tool knows it)
        return ("add_time",)
    if _NOW.search(text):
        return ("now",)
    # A time of day alone asks nothing of the clock: "What should I wear to a dinner at 8
    # pm?" had the model add 2 hours to 8 pm before answering.
    return CLOCK_OPERATIONS if _ASKS_CLOCK.search(text) else ()


def _date_operations(text: str) -> tuple[str, ...]:
    for pattern, operation in ((_WEEKDAY, "weekday"), (_SPAN, "between"), (_SHIFT, "add")):
        if pattern.search(text):
            return (operation,)
    return ("today",) if _TODAY.search(text) else DATE_OPERATIONS


_DAY_WORDS = re.compile(r"\b(?:days?|weeks?|date|weekday)\b", re.IGNORECASE)


def _written_date(text: str) -> bool:
    """A date written out ("March 3rd, 2025", "1 January"), not "today" or a number."""
    return any(not text[f.start : f.end].isalpha() for f in dates_in(text, dt.date.today()))


def english(question: str) -> str:
    """The question as the cues read it: numbers as digits, a sum's words in English,
    percentages of amounts in the calculator's forms, a clock question's words in English."""
    text = clock_in_english(in_english(question), language_of(question))
    return with_clock_colons(percent_phrases(text))


def cue(question: str) -> Cue:
    """What the user's own words ask for (never text read from an attachment)."""
    return _cue(english(question))


def _cue(text: str) -> Cue:
    """cue() of the question as english() writes it."""
    operations = _clock_operations(text) if _CLOCK.search(text) else ()
    if operations:  # clock arithmetic is the calendar's, however many numbers
        durations = durations_in(text) if "add_time" in operations else []
        minutes = int(durations[0].value) if len(durations) == 1 else None
        if len(durations) == 1 and is_rate(text, durations[0]):  # "1 euro per 20 minutes"
            minutes = minutes_paid_for(text, durations[0])
        return Cue(False, operations, bool(_TIME_OF_DAY.search(text)), minutes)
    if _DATE.search(text) or (_DAY_WORDS.search(text) and _written_date(text)):
        return Cue(False, _date_operations(text))
    conversion = with_conversions(text) != text
    return Cue(conversion or any(p.search(text) for p in (_OPERATION, _WORD_PROBLEM, _CONVERSION)))


def needs_tool(question: str) -> bool:
    """Whether the user's words ask for a calculation, a date or a clock time."""
    return bool(cue(question))


# The arithmetic itself, when the question is nothing else: "What's 12 times 12?",
# "Calculate 17.5% of 2340", "square root of 1764". The tool is then called without a round
# of the model writing the call (a second or more before the first word on this machine).
_DIRECT = re.compile(
    r"^(?:(?:so |ok(?:ay)? |hey |please )*(?:what(?: is|'s| are| was)|was|calculate|compute|"
    r"how much is|tell me|work out|what do you get for|and)\s+)?(?:the\s+)?"
    r"(?P<expr>(?:(?:square|cube) root of\s*)?[-\d(][^?!]*?)\s*"
    r"(?:please)?\s*[?!.]*\s*$",
    re.IGNORECASE,
)
_EXPRESSION_WORDS = re.compile(
    r"^(?:[\d.,()\s+*/×÷−x%^-]|times|plus|minus|divided by|multiplied by|over|off|"
    r"to the power of|squared|cubed|percent|of|square root of|cube root of|and)+$",
    re.IGNORECASE,
)


def direct_call(question: str, today: dt.date | None = None) -> ToolCall | None:
    """The call the question's words spell out: the calculator's for a bare sum, the
    calendar's for a date or clock question whose dates, times and durations it reads
    (app/tools/direct.py); else None (the model writes the call)."""
    text = english(question).strip()
    wanted = _cue(text)
    if wanted.operations:
        return calendar_call(text, wanted.operations, today or dt.date.today())
    if not wanted.calculator:
        return None
    if call := _conversion_call(text):
        return call
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


# What is left of a conversion question once its conversion is convert(...): a question
# word or two, a share of it ("15% of"), nothing else.
_CONVERTED = re.compile(
    r"^(?:(?:so|ok(?:ay)?|hey|please|what(?: is|'s)|how much is|convert|tell me)\s+)*"
    r"(?P<expr>(?:\d+(?:\.\d+)?\s*%\s*of\s*)?convert\([^)]*\))\s*(?:please)?\s*[?!.]*$",
    re.IGNORECASE,
)


def _conversion_call(text: str) -> ToolCall | None:
    """The calculator call of a question that is one conversion ("Convert 72 degrees
    Fahrenheit to Celsius", "How many seconds are there in a leap year?")."""
    m = _CONVERTED.match(with_conversions(text).strip())
    if m is None:
        return None
    try:
        calculate(m["expr"])
    except CalculationError:
        return None
    return ToolCall("calculator", {"expression": m["expr"]})


_CALL = r"""
root ::= {think}call
calc ::= "{\"name\": \"calculator\", \"arguments\": {\"expression\": \"" expr "\"}}"
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
fromzone ::= ", \"from_zone\": \"" place "\""
tozone ::= ", \"to_zone\": \"" place "\""
place ::= [A-Za-z_/ .+-]{1,40}
"""
_CAL = r"""cal ::= "{\"name\": \"calendar\", \"arguments\": {\"operation\": \"" calop "}}"
"""
# Each calendar operation with its arguments (GBNF).
_OPERATION_ARGS = {
    "today": '"today\\""',
    "add": '"add\\"" date? days',
    "between": '"between\\"" date other?',
    "weekday": '"weekday\\"" date',
    "now": '"now\\"" zone?',
    "add_time": '"add_time\\"" time hours minutes',
    "time_between": '"time_between\\"" time othertime',
    "time_until": '"time_until\\"" time',
    "convert_time": '"convert_time\\"" time? fromzone tozone',
}
# Think first, then call: a short scratchpad (which the ReasoningGate takes out of the reply).
_THINK = 'think ::= "<think>" [^<]{{1,{chars}}} "</think>" "\\n"?\n'
_EVERYTHING = Cue(True, DATE_OPERATIONS + CLOCK_OPERATIONS)


def call_grammar(think_chars: int = 0, wanted: Cue = _EVERYTHING) -> str:
    """A call to the tool the user's words ask for (`wanted`), nothing else (GBNF, llama.cpp's
    grammar format; its parser ends a rule at a line break); with `think_chars`, up to that
    many characters of reasoning first."""
    calls = (["calc"] if wanted.calculator else []) + (["cal"] if wanted.operations else [])
    grammar = _CALL.replace("{think}", "think " if think_chars > 0 else "")
    grammar += f"call ::= {' | '.join(calls)}\n"
    if wanted.operations:  # (a rule named nowhere must not be written: llama.cpp refuses)
        grammar += _CAL
        rules = [_OPERATION_ARGS[o] for o in wanted.operations]
        if wanted.at_time:  # left optional, the model converted "now" instead of 9:00
            rules = [r.replace("time? ", "time ") for r in rules]
        if wanted.minutes is not None:  # the model only chooses which way it goes
            rules = [r.replace("time hours minutes", "time delta") for r in rules]
            h, m = divmod(wanted.minutes, 60)
            grammar += (
                f'delta ::= ", \\"hours\\": {h}, \\"minutes\\": {m}" | '
                f'", \\"hours\\": -{h}, \\"minutes\\": -{m}"\n'
            )
        grammar += f"calop ::= {' | '.join(rules)}\n"
    return grammar + (_THINK.format(chars=think_chars) if think_chars > 0 else "")


CALL_GRAMMAR = call_grammar()
