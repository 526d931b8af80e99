"""Clock-time arithmetic for the calendar tool: a time of day plus a duration, the time between
two times, how long until a time, a time in another time zone.

Times are read as people write and say them ("10:50", "22:50", "10:50 pm", "ten fifty", "a
quarter past ten", "half past 3", "noon"), and a result is shown in the clock the question
used: with am/pm when it had am/pm, as 24-hour when it was written so ("22:50", "07:15"), and
in both forms when it could be either ("10:50" -> "12:35 (12:35 pm)"). Zones by city, country
or abbreviation, through zoneinfo (the system's IANA database)."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from app.tools.calculator import CalculationError
from app.tools.spoken import with_digits

DAY = 24 * 60


@dataclass(frozen=True)
class ClockTime:
    minutes: int  # since midnight, 0..1439
    # How it was written: "12" (am/pm), "24" (22:50, 07:15) or "either" (10:50, noon); a
    # time the question did not give (now) is shown on "both" clocks.
    clock: str


_SUFFIX = {
    "am": "am", "a.m.": "am", "a.m": "am", "in the morning": "am", "pm": "pm", "p.m.": "pm",
    "p.m": "pm", "in the afternoon": "pm", "in the evening": "pm", "at night": "pm",
    "tonight": "pm",
}  # fmt: skip
_SUFFIXES = "|".join(re.escape(s) for s in sorted(_SUFFIX, key=len, reverse=True))
_PLAIN = re.compile(
    rf"^(?:at\s+)?(\d{{1,2}})(?:\s*[:.h]\s*(\d{{2}})|\s+(\d{{2}}))?\s*(?:o'?clock)?\s*"
    rf"({_SUFFIXES})?$"
)
_PAST_TO = re.compile(
    rf"^(?:at\s+)?(half|quarter|\d{{1,2}})(?:\s+minutes?)?\s+(past|after|to|before)\s+"
    rf"(\d{{1,2}}|noon|midnight)\s*(?:o'?clock)?\s*({_SUFFIXES})?$"
)


def _hour(hour: int, suffix: str | None) -> int:
    if suffix is None:
        if not 0 <= hour <= 24:
            raise CalculationError(f"{hour} is not an hour of the day")
        return hour % 24
    if not 1 <= hour <= 12:
        raise CalculationError(f"{hour} {suffix} is not a time")
    return hour % 12 + (12 if _SUFFIX[suffix] == "pm" else 0)


def parse_time(text: str) -> ClockTime:
    """A time of day as written or spoken. Raises CalculationError saying what it expects."""
    raw = with_digits(str(text)).strip().lower().rstrip("?.! ")
    raw = re.sub(r"\s+", " ", raw.replace("-", " "))
    raw = re.sub(r"^(?:at )?(?:a |an )?", "", raw)  # "at a quarter past ten"
    if raw in ("noon", "midday", "12 noon"):
        return ClockTime(12 * 60, "either")
    if raw in ("midnight", "12 midnight"):
        return ClockTime(0, "either")
    if m := _PLAIN.match(raw):
        hour, minute = int(m[1]), int(m[2] or m[3] or 0)
        if minute > 59:
            raise CalculationError(f"{text!r} is not a time (minutes go up to 59)")
        suffix = m[4]
        clock = "12" if suffix else "24" if hour > 12 or m[1].startswith("0") else "either"
        return ClockTime(_hour(hour, suffix) * 60 + minute, clock)
    if m := _PAST_TO.match(raw):
        amount = {"half": 30, "quarter": 15}.get(m[1]) or int(m[1])
        base = {"noon": 12, "midnight": 0}.get(m[3])
        hour = base if base is not None else _hour(int(m[3]), m[4])
        if amount > 59:
            raise CalculationError(f"{text!r} is not a time")
        sign = 1 if m[2] in ("past", "after") else -1
        clock = "12" if m[4] else "either"
        return ClockTime((hour * 60 + sign * amount) % DAY, clock)
    raise CalculationError(f"{text!r} is not a time of day like 10:50, 22:50 or 10:50 pm")


def show_time(minutes: int, clock: str, where: str = "") -> str:
    """A time of day in the clock the question used (`where`: " in Tokyo (Asia/Tokyo)"),
    then the change of day, if any."""
    days, minutes = divmod(minutes, DAY)
    h, m = divmod(minutes, 60)
    twelve = f"{h % 12 or 12}:{m:02d} {'am' if h < 12 else 'pm'}"
    if clock == "12":
        text = twelve
    elif clock in ("24", "both") or not 1 <= h <= 12:
        text = f"{h:02d}:{m:02d}" + (f" ({twelve})" if clock != "24" else "")
    else:  # 10:50 and 12:35 read the same on both clocks
        text = f"{h}:{m:02d}"
    text += where
    if days == 1:
        text += ", the next day"
    elif days > 1:
        text += f", {days} days later"
    elif days == -1:
        text += ", the day before"
    elif days < -1:
        text += f", {-days} days before"
    return text


def show_duration(minutes: int) -> str:
    """ "1 hour 45 minutes", "30 minutes", "2 hours"."""
    h, m = divmod(abs(minutes), 60)
    parts = [f"{h} hour{'s' * (h != 1)}"] * bool(h) + [f"{m} minute{'s' * (m != 1)}"] * bool(m)
    return " ".join(parts) or "0 minutes"


def _whole(value: object, what: str) -> int:
    try:
        number = float(str(value).strip() or 0)
    except (TypeError, ValueError):
        raise CalculationError(f"{what} must be a number") from None
    if abs(number) > 10**7:
        raise CalculationError(f"that is too many {what}")
    return round(number * (60 if what == "hours" else 1))


def add_time(time: str, hours: object = 0, minutes: object = 0) -> str:
    start = parse_time(time)
    total = _whole(hours or 0, "hours") + _whole(minutes or 0, "minutes")
    return show_time(start.minutes + total, start.clock)


def add_to_now(now: dt.datetime, hours: object = 0, minutes: object = 0) -> str:
    """The time a duration from now ("in 3 hours"; back, for "2 hours ago"), on both clocks
    (the question gave none), with the time now."""
    here = now.hour * 60 + now.minute
    total = _whole(hours or 0, "hours") + _whole(minutes or 0, "minutes")
    return f"{show_time(here + total, 'both')} (it is {show_time(here, 'both')} now)"


def time_between(start: str, end: str) -> str:
    """From `start` to `end`, forward: past midnight when `end` is earlier in the day."""
    a, b = parse_time(start), parse_time(end)
    span = (b.minutes - a.minutes) % DAY
    return show_duration(span)


# Names people use for a zone that are not the last part of an IANA name.
_ZONE_NAMES = {
    "utc": "UTC", "gmt": "UTC", "zulu": "UTC", "est": "America/New_York",
    "edt": "America/New_York", "eastern": "America/New_York", "cst": "America/Chicago",
    "cdt": "America/Chicago", "central": "America/Chicago", "mst": "America/Denver",
    "mdt": "America/Denver", "mountain": "America/Denver", "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles", "pacific": "America/Los_Angeles", "cet": "Europe/Paris",
    "cest": "Europe/Paris", "bst": "Europe/London", "wet": "Europe/Lisbon",
    "eet": "Europe/Athens", "ist": "Asia/Kolkata", "jst": "Asia/Tokyo", "kst": "Asia/Seoul",
    "aest": "Australia/Sydney", "aedt": "Australia/Sydney", "nzst": "Pacific/Auckland",
    "hst": "Pacific/Honolulu", "akst": "America/Anchorage",
    "san francisco": "America/Los_Angeles", "seattle": "America/Los_Angeles",
    "washington": "America/New_York", "boston": "America/New_York", "miami": "America/New_York",
    "atlanta": "America/New_York", "dallas": "America/Chicago", "houston": "America/Chicago",
    "montreal": "America/Toronto", "beijing": "Asia/Shanghai", "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata", "mumbai": "Asia/Kolkata", "bangalore": "Asia/Kolkata",
    "osaka": "Asia/Tokyo", "kyoto": "Asia/Tokyo", "munich": "Europe/Berlin",
    "frankfurt": "Europe/Berlin", "hamburg": "Europe/Berlin", "milan": "Europe/Rome",
    "barcelona": "Europe/Madrid", "geneva": "Europe/Zurich", "edinburgh": "Europe/London",
    "manchester": "Europe/London", "rio de janeiro": "America/Sao_Paulo",
    "hanoi": "Asia/Bangkok", "st petersburg": "Europe/Moscow", "tel aviv": "Asia/Jerusalem",
    # Countries with one time zone, and the usual one of a few with several.
    "uk": "Europe/London", "england": "Europe/London", "britain": "Europe/London",
    "scotland": "Europe/London", "ireland": "Europe/Dublin", "france": "Europe/Paris",
    "germany": "Europe/Berlin", "spain": "Europe/Madrid", "italy": "Europe/Rome",
    "portugal": "Europe/Lisbon", "netherlands": "Europe/Amsterdam",
    "belgium": "Europe/Brussels", "switzerland": "Europe/Zurich", "austria": "Europe/Vienna",
    "poland": "Europe/Warsaw", "sweden": "Europe/Stockholm", "norway": "Europe/Oslo",
    "denmark": "Europe/Copenhagen", "finland": "Europe/Helsinki", "greece": "Europe/Athens",
    "turkey": "Europe/Istanbul", "russia": "Europe/Moscow", "ukraine": "Europe/Kyiv",
    "japan": "Asia/Tokyo", "china": "Asia/Shanghai", "korea": "Asia/Seoul",
    "south korea": "Asia/Seoul", "india": "Asia/Kolkata", "thailand": "Asia/Bangkok",
    "vietnam": "Asia/Ho_Chi_Minh", "singapore": "Asia/Singapore", "israel": "Asia/Jerusalem",
    "egypt": "Africa/Cairo", "kenya": "Africa/Nairobi", "nigeria": "Africa/Lagos",
    "south africa": "Africa/Johannesburg", "new zealand": "Pacific/Auckland",
    "australia": "Australia/Sydney", "brazil": "America/Sao_Paulo",
    "argentina": "America/Argentina/Buenos_Aires", "buenos aires":
    "America/Argentina/Buenos_Aires", "mexico": "America/Mexico_City",
    "usa": "America/New_York", "us": "America/New_York", "united states": "America/New_York",
    "canada": "America/Toronto", "hawaii": "Pacific/Honolulu",
}  # fmt: skip


@functools.cache
def _iana_by_place() -> dict[str, str]:
    """ "tokyo" -> "Asia/Tokyo", "new york" -> "America/New_York", "asia/tokyo" -> itself."""
    names: dict[str, str] = {}
    for key in sorted(available_timezones()):
        if key.startswith(("Etc/", "SystemV/", "posix/", "right/")):
            continue
        names.setdefault(key.lower(), key)
        names.setdefault(key.rsplit("/", 1)[-1].replace("_", " ").lower(), key)
    return names


def zone(name: str) -> ZoneInfo:
    """The time zone of a city, a country, an abbreviation or an IANA name."""
    key = re.sub(r"\s+", " ", str(name).strip().lower().replace("_", " ").replace(".", ""))
    key = re.sub(r"^(?:the )|(?: time| time zone)$", "", key)
    iana = (
        _ZONE_NAMES.get(key)
        or _iana_by_place().get(key)
        or _iana_by_place().get(key.replace(" ", "_"))
    )
    if iana is None:
        raise CalculationError(f"I don't know the time zone of {name!r} (try a large city)")
    try:
        return ZoneInfo(iana)
    except ZoneInfoNotFoundError:
        raise CalculationError(f"this computer has no time zone data for {iana}") from None


def _place(name: str, tz: ZoneInfo) -> str:
    return f"{str(name).strip()} ({tz.key})"


def now_in(place: str | None, now: dt.datetime) -> str:
    """The time now, here or in `place` (24-hour and 12-hour: the question gave no clock)."""
    if place:
        tz = zone(place)
        local = now.astimezone(tz)
        where = f" in {_place(place, tz)}"
    else:
        local, where = now, ""
    minutes = local.hour * 60 + local.minute
    return f"{show_time(minutes, 'both', where)}, {local.strftime('%A %Y-%m-%d')}"


def time_until(time: str, now: dt.datetime) -> str:
    """How long from now until the next `time` (tomorrow's, once today's has passed)."""
    target = parse_time(time)
    here = now.hour * 60 + now.minute
    span = (target.minutes - here) % DAY
    return f"{show_duration(span)} (it is {show_time(here, target.clock)} now)"


def convert_time(time: str | None, source: str | None, target: str, now: dt.datetime) -> str:
    """`time` in `source` (here when not given; now when no time), as the time in `target`."""
    to_tz = zone(target)
    from_tz = zone(source) if source else now.tzinfo
    if time:
        at = parse_time(time)
        day = now.astimezone(from_tz).date()  # today's offsets (summer time or not)
        start = dt.datetime.combine(day, dt.time(at.minutes // 60, at.minutes % 60), from_tz)
        clock = at.clock
    else:
        start, clock = now.astimezone(from_tz), "both"
    there = start.astimezone(to_tz)
    shift = (there.date() - start.date()).days
    minutes = shift * DAY + there.hour * 60 + there.minute
    return show_time(minutes, clock, f" in {_place(target, to_tz)}")
