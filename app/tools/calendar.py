"""Date and clock arithmetic for the model: today's date, a date plus or minus days, the days
between two dates, the weekday of a date (dates ISO, 2026-12-02, in the user's local time);
the time now (here or in a place), a time (or now) plus a duration, the time between two times, how
long until a time, a time in another zone (app/tools/clock.py)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from app.tools import clock, zoned
from app.tools.calculator import CalculationError
from app.tools.dates import blank, dates_in


def _date(text: Any, what: str, today: dt.date | None = None) -> dt.date:
    if not isinstance(text, str) or not text.strip():
        raise CalculationError(f"{what} is missing (a date like 2026-12-02)")
    if text.strip().lower() == "today":
        return today or dt.date.today()
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise CalculationError(f"{text!r} is not a date like 2026-12-02") from None


OPERATIONS = "today, add, between, weekday, now, add_time, time_between, time_until or convert_time"


def calendar(
    args: dict[str, Any], today: dt.date | None = None, now: dt.datetime | None = None
) -> str:
    """One operation; `today` and `now` (aware) default to this computer's clock."""
    operation = str(args.get("operation", "")).strip().lower()
    moment = now or dt.datetime.now().astimezone()
    if operation in ("now", "add_time", "time_between", "time_until", "convert_time"):
        return _clock(operation, args, moment)
    now_day = today or (now.date() if now else dt.date.today())
    if operation == "today":
        return f"{now_day.isoformat()} ({now_day.strftime('%A')})"
    if operation in ("add", "add_days"):
        given = args.get("date")
        start = now_day if given in (None, "", "today") else _date(given, "date")
        try:
            days = int(args.get("days", 0))
        except (TypeError, ValueError):
            raise CalculationError("days must be a whole number") from None
        if abs(days) > 3_650_000:
            raise CalculationError("that is too many days")
        result = start + dt.timedelta(days=days)
        return f"{result.isoformat()} ({result.strftime('%A')})"
    if operation in ("between", "days_between"):
        a = _date(args.get("date"), "date", now_day)
        b = _date(args.get("other") or "today", "other", now_day)
        days = abs((b - a).days)  # "days until" a date is the same count
        if str(args.get("unit", "")).lower() == "weeks":  # "How many weeks between ..."
            weeks, rest = divmod(days, 7)
            return f"{weeks} weeks" + f" and {rest} days" * bool(rest) + f" ({days} days)"
        return f"{days} days"
    if operation == "weekday":
        day = _date(args.get("date"), "date")
        return day.strftime("%A")
    raise CalculationError(f"operation must be {OPERATIONS}")


def _day_and_time(args: dict[str, Any], time: Any, now: dt.datetime) -> tuple[dt.date | None, Any]:
    """The day a zone question is about (its "date", or a date written into its "time", as
    the model had: "8 december 2023 15:00"), and the time without it."""
    day = _date(args["date"], "date") if args.get("date") else None
    if isinstance(time, str):
        found = dates_in(time, now.date())
        if len(found) == 1 and isinstance(found[0].value, dt.date):
            day = day or found[0].value
            time = blank(time, [(found[0].start, found[0].end)]).strip(" ,") or None
    return day, time


def _in_unit(span: str, unit: Any) -> str:
    """ "2 hours 25 minutes" as the unit asked ("145 minutes (2 hours 25 minutes)")."""
    m = re.fullmatch(r"(?:(\d+) hours?)?\s*(?:(\d+) minutes?)?", span)
    if unit not in ("minutes", "hours") or m is None:
        return span
    minutes = int(m[1] or 0) * 60 + int(m[2] or 0)
    value = f"{minutes} minutes" if unit == "minutes" else f"{minutes / 60:g} hours"
    return f"{value} ({span})" if value != span else span


def _clock(operation: str, args: dict[str, Any], now: dt.datetime) -> str:
    time = args.get("time")
    if operation == "now":
        return clock.now_in(args.get("zone"), now)
    if operation == "convert_time":
        # from_zone: where `time` is (here when not given); "zone" as an older name for it
        target = args.get("to_zone") or args.get("zone")
        if not target:
            raise CalculationError("to_zone is missing (a city, like Tokyo)")
        source = args.get("from_zone") or (args.get("zone") if args.get("to_zone") else None)
        day, time = _day_and_time(args, time, now)
        if day is not None and source and time:
            return zoned.convert_on(time, str(source), str(target), day)
        return clock.convert_time(time, source, str(target), now)
    if operation == "add_time" and str(time).strip().lower() == "now":
        return clock.add_to_now(now, args.get("hours", 0), args.get("minutes", 0))
    if not time:
        raise CalculationError("time is missing (a time of day like 10:50 or 22:50)")
    if operation == "add_time":
        return clock.add_time(str(time), args.get("hours", 0), args.get("minutes", 0))
    if operation == "time_between":
        other = args.get("other")
        if not other:
            raise CalculationError("other is missing (the second time of day)")
        if args.get("from_zone") and args.get("to_zone"):
            day, time = _day_and_time(args, time, now)
            places = (str(args["from_zone"]), str(args["to_zone"]))
            on = day or now.date()
            return zoned.between_zones((str(time), places[0]), (str(other), places[1]), on)
        days = args.get("days")
        if isinstance(days, int) and 0 <= days <= 7:  # "Monday 9am to Wednesday 5pm"
            start, end = clock.parse_time(str(time)), clock.parse_time(str(other))
            span = clock.show_duration(days * 24 * 60 + end.minutes - start.minutes)
        else:
            span = clock.time_between(str(time), str(other))
        return _in_unit(span, args.get("unit"))
    if operation == "time_until":
        return clock.time_until(str(time), now)
    raise CalculationError(f"operation must be {OPERATIONS}")
