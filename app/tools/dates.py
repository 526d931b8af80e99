"""Dates and amounts of time as a question writes them, read without the model: "1 January
2026", "March 1st, 2026", "the 4th of July", "2026-03-01", "today", "tomorrow"; "95
minutes", "1 hour 45 minutes", "an hour and a half", "3 weeks". The calendar call a date
question spells out is built from them (app/tools/direct.py): the default model, left to
write it, had turned "95 minutes" into 1 hour 55 and let a date call run past the reply's
token limit ("Sorry, I could not finish that calculation.").

Numeric dates with slashes (1/3/2026: January or March?) are left to the model."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<year>\d{4}))?"
_DMY = rf"\b(?:the\s+)?{_DAY}(?:\s+of)?\s+{_MONTH}{_YEAR}\b"
_MDY = rf"\b{_MONTH}\s+(?:the\s+)?{_DAY}\b(?![:.]\d){_YEAR}\b"
_DATE = re.compile(
    "|".join(
        (
            r"\b(?P<iso>\d{4}-\d{1,2}-\d{1,2})\b",
            _DMY.replace("?P<", "?P<a"),  # each form's groups named apart
            _MDY.replace("?P<", "?P<b"),
            r"\b(?P<word>today|tomorrow|yesterday)\b",
        )
    ),
    re.IGNORECASE,
)
_RELATIVE = {"today": 0, "tomorrow": 1, "yesterday": -1}


@dataclass(frozen=True)
class Found:
    """A date or an amount of time in the text, and where it was."""

    value: dt.date | int  # a date, or minutes (durations) / days (day counts)
    start: int
    end: int
    year_given: bool = True


def dates_in(text: str, today: dt.date) -> list[Found]:
    """The dates in `text`, in order. A date without a year is in `today`'s year."""
    found = []
    for m in _DATE.finditer(text):
        try:
            if m["iso"]:
                y, mo, d = (int(p) for p in m["iso"].split("-"))
                day, given = dt.date(y, mo, d), True
            elif m["word"]:
                day = today + dt.timedelta(days=_RELATIVE[m["word"].lower()])
                given = True
            else:
                part = "a" if m["amonth"] else "b"
                year = m[f"{part}year"]
                day = dt.date(
                    int(year) if year else today.year,
                    _MONTHS[m[f"{part}month"].lower()],
                    int(m[f"{part}day"]),
                )
                given = bool(year)
        except ValueError:  # the 31st of February: not a date, the model may say so
            continue
        found.append(Found(day, m.start(), m.end(), given))
    return found


_HOURS = r"(?:hours?|hrs?|h)\b"
_MINUTES = r"(?:minutes?|mins?|m)\b"
_NUMBER = r"\d+(?:\.\d+)?"
# What may follow the hours: "and 15 minutes", "and a half", "and a quarter", "and three
# quarters" (whisper writes "an hour and 45 minutes"; read as two durations, the 45 minutes
# alone had ended a 10:50 meeting at 11:35).
_HOURS_REST = (
    rf"(?:\s*(?:,|and)?\s*(?P<{{p}}m>\d+)\s*{_MINUTES}|\s+and\s+a\s+(?P<{{p}}half>half)|"
    rf"\s+and\s+a\s+(?P<{{p}}quarter>quarter)|\s+and\s+(?P<{{p}}quarters>(?:three|3)\s+quarters))?"
)
_DURATION = re.compile(
    rf"\b(?P<h>{_NUMBER})(?P<half>\s+and\s+a\s+half)?[\s-]*{_HOURS}{_HOURS_REST.format(p='h')}|"
    rf"\b(?P<m>\d+)[\s-]*{_MINUTES}|"
    r"\b(?P<halfhour>half an hour|half hour)\b|"
    r"\b(?P<quarter>(?:a\s+)?quarter of an hour|(?:a\s+)?quarter hour)\b|"
    r"\b(?P<threequarters>(?:three|3) quarters of an hour)\b|"
    rf"\b(?:an|one|1)\s+hour\b{_HOURS_REST.format(p='a')}|"
    r"\b(?:a|one)\s+(?P<oneminute>minute)\b",
    re.IGNORECASE,
)


def _rest(m: re.Match[str], p: str) -> int:
    """The minutes said after the hours (see _HOURS_REST)."""
    if m[f"{p}m"]:
        return int(m[f"{p}m"])
    return 30 if m[f"{p}half"] else 15 if m[f"{p}quarter"] else 45 if m[f"{p}quarters"] else 0


_CLOCK_FORMAT = re.compile(r"\s*(?:time|clock|format|notation)\b", re.IGNORECASE)


def durations_in(text: str) -> list[Found]:
    """The amounts of clock time in `text` (minutes), in order: "95 minutes", "1 hour 45
    minutes", "2.5 hours", "an hour and a half", "an hour and 15 minutes", "2 hours and a
    quarter", "half an hour", "three quarters of an hour"."""
    found = []
    for m in _DURATION.finditer(text):
        if _CLOCK_FORMAT.match(text, m.end()):
            continue  # "3 pm in 24-hour time" names a way to write it, not an amount
        if m["h"]:
            minutes = round((float(m["h"]) + (0.5 if m["half"] else 0)) * 60) + _rest(m, "h")
        elif m["m"]:
            minutes = int(m["m"])
        elif m["halfhour"]:
            minutes = 30
        elif m["quarter"]:
            minutes = 15
        elif m["threequarters"]:
            minutes = 45
        elif m["oneminute"]:
            minutes = 1
        else:
            minutes = 60 + _rest(m, "a")
        found.append(Found(minutes, m.start(), m.end()))
    return found


