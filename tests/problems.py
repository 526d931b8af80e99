"""Generated arithmetic, word and date problems with exact answers (bench/reasoning.py and
the tools tests use them)."""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Problem:
    kind: str
    question: str
    answer: str  # as a person would say it: "178377", "409.5", "Sunday", "2026-04-24"


def _num(value: Fraction | int) -> str:
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def problems(n_each: int = 8, seed: int = 1) -> list[Problem]:
    rng = random.Random(seed)
    out: list[Problem] = []
    for _ in range(n_each):
        a, b = rng.randint(1200, 9800), rng.randint(13, 97)
        out.append(Problem("multiply", f"What is {a} times {b}?", _num(a * b)))
        p, of = rng.choice([12.5, 17.5, 22.5, 7.5, 35, 42, 18]), rng.randint(120, 9900)
        out.append(
            Problem("percent", f"What is {p} percent of {of}?", _num(Fraction(str(p)) * of / 100))
        )
        d = rng.choice([16, 24, 32, 48, 64])
        q = rng.randint(150, 990)
        out.append(Problem("divide", f"What is {q * d} divided by {d}?", _num(q)))
        r = rng.randint(21, 99)
        out.append(Problem("root", f"What is the square root of {r * r}?", _num(r)))
        price, count = Fraction(rng.randint(105, 995), 100), rng.randint(12, 75)
        out.append(
            Problem(
                "word",
                f"A shop sells notebooks at {float(price):.2f} euros each. How much do {count} "
                "notebooks cost in euros?",
                _num(price * count),
            )
        )
        money, spent = rng.randint(800, 4000), rng.choice([15, 25, 35, 45])
        out.append(
            Problem(
                "word",
                f"Anna has {money} euros and spends {spent} percent of it. How many euros does "
                "she have left?",
                _num(Fraction(money) * (100 - spent) / 100),
            )
        )
        speed, hours = rng.randint(45, 120), rng.choice([1.5, 2.5, 3.5, 4.25])
        out.append(
            Problem(
                "word",
                f"A train travels at {speed} km/h for {hours} hours. How many kilometres does "
                "it travel?",
                _num(Fraction(str(hours)) * speed),
            )
        )
        day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 700))
        out.append(
            Problem("date", f"What day of the week is {day.isoformat()}?", day.strftime("%A"))
        )
    return out


def correct(problem: Problem, reply: str) -> bool:
    """The reply states the answer (numbers compared as numbers, 1,234.50 = 1234.5)."""
    if not problem.answer[0].isdigit():
        return problem.answer.lower() in reply.lower()
    want = Fraction(problem.answer)
    for token in re.findall(r"\d[\d,]*(?:\.\d+)?", reply):
        try:
            value = Fraction(token.replace(",", ""))
        except ValueError:
            continue
        if abs(value - want) <= Fraction(1, 100):
            return True
    return False
