"""The calendar call a date or clock question spells out, built from its own words, so it
runs without a round of the model writing it: "How many days from 1 January 2026 to 1 March
2026?" is between(2026-01-01, 2026-03-01); "A runner starts at 7:05 am and runs for 95
minutes. When does she finish?" is 7:05 am plus 1 hour 35 minutes; "What time will it be in
3 hours?" is now plus 3 hours. The default model, writing these, had split 95 minutes into
1 h 55 and run a date call past a short reply limit. The model then only words the answer.

Only what the words say for certain becomes a call: a question that reads two ways (which
way a duration goes, which of three dates) is left to the model, as before."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from app.tools.dates import blank, dates_in, day_counts_in, durations_in, times_in
from app.tools.rates import is_rate, minutes_paid_for
from app.tools.registry import ToolCall

# Which way an amount of time goes, by the word right after it or right before it.
_AFTER_FORWARD = re.compile(r"^\s*(?:after|later|past|from now|from today|from|hence)\b", re.I)
_AFTER_BACK = re.compile(r"^\s*(?:before|earlier|ago|prior|back)\b", re.I)
_BEFORE_FORWARD = re.compile(r"\b(?:in|plus|add|\+)\s*$", re.I)
_BEFORE_BACK = re.compile(r"\b(?:minus|subtract|-)\s*$", re.I)
# A word problem's question: "When does it end?" goes forward, "When must I leave?" back.
_FORWARD_VERBS = re.compile(
    r"\b(?:end|ends|finish|finishes|finished|over|done|ready|arrive|arrives|land|lands|"
    r"get (?:home|there|back|in)|reach|be home|be back|complete|completed|stop|stops|return|"
    r"run out|runs out|expire|expires|ring|rings|go off|goes off)\b",
    re.I,
)
_BACK_VERBS = re.compile(
    r"\b(?:start|starts|begin|begins|leave|set off|go in|put|need to|should I|must I|"
    r"have to|latest)\b",
    re.I,
)
# From the question word on: speech to text may leave out the full stop before it ("starts at
# 10:50 and lasts an hour when does it end"), and "starts" must not count against "end".
_QUESTION = re.compile(r"\b(?:when|what time)\b[^.;!?]*\??\s*$", re.I)
_UNIT_ASKED = re.compile(r"\bhow many (minutes|hours)\b", re.I)
_COMPARED = re.compile(r"\b(?:before|by|in time for|later than|earlier than|past)\s*$", re.I)
_WEEKS = re.compile(r"\bhow many weeks\b", re.I)  # the unit asked: "26 weeks", not "182 days"
_UNTIL = re.compile(r"\b(?:until|till|to go|before|left)\b", re.I)
_SINCE = re.compile(r"\b(?:since|ago|passed)\b", re.I)
# The time the user says it is ("It's 09:45 now"): where "how long until 17:30" starts from,
# not this computer's clock (which had answered 16 h 16 min at 01:14 instead of 7 h 45 min).
_SAID_NOW_BEFORE = re.compile(r"\b(?:it's|it is|it's now|it is now)\s*$", re.I)
_SAID_NOW_AFTER = re.compile(r"^\s*(?:now|right now)\b", re.I)


def _direction(text: str, start: int, end: int) -> int:
    """+1 or -1 for the amount of time at text[start:end], 0 when the words don't say."""
    after, before = text[end:], text[:start]
    if _AFTER_BACK.match(after) or _BEFORE_BACK.search(before):
        return -1
    if _AFTER_FORWARD.match(after) or _BEFORE_FORWARD.search(before):
        return 1
    question = _QUESTION.search(text)
    if question is None:
        return 0
    forward = bool(_FORWARD_VERBS.search(question.group()))
    back = bool(_BACK_VERBS.search(question.group()))
    return 1 if forward and not back else -1 if back and not forward else 0


def _call(**arguments: Any) -> ToolCall:
    return ToolCall("calendar", arguments)


# The place of "What time is it in Tokyo?", "what's the time in new york right now": at the
# end of the question, as few words as a place name takes.
_PLACE = re.compile(
    r"\b(?:in|at|for)\s+(?:the\s+)?(?P<place>[^\W\d_][\w .'-]{1,40}?)"
    r"(?:\s+(?:right now|now|at the moment|currently|today))?\s*[?.!]*\s*$",
    re.I,
)