_DAYS = re.compile(
    r"\b(?P<n>\d+)[\s-]*(?P<unit>days?|weeks?|fortnights?)\b|"
    r"\b(?:a|one)\s+(?P<one>day|week|fortnight)\b",
    re.IGNORECASE,
)


def day_counts_in(text: str) -> list[Found]:
    """The numbers of days in `text` (days, weeks, fortnights), in order."""
    found = []
    for m in _DAYS.finditer(text):
        if m["one"]:
            days = {"day": 1, "week": 7, "fortnight": 14}[m["one"].lower()]
        else:
            unit = m["unit"].lower()
            days = int(m["n"]) * {"d": 1, "w": 7, "f": 14}[unit[0]]
        found.append(Found(days, m.start(), m.end()))
    return found


_SUFFIX = (
    r"(?:\s*(?:am|pm|a\.m\.|p\.m\.|in the (?:morning|afternoon|evening)|at night|tonight)"
    r"(?!\w))?"
)
# A time of day as the clock reads it (app/tools/clock.py parse_time): "7:05 am", "22:30",
# "9 pm", "half past 7 in the evening", "a quarter to 8", "noon". A bare number is no time.
_TIME = re.compile(
    r"\b(?:half|quarter|[1-5]?\d\s+minutes?|[1-5]?\d)\s+(?:past|after|to)\s+"
    rf"(?:\d{{1,2}}\b(?![:.]\d)|noon|midnight)(?:\s*o'?clock)?{_SUFFIX}|"
    rf"\b\d{{1,2}}:\d{{2}}\b(?:\s*o'?clock)?{_SUFFIX}|"
    # "3.50" is a price ("3.50 euros at 14:50"); "at 3.50" is made "at 3:50" before this.
    r"\b\d{1,2}\.\d{2}\s*(?:am|pm|a\.m\.|p\.m\.)(?!\w)|"
    r"\b\d{1,2}\s*(?:o'?clock(?:\s*(?:am|pm|in the (?:morning|afternoon|evening)|at night))?|"
    r"am|pm|a\.m\.|p\.m\.)(?!\w)|"
    r"\b(?:noon|midday|midnight)\b",
    re.IGNORECASE,
)


# A time of day as speech to text writes it without its colon: "starts at 1050", "from 930
# to 1115", "by 1845." (whisper's "ten fifty"), or with a dot ("at 10.50"). Only after a word
# that puts a time there and before the end of the clause, so "at 1050 metres" stays a number.
# ("at 20 to 7" is twenty to seven, not 20:00 "to" something: a number after "to" is no end)
_CLAUSE_END = (
    r"(?=\s*(?:am|pm|a\.m\.|p\.m\.)?\s*(?:[,.;:?!](?!\d)|and\b|when\b|then\b|"
    r"to\b(?!\s*\d)|$))"
)
_AT = r"\b(?P<pre>at|from|until|till|to|by|before|after)\s+"
_RUN_TOGETHER = re.compile(
    _AT + r"(?P<h>[01]?\d|2[0-3])\.?(?P<m>[0-5]\d)\b" + _CLAUSE_END, re.IGNORECASE
)
# A bare hour ("leaves at 11 and the ride takes 2 hours"), read as one only in a question
# about a clock time and a duration: "sold at 11." may be a price.
_BARE_HOUR = re.compile(_AT + r"(?P<h>[01]?\d|2[0-3])\b" + _CLAUSE_END, re.IGNORECASE)
_CLOCK_QUESTION = re.compile(r"\b(?:when|what time|how long|o'?clock)\b", re.IGNORECASE)


_MINUTES_BEFORE = re.compile(r"(?:\b[1-5]?\d|half|quarter)\s+$", re.IGNORECASE)


def _bare_hour(m: re.Match[str]) -> str:
    """ "at 11" -> "at 11:00"; but "10 to 2" and "20 past 7" are already times of day."""
    if m["pre"].lower() in ("to", "after") and _MINUTES_BEFORE.search(m.string[: m.start()]):
        return m.group()
    return f"{m['pre']} {m['h']}:00"


def with_clock_colons(text: str) -> str:
    """`text` with run-together times of day written with their colon ("at 1050" -> "at
    10:50", "at 10.50" -> "at 10:50", and in a clock question "at 11" -> "at 11:00")."""
    text = _RUN_TOGETHER.sub(lambda m: f"{m['pre']} {m['h']}:{m['m']}", text)
    # With a duration only: "from 9 to 5" read as 9:00 to 5:00 would be a 20-hour day.
    if _CLOCK_QUESTION.search(text) and durations_in(text):
        text = _BARE_HOUR.sub(_bare_hour, text)
    return text


def times_in(text: str) -> list[tuple[str, int, int]]:
    """The times of day in `text`, as written, with where they are."""
    return [(m.group().strip(), m.start(), m.end()) for m in _TIME.finditer(text)]


def blank(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with these spans as spaces (so what was found is not found again)."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)
