"""A conversion of one amount as people ask it, as the calculator's convert(): "Convert 72
degrees Fahrenheit to Celsius" is convert(72, 'f', 'c'); "How many seconds are there in a
leap year?" is convert(366, 'day', 's'); "15% of 3 hours, in minutes" is (15/100)*convert(3,
'h', 'min'). The default model, writing these itself, had computed "72 * (5/9) - 32" (8
degrees), "366 seconds" in a leap year and "a mix of units" for the last."""

from __future__ import annotations

import re

# Names as questions write them -> the calculator's unit (app/tools/calculator.py _unit).
_NAMES = {
    "second": "s", "seconds": "s", "sec": "s", "secs": "s", "minute": "min", "minutes": "min",
    "mins": "min", "min": "min", "hour": "h", "hours": "h", "hrs": "h", "day": "day",
    "days": "day", "week": "week", "weeks": "week", "millimetre": "mm", "millimetres": "mm",
    "millimeter": "mm", "millimeters": "mm", "mm": "mm", "centimetre": "cm", "centimetres": "cm",
    "centimeter": "cm", "centimeters": "cm", "cm": "cm", "metre": "m", "metres": "m",
    "meter": "m", "meters": "m", "kilometre": "km", "kilometres": "km", "kilometer": "km",
    "kilometers": "km", "km": "km", "inch": "in", "inches": "in", "foot": "ft", "feet": "ft",
    "ft": "ft", "yard": "yd", "yards": "yd", "mile": "mi", "miles": "mi", "gram": "g",
    "grams": "g", "g": "g", "kilogram": "kg", "kilograms": "kg", "kilo": "kg", "kilos": "kg",
    "kg": "kg", "tonne": "t", "tonnes": "t", "ounce": "oz", "ounces": "oz", "oz": "oz",
    "pound": "lb", "pounds": "lb", "lb": "lb", "lbs": "lb", "millilitre": "ml",
    "millilitres": "ml", "milliliter": "ml", "milliliters": "ml", "ml": "ml", "litre": "l",
    "litres": "l", "liter": "l", "liters": "l", "gallon": "gal", "gallons": "gal",
    "celsius": "c", "centigrade": "c", "°c": "c", "fahrenheit": "f", "°f": "f", "kelvin": "k",
}  # fmt: skip
# Amounts named by a word: "in a leap year", "in a fortnight".
_NAMED = {"leap year": (366, "day"), "year": (365, "day"), "fortnight": (14, "day")}
_UNIT = "|".join(re.escape(n) for n in sorted(_NAMES, key=len, reverse=True))
_AMOUNT = rf"(?P<n>\d+(?:\.\d+)?)\s*(?:degrees?\s+)?(?P<src>{_UNIT})"
_TARGET = rf"(?:degrees?\s+)?(?P<dst>{_UNIT})"
_FORWARD = re.compile(rf"{_AMOUNT}\b,?\s+(?:in|to|into|as)\s+{_TARGET}\b", re.IGNORECASE)
_HOW_MANY = re.compile(
    rf"\bhow many\s+{_TARGET}\b\s+(?:are there\s+|is that\s+|make\s+|are\s+)?"
    rf"(?:in|make up|to)\s+(?:(?:a|an|one)\s+(?P<named>leap year|year|fortnight|(?:{_UNIT}))|"
    rf"{_AMOUNT})\b",
    re.IGNORECASE,
)


def _call(number: str, source: str, target: str) -> str:
    return f"convert({number}, '{_NAMES[source.lower()]}', '{_NAMES[target.lower()]}')"


def _how_many(m: re.Match[str]) -> str:
    named = (m["named"] or "").lower()
    if named in _NAMED:
        number, unit = _NAMED[named]
        return f"convert({number}, '{unit}', '{_NAMES[m['dst'].lower()]}')"
    if named:
        return _call("1", named, m["dst"])
    return _call(m["n"], m["src"], m["dst"])


_KIND = {
    **dict.fromkeys(("s", "min", "h", "day", "week"), "time"),
    **dict.fromkeys(("mm", "cm", "m", "km", "in", "ft", "yd", "mi"), "length"),
    **dict.fromkeys(("g", "kg", "t", "oz", "lb"), "mass"),
    **dict.fromkeys(("ml", "l", "gal"), "volume"),
    **dict.fromkeys(("c", "f", "k"), "temperature"),
}


def _same_kind(m: re.Match[str]) -> bool:
    source = (m["src"] or m["named"] or "").lower()
    unit = _NAMED[source][1] if source in _NAMED else _NAMES[source]
    return _KIND[unit] == _KIND[_NAMES[m["dst"].lower()]]


def with_conversions(text: str) -> str:
    """`text` with each conversion it asks for as convert(...); the rest as it was. A pair
    of different kinds (hours to metres) stays words, for the calculator's error to name."""
    text = _HOW_MANY.sub(lambda m: _how_many(m) if _same_kind(m) else m.group(), text)
    return _FORWARD.sub(
        lambda m: _call(m["n"], m["src"], m["dst"]) if _same_kind(m) else m.group(), text
    )