def _time_in_place(text: str) -> ToolCall | None:
    """The time now in the place the question ends with, when this computer knows its zone
    (then the model only words the answer: writing the call had cost 3 s before a word)."""
    from app.tools.calculator import CalculationError
    from app.tools.clock import zone

    m = _PLACE.search(text)
    if m is None:
        return None
    try:
        zone(m["place"])
    except CalculationError:
        return None  # the model may know it by another name
    return _call(operation="now", zone=m["place"].strip())


def calendar_call(text: str, operations: tuple[str, ...], today: dt.date) -> ToolCall | None:
    """The call `text` (digits, English) spells out for the one calendar operation its
    words ask for (app/tools/cues.py), or None: the model writes it."""
    if operations == ("now", "convert_time") and not times_in(text):
        return _time_in_place(text)
    if len(operations) != 1:
        return None
    operation = operations[0]
    if operation in ("today", "now"):
        return _call(operation=operation)
    if operation in ("weekday", "between", "add"):
        return _date_call(text, operation, today)
    return _clock_call(text, operation, today)


def _date_call(text: str, operation: str, today: dt.date) -> ToolCall | None:
    found = dates_in(text, today)
    days = [f.value.isoformat() for f in found if isinstance(f.value, dt.date)]
    if operation == "weekday":
        shifted = _shifted(text, found, today)  # "100 days after 1 January 2027": that day's
        if shifted is not None:
            return _call(operation="weekday", date=shifted.isoformat())
        return _call(operation="weekday", date=days[0]) if len(days) == 1 else None
    if operation == "between":
        unit = {"unit": "weeks"} if _WEEKS.search(text) else {}
        if len(found) == 2:
            return _call(operation="between", date=days[0], other=days[1], **unit)
        if len(found) != 1:
            return None
        day = found[0].value
        assert isinstance(day, dt.date)
        if not found[0].year_given and _UNTIL.search(text) and day < today:
            day = day.replace(year=day.year + 1)  # "until 3 March": the next one
        elif not found[0].year_given and _SINCE.search(text) and day > today:
            day = day.replace(year=day.year - 1)  # "since 25 December": the last one
        return _call(operation="between", date=day.isoformat(), other=today.isoformat(), **unit)
    shift = _shift(text, found)
    if shift is None:
        return None
    start = days[0] if days else today.isoformat()
    return _call(operation="add", date=start, days=shift)


# "2 weeks and 3 days", "a week and 2 days": one amount of days.
_AND_DAYS = re.compile(r"^\s*(?:,|and|plus)\s*$", re.I)


def _shift(text: str, found: list) -> int | None:
    """The signed number of days the words move a date by ("2 weeks and 3 days after": 17),
    or None when they don't say it once, or which way."""
    rest = blank(text, [(f.start, f.end) for f in found])
    counts = day_counts_in(rest)
    if len(found) > 1 or not counts:
        return None
    for a, b in zip(counts, counts[1:], strict=False):
        if not _AND_DAYS.match(rest[a.end : b.start]):
            return None  # two amounts, apart: which is meant is the model's to read
    sign = _direction(rest, counts[0].start, counts[-1].end)
    return sign * sum(int(c.value) for c in counts) if sign else None


def _shifted(text: str, found: list, today: dt.date) -> dt.date | None:
    """The date a shift in the words lands on, when the words give one ("100 days after 1
    January 2027"), else None."""
    shift = _shift(text, found)
    if shift is None:
        return None
    start = found[0].value if found and isinstance(found[0].value, dt.date) else today
    return start + dt.timedelta(days=shift)


def _said_now(text: str, times: list[tuple[str, int, int]]) -> int | None:
    """Which of the times the words give as the time now, if exactly one."""
    said = [
        i
        for i, (_, start, end) in enumerate(times)
        if _SAID_NOW_BEFORE.search(text[:start]) or _SAID_NOW_AFTER.match(text[end:])
    ]
    return said[0] if len(said) == 1 else None


_HOW_LONG = re.compile(r"\bhow (?:long|many (?:hours|minutes))\b", re.I)


