"""Clock times in two places on a given day: "If it is 3 pm in London on 8 December, what
time is it in Tokyo?" (00:00 on 9 December), "A flight leaves Paris at 09:10 and lands in
New York at 11:30 local time. How long is the flight?" (8 hours 20 minutes). Before, the
model wrote "8 december 2023 15:00" as the time (an error, then "not available") and "local"
as a zone ("2 hours"). The day matters: it fixes summer time and the date shown."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from app.tools.calculator import CalculationError
from app.tools.clock import parse_time, show_duration, show_time, zone
from app.tools.dates import dates_in

# A place name as a question writes it: capitalised words ("New York", "Los Angeles", "Rio
# de Janeiro"), or an abbreviation (UTC, JST).
_CANDIDATE = re.compile(r"\b[A-Z][a-zA-Z'.-]+(?:\s+(?:de\s+|del\s+)?[A-Z][a-zA-Z'.-]+){0,2}\b")
# Words that start a sentence or name a month or weekday: never a place.
_NOT_PLACES = frozenset(
    ("a", "an", "the", "if", "it", "is", "what", "when", "how", "my", "our", "we", "i", "he",
     "she", "they", "this", "that", "in", "at", "on", "from", "to", "us")
)  # fmt: skip


@dataclass(frozen=True)
class Place:
    name: str
    tz: ZoneInfo
    start: int
    end: int


def places_in(text: str) -> list[Place]:
    """The places with a known time zone that `text` names, in order (the longest name that
    resolves at each capitalised run: "New York", not "New")."""
    found: list[Place] = []
    for m in _CANDIDATE.finditer(text):
        words = m.group().split()
        for size in range(len(words), 0, -1):
            name = " ".join(words[:size])
            if name.lower() in _NOT_PLACES or dates_in(name, dt.date.today()):
                continue
            try:
                tz = zone(name)
            except CalculationError:
                continue
            found.append(Place(name, tz, m.start(), m.start() + len(name)))
            break
    return found


def _at(time: str, tz: ZoneInfo, day: dt.date) -> dt.datetime:
    minutes = parse_time(time).minutes
    return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tz)


def _on(moment: dt.datetime) -> str:
    return f"{moment.strftime('%A')} {moment.day} {moment.strftime('%B %Y')}"


def convert_on(time: str, source: str, target: str, day: dt.date) -> str:
    """`time` in `source` on `day`, as the time and date in `target`."""
    start = _at(time, zone(source), day)
    there = start.astimezone(zone(target))
    shift = (there.date() - start.date()).days
    minutes = shift * 24 * 60 + there.hour * 60 + there.minute
    where = f" in {target} ({zone(target).key})"
    return f"{show_time(minutes, parse_time(time).clock, where)}: {_on(there)}"


def between_zones(start: tuple[str, str], end: tuple[str, str], day: dt.date) -> str:
    """From a time in one place to the next time it is `end` in another ((time, place)
    each), less than a day later; `day` fixes summer time."""
    a = _at(start[0], zone(start[1]), day)
    b = _at(end[0], zone(end[1]), day)
    # The shortest span forward: a flight east may land "the day before" by the clock there.
    b -= dt.timedelta(days=(b - a).days)
    minutes = int((b - a).total_seconds() // 60)
    return f"{show_duration(minutes)} ({a.strftime('%H:%M')} in {start[1]} is " + (
        f"{a.astimezone(b.tzinfo).strftime('%H:%M')} in {end[1]})"
    )


def day_of(text: str, today: dt.date) -> dt.date:
    """The one date `text` names, else `today`."""
    days = [f.value for f in dates_in(text, today) if isinstance(f.value, dt.date)]
    return days[0] if len(days) == 1 else today
