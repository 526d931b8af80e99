"""Exact arithmetic for the model: +, -, ×, ÷, powers, roots, percentages and a few units,
through simpleeval (never Python's eval): no names, attributes or calls but the ones below.

Integers stay exact however large ("4821 * 37" is 178,377, not a float); division gives a
fraction when it is not whole and is shown as a decimal; results are rounded to 12
significant digits for display only.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

MAX_POWER = 10_000  # 2 ** 10_000 is fine; 10 ** 10 ** 10 would take the app down
MAX_DIGITS = 2_000

# Conversions to a base unit (metres, kilograms, litres, seconds; temperatures apart).
_UNITS: dict[str, tuple[str, Fraction]] = {
    "mm": ("m", Fraction(1, 1000)), "cm": ("m", Fraction(1, 100)), "m": ("m", Fraction(1)),
    "km": ("m", Fraction(1000)), "in": ("m", Fraction(254, 10000)),
    "ft": ("m", Fraction(3048, 10000)), "yd": ("m", Fraction(9144, 10000)),
    "mi": ("m", Fraction(1609344, 1000)),
    "g": ("kg", Fraction(1, 1000)), "kg": ("kg", Fraction(1)), "t": ("kg", Fraction(1000)),
    "oz": ("kg", Fraction(28349523125, 10**12)), "lb": ("kg", Fraction(45359237, 10**8)),
    "ml": ("l", Fraction(1, 1000)), "l": ("l", Fraction(1)),
    "gal": ("l", Fraction(3785411784, 10**9)),
    "s": ("s", Fraction(1)), "min": ("s", Fraction(60)), "h": ("s", Fraction(3600)),
    "day": ("s", Fraction(86400)), "week": ("s", Fraction(604800)),
}  # fmt: skip
_UNIT_NAMES = {
    "millimetres": "mm", "millimeters": "mm", "centimetres": "cm", "centimeters": "cm",
    "metres": "m", "meters": "m", "kilometres": "km", "kilometers": "km", "inches": "in",
    "feet": "ft", "foot": "ft", "yards": "yd", "miles": "mi", "mile": "mi", "grams": "g",
    "kilograms": "kg", "kilos": "kg", "tonnes": "t", "ounces": "oz", "pounds": "lb",
    "lbs": "lb", "millilitres": "ml", "milliliters": "ml", "litres": "l", "liters": "l",
    "gallons": "gal", "seconds": "s", "minutes": "min", "hours": "h", "days": "day",
    "weeks": "week",
}  # fmt: skip


class CalculationError(ValueError):
    """Why an expression can't be calculated, in words the model can pass on."""


def _root(x: Any, n: Any = 2) -> Any:
    x, n = Fraction(x), int(n)
    if n < 1:
        raise CalculationError("a root needs a positive degree")
    if x < 0 and n % 2 == 0:
        raise CalculationError("an even root of a negative number is not a real number")
    sign = -1 if x < 0 else 1
    value = abs(x)
    # Exact when the root is exact ("sqrt(144)" is 12, not 12.000000001).
    if value.denominator == 1:
        guess = round(float(value) ** (1 / n)) if float(value) < 1e300 else None
        if guess is not None and guess**n == value:
            return sign * guess
    return sign * float(value) ** (1 / n)


def _power(a: Any, b: Any) -> Any:
    if isinstance(b, float) and b.is_integer():
        b = int(b)
    if isinstance(b, Fraction) and b.denominator == 1:
        b = b.numerator
    if isinstance(b, int) and abs(b) > MAX_POWER:
        raise CalculationError("that power is too large to calculate")
    if isinstance(a, int | Fraction) and isinstance(b, int):
        return Fraction(a) ** b
    return float(a) ** float(b)


_ZERO_C = Fraction(27315, 100)
_TO_KELVIN = {
    "c": lambda v: v + _ZERO_C,
    "f": lambda v: (v - 32) * Fraction(5, 9) + _ZERO_C,
    "k": lambda v: v,
}
_FROM_KELVIN = {
    "c": lambda v: v - _ZERO_C,
    "f": lambda v: (v - _ZERO_C) * Fraction(9, 5) + 32,
    "k": lambda v: v,
}


def _convert(value: Any, source: str, target: str) -> Any:
    s, t = _unit(source), _unit(target)
    if s in _TO_KELVIN or t in _TO_KELVIN:
        if s not in _TO_KELVIN or t not in _TO_KELVIN:
            raise CalculationError(f"cannot convert {source} to {target}")
        return _FROM_KELVIN[t](_TO_KELVIN[s](Fraction(value)))
    (sb, sf), (tb, tf) = _UNITS[s], _UNITS[t]
    if sb != tb:
        raise CalculationError(f"cannot convert {source} to {target}")
    return Fraction(value) * sf / tf


def _unit(name: str) -> str:
    key = name.strip().lower().rstrip(".")
    key = {"°c": "c", "celsius": "c", "°f": "f", "fahrenheit": "f", "kelvin": "k"}.get(key, key)
    key = _UNIT_NAMES.get(key, key)
    if key not in _UNITS and key not in ("c", "f", "k"):
        raise CalculationError(f"unknown unit {name!r}")
    return key