def _zoned_call(text: str, times: list[tuple[str, int, int]], today: dt.date) -> ToolCall | None:
    """A time in one named place as the time in another ("3 pm in London ... in Tokyo"), or
    the time from a time in one place to a time in another ("leaves Paris at 09:10 ... lands
    in New York at 11:30 local time. How long ..."), on the day the words give."""
    from app.tools.zoned import day_of, places_in

    places = places_in(text)
    if len(places) != 2 or places[0].tz.key == places[1].tz.key:
        return None
    said = day_of(text, today) if dates_in(text, today) else None
    day = {"date": said.isoformat()} if said else {}  # the result names the day only if asked

    def nearest(start: int) -> int:  # the place named closest to a time
        return min(
            (0, 1), key=lambda i: min(abs(places[i].start - start), abs(places[i].end - start))
        )

    if len(times) == 1:
        source = nearest(times[0][1])
        return _call(
            operation="convert_time", time=times[0][0], from_zone=places[source].name,
            to_zone=places[1 - source].name, **day,
        )  # fmt: skip
    if len(times) == 2 and _HOW_LONG.search(text):
        # Each time is where the place named before it is ("leaves Paris at 09:10").
        first = max(
            range(2), key=lambda i: places[i].start if places[i].start < times[0][1] else -1
        )
        second = max(
            range(2), key=lambda i: places[i].start if places[i].start < times[1][1] else -1
        )
        if first == second:
            return None
        return _call(
            operation="time_between", time=times[0][0], other=times[1][0],
            from_zone=places[first].name, to_zone=places[second].name, **day,
        )  # fmt: skip
    return None


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_NEAR = re.compile(
    r"\b(" + "|".join(_WEEKDAYS) + r")\b(?:\s+(?:at|from|morning|evening|afternoon))?\s*$",
    re.I,
)


def _days_apart(text: str, times: list[tuple[str, int, int]]) -> int | None:
    """Days from the first time's weekday to the second's ("between Monday 9am and Wednesday
    5pm": 2), when each time has its weekday just before it; else None."""
    days = []
    for _, start, _end in times:
        m = _WEEKDAY_NEAR.search(text[:start])
        if m is None:
            return None
        days.append(_WEEKDAYS.index(m[1].lower()))
    apart = (days[1] - days[0]) % 7
    later = clock_minutes(times[1][0]) > clock_minutes(times[0][0])
    return 7 if apart == 0 and not later else apart


def clock_minutes(time: str) -> int:
    from app.tools.clock import parse_time

    return parse_time(time).minutes


def _clock_call(text: str, operation: str, today: dt.date) -> ToolCall | None:
    times = times_in(text)
    if operation == "convert_time":
        return _zoned_call(text, times, today)
    if operation in ("time_until", "time_between") and len(times) == 2:
        now = _said_now(text, times)
        if now is not None:
            return _call(operation="time_between", time=times[now][0], other=times[1 - now][0])
    if operation == "time_between" or (operation == "time_until" and len(times) == 2):
        # ("from quarter to 9 until 10 past 11": from the first to the second)
        if len(times) != 2:
            return None
        unit = _UNIT_ASKED.search(text)
        days = _days_apart(text, times)
        return _call(
            operation="time_between", time=times[0][0], other=times[1][0],
            **({"unit": unit[1].lower()} if unit else {}),
            **({"days": days} if days is not None else {}),
        )  # fmt: skip
    if operation == "time_until":
        return _call(operation="time_until", time=times[0][0]) if len(times) == 1 else None
    if operation != "add_time" or len(times) > 2:
        return None
    rest = blank(text, [(start, end) for _, start, end in times])  # every time, compared too
    compared = len(times) == 2
    if compared:  # one is what the answer is compared with ("before midnight")
        kept = [t for t in times if not _COMPARED.search(text[: t[1]])]
        if len(kept) != 1:
            return None
        times = kept
    durations = durations_in(rest)
    if len(durations) != 1:
        return None
    sign = _direction(rest, durations[0].start, durations[0].end) or int(compared)
    total = int(durations[0].value)
    if is_rate(rest, durations[0]):  # what was paid, at the rate: "3.50 euros" at 20 min a euro
        sign, total = 1, minutes_paid_for(rest, durations[0]) or 0
    if not sign or not total:
        return None
    hours, minutes = divmod(total, 60)
    start = times[0][0] if times else "now"
    return _call(operation="add_time", time=start, hours=sign * hours, minutes=sign * minutes)
