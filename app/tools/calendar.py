"""Date arithmetic for the model: today's date, a date plus or minus days, the days between
two dates, the weekday of a date. Dates are ISO (2026-12-02), in the user's local time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.tools.calculator import CalculationError


def _date(text: Any, what: str) -> dt.date:
    if not isinstance(text, str) or not text.strip():
        raise CalculationError(f"{what} is missing (a date like 2026-12-02)")
    if text.strip().lower() == "today":
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise CalculationError(f"{text!r} is not a date like 2026-12-02") from None


def calendar(args: dict[str, Any], today: dt.date | None = None) -> str:
    operation = str(args.get("operation", "")).strip().lower()
    now = today or dt.date.today()
    if operation == "today":
        return f"{now.isoformat()} ({now.strftime('%A')})"
    if operation in ("add", "add_days"):
        start = now if args.get("date") in (None, "", "today") else _date(args.get("date"), "date")
        try:
            days = int(args.get("days", 0))
        except (TypeError, ValueError):
            raise CalculationError("days must be a whole number") from None
        if abs(days) > 3_650_000:
            raise CalculationError("that is too many days")
        result = start + dt.timedelta(days=days)
        return f"{result.isoformat()} ({result.strftime('%A')})"
    if operation in ("between", "days_between"):
        a = _date(args.get("date"), "date")
        b = _date(args.get("other") or "today", "other")
        return f"{(b - a).days} days"
    if operation == "weekday":
        day = _date(args.get("date"), "date")
        return day.strftime("%A")
    raise CalculationError("operation must be today, add, between or weekday")