_FUNCTIONS = {
    "sqrt": lambda x: _root(x, 2),
    "cbrt": lambda x: _root(x, 3),
    "root": _root,
    "pow": _power,
    "abs": abs,
    "round": lambda x, n=0: round(Fraction(x), int(n)),
    "floor": lambda x: math.floor(Fraction(x)),
    "ceil": lambda x: math.ceil(Fraction(x)),
    "convert": _convert,
    "percent": lambda p, of: Fraction(p) * Fraction(of) / 100,
}
_NAMES = {"pi": math.pi, "e": math.e}


def _words_to_expression(text: str) -> str:
    """The spoken forms people (and small models) write: "4821 times 37", "17.5% of 2340",
    "square root of 2", "3 to the power of 4", "x" and "×" for times; numbers in words
    ("twelve times twelve") as digits."""
    from app.tools.percent import percent_phrases
    from app.tools.spoken import in_english
    from app.tools.units import with_conversions

    text = with_conversions(percent_phrases(in_english(text)))
    t = text.strip().lower().replace(",", "") if re.search(r"\d,\d{3}", text) else text.lower()
    t = t.replace("×", "*").replace("÷", "/").replace("−", "-").replace("^", "**")
    _n = r"(\d+(?:\.\d+)?)"
    t = re.sub(r"^\s*(?:what is|what's|convert)\s+(?=.)", "", t).rstrip("?!. ")
    subs = [
        # An amount plus or minus a share of itself, as a pocket calculator reads it:
        # "45 + 20%" is 54 (a 20% tip added), "80 - 15%" is 68, "15% off 80" is 68.
        (rf"{_n}\s*(?:\+|plus)\s*{_n}\s*(?:%|percent)(?!\s*of)", r"(\1*(1+\2/100))"),
        (rf"{_n}\s*(?:-|minus)\s*{_n}\s*(?:%|percent)(?!\s*of)", r"(\1*(1-\2/100))"),
        (rf"{_n}\s*(?:%|percent)\s*off\s*{_n}", r"(\2*(1-\1/100))"),
        (r"(\d+(?:\.\d+)?)\s*(?:%|percent)\s*of\s*", r"(\1/100)*"),
        (r"(\d+(?:\.\d+)?)\s*(?:%|percent)", r"(\1/100)"),
        (r"\bsquare root of\s*", "sqrt "),
        (r"\bcube root of\s*", "cbrt "),
        (r"\bto the power of\b", "**"),
        (r"\bsquared\b", "**2"),
        (r"\bcubed\b", "**3"),
        (r"\btimes\b|\bmultiplied by\b", "*"),
        (r"\bdivided by\b|\bover\b", "/"),
        (r"\bplus\b", "+"),
        (r"\bminus\b", "-"),
        (r"(?<=\d)\s*x\s*(?=\d)", "*"),
        (r"\b(sqrt|cbrt)\s+(\d+(?:\.\d+)?)", r"\1(\2)"),
    ]
    for pattern, repl in subs:
        t = re.sub(pattern, repl, t)
    return t


def _exact(node_value: Any) -> Any:
    if isinstance(node_value, float) and node_value.is_integer() and abs(node_value) < 2**53:
        return int(node_value)
    return node_value


def calculate(expression: str) -> Any:
    """The value of `expression` (int, Fraction or float). Raises CalculationError."""
    from simpleeval import EvalWithCompoundTypes, FeatureNotAvailable, NumberTooHigh

    text = _words_to_expression(expression)
    if not text.strip():
        raise CalculationError("the expression is empty")
    evaluator = EvalWithCompoundTypes(functions=_FUNCTIONS, names=_NAMES)
    # Numbers as exact fractions: 0.1 + 0.2 is 0.3, 17.5 % of 2340 is 409.5.
    import ast

    def num(node: ast.Constant) -> Any:
        value = node.value
        if isinstance(value, float):
            return Fraction(Decimal(repr(value)))
        return value

    evaluator.nodes[ast.Constant] = num
    evaluator.operators[ast.Pow] = _power
    evaluator.operators[ast.Div] = lambda a, b: _divide(a, b)
    try:
        value = evaluator.eval(text)
    except ZeroDivisionError:
        raise CalculationError("division by zero") from None
    except NumberTooHigh:
        raise CalculationError("that number is too large to calculate") from None
    except (FeatureNotAvailable, SyntaxError, TypeError, KeyError, NameError) as exc:
        raise CalculationError(f"not an expression I can calculate: {expression!r}") from exc
    except CalculationError:
        raise
    except Exception as exc:  # simpleeval's own errors (InvalidExpression ...)
        raise CalculationError(f"cannot calculate {expression!r}: {exc}") from None
    if isinstance(value, bool) or not isinstance(value, int | float | Fraction):
        raise CalculationError(f"{expression!r} is not a number")
    if isinstance(value, Fraction) and value.denominator == 1:
        value = value.numerator
    if isinstance(value, int) and len(str(abs(value))) > MAX_DIGITS:
        raise CalculationError("the result has too many digits to show")
    return _exact(value)


def _divide(a: Any, b: Any) -> Any:
    if b == 0:
        raise ZeroDivisionError
    if isinstance(a, int | Fraction) and isinstance(b, int | Fraction):
        return Fraction(a) / Fraction(b)
    return a / b


def show(value: Any) -> str:
    """A result as people write it: 178,377; 409.5; 0.333333333333; 1.41421356237."""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Fraction):
        value = float(value)
    if math.isnan(value) or math.isinf(value):
        raise CalculationError("the result is not a finite number")
    text = f"{value:,.12g}" if abs(value) < 1e15 else f"{value:.12g}"
    return text
